// The conformance suites' check that a CSI call fails with one gRPC status.
import assert from 'node:assert/strict';
import { CsiError, statusName } from '../../src/csi/errors.js';

/** Resolves when `call` fails with gRPC status `code`; fails the test otherwise. */
export async function expectCode(call: Promise<unknown>, code: number, what = ''): Promise<void> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof CsiError, `${what}: expected a CsiError, got ${String(err)}`);
    assert.equal(
      statusName(err.code),
      statusName(code),
      `${what}: expected ${statusName(code)}, got ${err.codeName}: ${err.details}`,
    );
    return;
  }
  assert.fail(`${what}: expected ${statusName(code)}, the call succeeded`);
}
