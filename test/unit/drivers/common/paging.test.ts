import assert from 'node:assert/strict';
import { status } from '../../../../src/csi/errors.js';
import { pageOf } from '../../../../src/drivers/common/paging.js';

const codeOf = (work: () => unknown): number | undefined => {
  try {
    work();
  } catch (err) {
    return (err as { code?: number }).code;
  }
  return undefined;
};

describe('drivers/common pageOf', function () {
  const items = ['a', 'b', 'c', 'd', 'e'];

  it('pages through every item once, the last page with no next token', function () {
    const seen: string[] = [];
    let token = '';
    for (let i = 0; i < 10; i++) {
      const { page, next_token } = pageOf(items, { max_entries: 2, starting_token: token });
      assert.ok(page.length <= 2);
      seen.push(...page);
      token = next_token;
      if (!token) break;
    }
    assert.deepEqual(seen, items);
  });

  it('returns everything for max_entries 0, and an empty list with no token', function () {
    assert.deepEqual(pageOf(items, { max_entries: 0 }), { page: items, next_token: '' });
    assert.deepEqual(pageOf([], {}), { page: [], next_token: '' });
  });

  it('refuses a negative max_entries (INVALID_ARGUMENT) and tokens it never gave (ABORTED)', function () {
    assert.equal(
      codeOf(() => pageOf(items, { max_entries: -1 })),
      status.INVALID_ARGUMENT,
    );
    for (const token of ['x', '-1', '6', '1e3', '9'.repeat(40), ' 1']) {
      assert.equal(
        codeOf(() => pageOf(items, { starting_token: token })),
        status.ABORTED,
        token,
      );
    }
    assert.deepEqual(pageOf(items, { starting_token: '5' }).page, [], 'the end is a valid token');
  });
});
