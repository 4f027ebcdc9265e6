// A claim restoring from a snapshot that is not ready yet fails and backs off; when the snapshot
// becomes ready the claim is provisioned at once, not at the end of its back-off (here 5 minutes,
// far beyond the test's time, so only the snapshot's change can wake the claim).
import assert from 'node:assert/strict';
import { K as KINDS } from '../../src/api/kinds.js';
import type { VolumeSnapshot, VolumeSnapshotContent } from '../../src/api/snapshot-types.js';
import type { StorageClass } from '../../src/api/types.js';
import { newClaim, newClass } from '../helpers/builders.js';
import { DRIVER, K, World, waitFor } from '../unit/provisioner/harness.js';

const API = 'snapshot.storage.k8s.io/v1';

describe('provisioner: a restore waiting for its snapshot', function () {
  let world: World;

  afterEach(async () => world.stop());

  it('is provisioned as soon as the snapshot becomes ready, without waiting out its back-off', async () => {
    world = await new World({
      driver: { snapshots: true },
      provisioner: { retryBaseMs: 300_000, retryMaxMs: 300_000 },
    }).start();
    const source = await world.csi.createVolume({
      name: 'source',
      capacity_range: { required_bytes: String(1 << 30) },
      volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    });
    const taken = await world.csi.createSnapshot({
      name: 'snap-1',
      source_volume_id: source.volume!.volume_id,
    });
    await world.create<StorageClass>(K.storageClass, newClass('fast', { provisioner: DRIVER }));
    const snapshot = await world.create<VolumeSnapshot>(KINDS.vs, {
      apiVersion: API,
      kind: 'VolumeSnapshot',
      metadata: { name: 'snap', namespace: 'default' },
      spec: { source: { volumeSnapshotContentName: 'content-1' } },
    });
    await world.create<VolumeSnapshotContent>(KINDS.vsc, {
      apiVersion: API,
      kind: 'VolumeSnapshotContent',
      metadata: { name: 'content-1' },
      spec: {
        driver: DRIVER,
        deletionPolicy: 'Retain',
        source: { snapshotHandle: taken.snapshot!.snapshot_id },
        volumeSnapshotRef: { name: 'snap', namespace: 'default', uid: snapshot.metadata.uid ?? '' },
      },
    });
    const restore = newClaim('restored', '1Gi', { className: 'fast' });
    restore.spec['dataSource'] = {
      apiGroup: 'snapshot.storage.k8s.io',
      kind: 'VolumeSnapshot',
      name: 'snap',
    };
    await world.create(K.claim, restore);
    const failed = await waitFor(
      'ProvisioningFailed',
      async () => (await world.events('ProvisioningFailed'))[0],
    );
    assert.match(failed.message ?? '', /snapshot snap is not Ready/);
    const createVolumes = () => world.driver.driver.callsOf('CreateVolume').length;
    assert.equal(createVolumes(), 1, 'only the source volume was created');

    // what the snapshot controller and csi-snapshotter write once the snapshot is taken
    const content = await world.store.get<VolumeSnapshotContent>(KINDS.vsc, undefined, 'content-1');
    await world.store.update(
      KINDS.vsc,
      {
        ...content,
        status: { snapshotHandle: taken.snapshot!.snapshot_id, readyToUse: true, restoreSize: 1 << 30 },
      },
      { subresource: 'status' },
    );
    const current = await world.store.get<VolumeSnapshot>(KINDS.vs, 'default', 'snap');
    await world.store.update(
      KINDS.vs,
      {
        ...current,
        status: { boundVolumeSnapshotContentName: 'content-1', readyToUse: true, restoreSize: '1Gi' },
      },
      { subresource: 'status' },
    );

    const bound = await waitFor('the restore provisioned', async () => {
      const c = await world.claim('restored');
      return c?.status?.phase === 'Bound' ? c : undefined;
    });
    const request = world.driver.driver.callsOf('CreateVolume')[1]?.request as {
      volume_content_source?: { snapshot?: { snapshot_id: string } };
    };
    assert.equal(request.volume_content_source?.snapshot?.snapshot_id, taken.snapshot!.snapshot_id);
    assert.ok(bound.spec.volumeName);
  });
});
