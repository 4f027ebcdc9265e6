// Fault injection at the CSI boundary: the mock driver answers CreateVolume with a scripted
// sequence of errors and a hang past the provisioner's timeout. Retries follow the per-claim
// back-off (each wait at least the jittered doubling of the one before), no volume leaks, the
// claim ends Bound to one volume, the failures are told in few aggregated Events, and a claim
// deleted while CreateVolume hangs ends with DeleteVolume for whatever may have been created.
import assert from 'node:assert/strict';
import type { StorageClass } from '../../src/api/types.js';
import { status } from '../../src/csi/errors.js';
import { DEFAULT_JITTER } from '../../src/machinery/rate-limiter.js';
import { newClaim, newClass } from '../helpers/builders.js';
import { DRIVER, K, World, waitFor } from '../unit/provisioner/harness.js';

const BASE_MS = 200;
const TIMEOUT_MS = 300;

describe('provisioner under injected CSI faults', function () {
  this.timeout(60_000);
  let world: World;

  afterEach(async function () {
    await world.stop();
  });

  it('backs off through UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL and a hang, then binds one volume', async function () {
    world = await new World({
      provisioner: { retryBaseMs: BASE_MS, retryMaxMs: 10_000, timeoutMs: TIMEOUT_MS },
    }).start();
    const driver = world.driver.driver;
    driver.faults.push(
      'CreateVolume',
      { kind: 'error', code: status.UNAVAILABLE, message: 'socket closed' },
      { kind: 'error', code: status.DEADLINE_EXCEEDED, message: 'backend slow' },
      { kind: 'error', code: status.RESOURCE_EXHAUSTED, message: 'pool full' },
      { kind: 'error', code: status.INTERNAL, message: 'pool offline' },
      { kind: 'hang' },
    );
    await world.create<StorageClass>(K.storageClass, newClass('fast', { provisioner: DRIVER }));
    await world.create(K.claim, newClaim('data', '1Gi', { className: 'fast' }));
    const bound = await waitFor(
      'claim Bound',
      async () => {
        const c = await world.claim('data');
        return c?.status?.phase === 'Bound' ? c : undefined;
      },
      30_000,
    );
    const calls = driver.callsOf('CreateVolume');
    assert.equal(calls.length, 6, 'five faults, then the attempt that works');
    // The hang ends at the provisioner's timeout, so that wait counts from the call's end.
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at - (i === 4 ? TIMEOUT_MS : 0));
    gaps.forEach((gap, i) => {
      const least = BASE_MS * 2 ** i * (1 - DEFAULT_JITTER) - 50;
      assert.ok(
        gap >= least,
        `retry ${i + 1} came after ${gap} ms; the back-off asks for at least ${least} ms`,
      );
    });
    assert.equal(driver.volumes().length, 1, 'exactly one backend volume');
    assert.equal(bound.spec.volumeName, `pvc-${bound.metadata.uid ?? ''}`);
    const failed = await world.events('ProvisioningFailed');
    assert.ok(failed.length >= 1 && failed.length <= 5, `${failed.length} ProvisioningFailed events`);
  });

  it('a claim deleted while CreateVolume hangs: DeleteVolume for what it may have made, then the claim goes', async function () {
    world = await new World({
      provisioner: { retryBaseMs: BASE_MS, retryMaxMs: 10_000, timeoutMs: TIMEOUT_MS },
    }).start();
    const driver = world.driver.driver;
    driver.faults.push('CreateVolume', { kind: 'hang' });
    await world.create<StorageClass>(K.storageClass, newClass('fast', { provisioner: DRIVER }));
    await world.create(K.claim, newClaim('data', '1Gi', { className: 'fast' }));
    await waitFor('CreateVolume in flight', () => driver.callsOf('CreateVolume').length === 1);
    await world.store.delete(K.claim, 'default', 'data');
    await waitFor('claim gone', async () => (await world.claim('data')) === undefined, 10_000);
    assert.equal(driver.volumes().length, 0, 'no volume left behind');
    const created = driver.callsOf('CreateVolume').length;
    const deleted = driver.callsOf('DeleteVolume').length;
    assert.ok(created === 1 || deleted >= 1, 'whatever a later CreateVolume made was deleted');
  });
});
