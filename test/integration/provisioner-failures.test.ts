// How the provisioner fails: a final CreateVolume error is reported on the claim and retried with
// per-claim exponential back-off (driven by a fake clock); ResourceExhausted on a claim with a
// selected node gives the node back to the scheduler.
import assert from 'node:assert/strict';
import type { CSINode, Node, StorageClass } from '../../src/api/types.js';
import { status } from '../../src/csi/errors.js';
import type { CreateVolumeRequest } from '../../src/csi/types.js';
import { FakeClock } from '../../src/machinery/clock.js';
import { ANN_PROVISIONING } from '../../src/volume/provisioning-names.js';
import { ANN_SELECTED_NODE } from '../../src/volume/annotations.js';
import { newClaim, newClass } from '../helpers/builders.js';
import { DRIVER, K, World, waitFor } from '../unit/provisioner/harness.js';

async function settle(ms = 150): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('provisioner failures', function () {
  let world: World;

  afterEach(async function () {
    await world.stop();
  });

  it('reports a final error as ProvisioningFailed and retries after 1 s, 2 s, ... of back-off', async function () {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    world = await new World({ clock }).start();
    world.driver.driver.faults.push(
      'CreateVolume',
      { kind: 'error', code: status.INTERNAL, message: 'pool offline' },
      { kind: 'error', code: status.INTERNAL, message: 'pool offline' },
    );
    await world.create<StorageClass>(K.storageClass, newClass('fast', { provisioner: DRIVER }));
    await world.create(K.claim, newClaim('data', '1Gi', { className: 'fast' }));
    const calls = (): number => world.driver.driver.callsOf('CreateVolume').length;

    await waitFor('first attempt', () => calls() === 1);
    const failed = await waitFor(
      'ProvisioningFailed event',
      async () => (await world.events('ProvisioningFailed'))[0],
    );
    assert.equal(failed.type, 'Warning');
    assert.equal(
      failed.message,
      'failed to provision volume with StorageClass "fast": INTERNAL: pool offline',
    );
    // The in-flight record stays: the claim still wants its volume.
    const pending = await world.claim('data');
    assert.equal(pending?.metadata.annotations?.[ANN_PROVISIONING], `pvc-${pending?.metadata.uid ?? ''}`);

    await settle();
    assert.equal(calls(), 1, 'no retry before the back-off');
    await clock.advanceAsync(999);
    await settle();
    assert.equal(calls(), 1, 'still none 1 ms before the first back-off ends');
    await clock.advanceAsync(1);
    await waitFor('second attempt after 1 s', () => calls() === 2);

    await settle();
    await clock.advanceAsync(1999);
    await settle();
    assert.equal(calls(), 2, 'the second back-off is 2 s');
    await clock.advanceAsync(1);
    await waitFor('third attempt after 2 s more', () => calls() === 3);
    await waitFor('claim Bound', async () => (await world.claim('data'))?.status?.phase === 'Bound');
    const events = await world.events('ProvisioningFailed');
    assert.equal(
      events.reduce((n, e) => n + (e.count ?? 1), 0),
      2,
    );
  });

  it('drops the selected node of a WaitForFirstConsumer claim on ResourceExhausted', async function () {
    world = await new World({ driver: { topology: { 'topology.mock/zone': 'z1' } } }).start();
    for (const name of ['n1', 'n2']) {
      await world.create<Node>(K.node, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'topology.mock/zone': name === 'n1' ? 'z1' : 'z2' } },
      });
      await world.create<CSINode>(K.csiNode, {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSINode',
        metadata: { name },
        spec: { drivers: [{ name: DRIVER, nodeID: name, topologyKeys: ['topology.mock/zone'] }] },
      });
    }
    await world.create<StorageClass>(
      K.storageClass,
      newClass('local', { provisioner: DRIVER, bindingMode: 'WaitForFirstConsumer' }),
    );
    world.driver.driver.faults.push('CreateVolume', {
      kind: 'error',
      code: status.RESOURCE_EXHAUSTED,
      message: 'no space left in z1',
    });
    await world.create(
      K.claim,
      newClaim('big', '1Gi', { className: 'local', annotations: { [ANN_SELECTED_NODE]: 'n1' } }),
    );
    await waitFor('selected node removed', async () => {
      const claim = await world.claim('big');
      return claim && claim.metadata.annotations?.[ANN_SELECTED_NODE] === undefined;
    });
    const failed = await world.events('ProvisioningFailed');
    assert.match(failed[0]?.message ?? '', /RESOURCE_EXHAUSTED: no space left in z1/);
    await settle(300);
    assert.equal(world.driver.driver.callsOf('CreateVolume').length, 1, 'no retry without a node');

    // The scheduler tries another node.
    await world.store.patch(K.claim, 'default', 'big', {
      metadata: { annotations: { [ANN_SELECTED_NODE]: 'n2' } },
    });
    await waitFor('claim Bound', async () => (await world.claim('big'))?.status?.phase === 'Bound');
    const second = world.driver.driver.callsOf('CreateVolume')[1]?.request as CreateVolumeRequest;
    assert.deepEqual(second.accessibility_requirements?.preferred[0], {
      segments: { 'topology.mock/zone': 'z2' },
    });
    assert.equal(world.driver.driver.volumes().length, 1);
  });

  it('in node-deployment mode provisions only claims selected onto its own node', async function () {
    world = await new World({ provisioner: { nodeName: 'n1' } }).start();
    await world.create<StorageClass>(
      K.storageClass,
      newClass('node-local', { provisioner: DRIVER, bindingMode: 'WaitForFirstConsumer' }),
    );
    await world.create(
      K.claim,
      newClaim('mine', '1Gi', { className: 'node-local', annotations: { [ANN_SELECTED_NODE]: 'n1' } }),
    );
    const other = await world.create(
      K.claim,
      newClaim('theirs', '1Gi', { className: 'node-local', annotations: { [ANN_SELECTED_NODE]: 'n2' } }),
    );
    await waitFor('own claim Bound', async () => (await world.claim('mine'))?.status?.phase === 'Bound');
    await settle(200);
    const names = world.driver.driver
      .callsOf('CreateVolume')
      .map((c) => (c.request as CreateVolumeRequest).name);
    assert.equal(names.length, 1);
    assert.notEqual(names[0], `pvc-${other.metadata.uid ?? ''}`);

    // Its volumes are its own to delete, too.
    await world.store.delete(K.claim, 'default', 'mine');
    await waitFor('backend volume deleted', () => world.driver.driver.volumes().length === 0);
  });
});
