// The resizer against the mock CSI driver over a real unix socket, with the embedded store, the PV
// controller and the provisioner: claims grow through ControllerExpandVolume with the volume's
// controller-expand secret; filesystem volumes then wait for the node, block volumes are done;
// driver errors become VolumeResizeFailed events and are retried.
import assert from 'node:assert/strict';
import { K as API } from '../../src/api/kinds.js';
import type { PersistentVolumeClaim, StorageClass } from '../../src/api/types.js';
import { status } from '../../src/csi/errors.js';
import { EventRecorder } from '../../src/machinery/events.js';
import { CONDITION_FS_RESIZE_PENDING, Resizer } from '../../src/resizer/index.js';
import { newClaim, newClass, newPod } from '../helpers/builders.js';
import { DRIVER, K, World, waitFor } from '../unit/provisioner/harness.js';

describe('resizer (mock CSI driver)', function () {
  let world: World;
  let resizer: Resizer;
  const newResizer = () =>
    new Resizer({
      store: world.store,
      csi: world.csi,
      driverName: DRIVER,
      recorder: new EventRecorder({ store: world.store, component: 'external-resizer' }),
      retryBaseMs: 50,
    });

  beforeEach(async function () {
    const title = this.currentTest?.title ?? '';
    const driver = title.includes('offline')
      ? { volumeExpansion: 'OFFLINE' as const }
      : title.includes('too large')
        ? { capacityBytes: 16n << 30n }
        : {};
    world = await new World({ driver }).start();
    const sc: StorageClass = {
      ...newClass('grow', { provisioner: DRIVER }),
      allowVolumeExpansion: true,
      parameters: {
        'csi.storage.k8s.io/controller-expand-secret-name': 'expand-${pvc.name}',
        'csi.storage.k8s.io/controller-expand-secret-namespace': '${pvc.namespace}',
      },
    };
    await world.create(K.storageClass, sc);
    resizer = newResizer();
    await resizer.start();
  });

  afterEach(async function () {
    await resizer.stop();
    await world.stop();
  });

  const boundClaim = async (name: string, options: Parameters<typeof newClaim>[2] = {}) => {
    await world.create(K.secret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `expand-${name}`, namespace: 'default' },
      stringData: { token: `secret-of-${name}` },
    });
    await world.create(K.claim, newClaim(name, '1Gi', { className: 'grow', ...options }));
    return waitFor(`${name} Bound`, async () => {
      const c = await world.claim(name);
      return c?.status?.phase === 'Bound' ? c : undefined;
    });
  };
  const grow = async (claim: PersistentVolumeClaim, storage: string) => {
    const latest = (await world.claim(claim.metadata.name ?? ''))!;
    await world.store.update(K.claim, {
      ...latest,
      spec: { ...latest.spec, resources: { requests: { storage } } },
    });
  };
  const expandCalls = () =>
    world.driver.driver.callsOf('ControllerExpandVolume').map(
      (c) =>
        c.request as {
          volume_id: string;
          capacity_range: { required_bytes: string };
          secrets: Record<string, string>;
        },
    );
  const reasons = async () => (await world.events()).map((e) => e.reason);

  it('grows a filesystem volume, then leaves the claim waiting for the node', async function () {
    const claim = await boundClaim('fs');
    await grow(claim, '2Gi');
    const waiting = await waitFor('FileSystemResizePending', async () => {
      const c = await world.claim('fs');
      return c?.status?.conditions?.some((x) => x.type === CONDITION_FS_RESIZE_PENDING) ? c : undefined;
    });
    assert.equal(
      waiting.status?.capacity?.['storage'],
      '1Gi',
      'the claim keeps its size until the node is done',
    );
    assert.deepEqual(
      waiting.status?.conditions?.map((c) => c.type),
      [CONDITION_FS_RESIZE_PENDING],
    );
    assert.deepEqual(waiting.status?.allocatedResources, { storage: '2Gi' });
    assert.deepEqual(waiting.status?.allocatedResourceStatuses, { storage: 'NodeResizePending' });
    const pv = await world.volume(claim.spec.volumeName ?? '');
    assert.equal(pv?.spec.capacity?.['storage'], '2Gi');
    const calls = expandCalls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.volume_id, pv?.spec.csi?.volumeHandle);
    assert.equal(calls[0]?.capacity_range.required_bytes, String(2 * 1024 ** 3));
    assert.deepEqual(calls[0]?.secrets, { token: 'secret-of-fs' });
    await waitFor('events', async () => {
      const r = await reasons();
      return r.includes('Resizing') && r.includes('FileSystemResizeRequired');
    });
    await resizer.whenIdle();
    assert.equal(expandCalls().length, 1, 'nothing more to do until the node finishes');
  });

  it('grows a claim that asked for more while no resizer ran, once one starts', async function () {
    const claim = await boundClaim('asked-while-down', { volumeMode: 'Block' });
    await boundClaim('left-alone', { volumeMode: 'Block' });
    await resizer.stop();
    await grow(claim, '3Gi');
    resizer = newResizer();
    await resizer.start();
    await waitFor('capacity 3Gi', async () => {
      const c = await world.claim('asked-while-down');
      return c?.status?.capacity?.['storage'] === '3Gi' ? c : undefined;
    });
    await resizer.whenIdle();
    assert.equal(expandCalls().length, 1, 'only the claim that asked for more was grown');
    assert.equal((await world.claim('left-alone'))?.status?.capacity?.['storage'], '1Gi');
  });

  it('finishes a block volume at once (no node expansion)', async function () {
    const claim = await boundClaim('raw', { volumeMode: 'Block' });
    await grow(claim, '3Gi');
    const done = await waitFor('capacity 3Gi', async () => {
      const c = await world.claim('raw');
      return c?.status?.capacity?.['storage'] === '3Gi' ? c : undefined;
    });
    assert.deepEqual(done.status?.conditions ?? [], []);
    assert.deepEqual(done.status?.allocatedResources, { storage: '3Gi' });
    assert.equal(done.status?.allocatedResourceStatuses, undefined, 'nothing left in progress');
    await waitFor('VolumeResizeSuccessful', async () => (await reasons()).includes('VolumeResizeSuccessful'));
  });

  it('reports a driver error on the claim and retries until it succeeds', async function () {
    const claim = await boundClaim('flaky', { volumeMode: 'Block' });
    world.driver.driver.faults.push('ControllerExpandVolume', {
      kind: 'error',
      code: status.RESOURCE_EXHAUSTED,
      message: 'pool is full',
    });
    await grow(claim, '2Gi');
    const failed = await waitFor('VolumeResizeFailed', async () =>
      (await world.events('VolumeResizeFailed')).find((e) => /pool is full/.test(e.message ?? '')),
    );
    assert.match(
      failed.message ?? '',
      /^resize volume "pvc-[^"]+" by resizer "mock\.csi\.berth\.dev" failed: /,
    );
    const done = await waitFor('capacity 2Gi', async () => {
      const c = await world.claim('flaky');
      return c?.status?.capacity?.['storage'] === '2Gi' ? c : undefined;
    });
    assert.deepEqual(done.status?.conditions ?? [], [], 'the error condition goes with the success');
    assert.equal(expandCalls().length, 2);
  });

  it('says which secret is missing and does not call the driver without it', async function () {
    const claim = await boundClaim('nosecret', { volumeMode: 'Block' });
    await world.store.delete(K.secret, 'default', 'expand-nosecret');
    await grow(claim, '2Gi');
    const failed = await waitFor(
      'VolumeResizeFailed',
      async () => (await world.events('VolumeResizeFailed'))[0],
    );
    assert.match(failed.message ?? '', /failed to get secret default\/expand-nosecret/);
    assert.equal(expandCalls().length, 0);
  });

  it('waits for the pods of a claim to stop when the driver only grows volumes offline', async function () {
    const claim = await boundClaim('busy', { volumeMode: 'Block' });
    await world.create(API.pod, newPod('user', ['busy'], { nodeName: 'n1', phase: 'Running' }));
    await grow(claim, '2Gi');
    const refused = await waitFor(
      'VolumeResizeFailed',
      async () => (await world.events('VolumeResizeFailed'))[0],
    );
    assert.match(
      refused.message ?? '',
      /only supports offline expansion and the volume is in use by pod\(s\) default\/user/,
    );
    assert.equal(expandCalls().length, 0, 'the driver is not asked while the volume is in use');
    await world.store.delete(API.pod, 'default', 'user');
    await waitFor(
      'capacity 2Gi',
      async () => (await world.claim('busy'))?.status?.capacity?.['storage'] === '2Gi',
    );
    assert.equal(expandCalls().length, 1);
  });

  it('recovers from a request too large for the backend once the user lowers it', async function () {
    const claim = await boundClaim('typo', { volumeMode: 'Block' });
    await grow(claim, '20Ti');
    const failed = await waitFor(
      'VolumeResizeFailed',
      async () => (await world.events('VolumeResizeFailed'))[0],
    );
    assert.match(failed.message ?? '', /not enough capacity/);
    const infeasible = await waitFor('ControllerResizeInfeasible', async () => {
      const c = await world.claim('typo');
      return c?.status?.allocatedResourceStatuses?.['storage'] === 'ControllerResizeInfeasible'
        ? c
        : undefined;
    });
    assert.deepEqual(infeasible.status?.allocatedResources, { storage: '20Ti' });
    const error = infeasible.status?.conditions?.find((c) => c.type === 'ControllerResizeError');
    assert.match(error?.message ?? '', /by resizer "mock\.csi\.berth\.dev" failed: .*not enough capacity/);
    // Lowering the request is allowed while it stays above status.capacity (1Gi).
    await grow(claim, '2Gi');
    await waitFor(
      'capacity 2Gi',
      async () => (await world.claim('typo'))?.status?.capacity?.['storage'] === '2Gi',
    );
    const recovered = await world.claim('typo');
    assert.deepEqual(recovered?.status?.allocatedResources, { storage: '2Gi' });
    assert.equal(recovered?.status?.allocatedResourceStatuses, undefined);
    assert.deepEqual(recovered?.status?.conditions ?? [], []);
    const pv = await world.volume(claim.spec.volumeName ?? '');
    assert.equal(pv?.spec.capacity?.['storage'], '2Gi');
    assert.equal(expandCalls().at(-1)?.capacity_range.required_bytes, String(2 * 1024 ** 3));
  });
});
