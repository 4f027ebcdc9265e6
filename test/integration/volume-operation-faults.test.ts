// Fault injection at the CSI boundary for the attacher and the node agent, as the provisioner has
// (provisioner-faults.test.ts): the mock driver answers ControllerPublish/Unpublish and
// NodeStage/Publish/Unpublish/Unstage with scripted errors (UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED, INTERNAL) and a hang past the caller's timeout. Retries follow the shared
// back-off (each wait at least the jittered doubling of the one before), the pod hears the driver's
// message in FailedMount events, nothing is left published or staged, and the final state is right.
// A pod deleted while its volume never mounted finishes Terminating.
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { K } from '../../src/api/kinds.js';
import type { CSINode, Event, Node, Pod, VolumeAttachment } from '../../src/api/types.js';
import { Attacher } from '../../src/attach-detach/attacher.js';
import { CsiClient } from '../../src/csi/client.js';
import { status } from '../../src/csi/errors.js';
import type { NodeAgent } from '../../src/node/agent.js';
import { VOLUME_PATHS_ANNOTATION } from '../../src/node/desired-state.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { newClaim, newPod, newVolume } from '../helpers/builders.js';
import { assertBackoff } from '../helpers/backoff.js';
import { eventuallyWithin } from '../helpers/eventually.js';
import { startFaultNodeAgent } from '../helpers/fault-node-agent.js';
import { markerMountTable } from '../helpers/marker-mount-table.js';
import { startMockDriver, type StartedMockDriver } from '../mock-driver/driver.js';

const DRIVER = 'mock.csi.berth.dev';
const NODE = 'node-1';
const BASE_MS = 200;
const TIMEOUT_MS = 300;
const eventually = eventuallyWithin(30_000, 20);

const SCRIPT = [
  { kind: 'error', code: status.UNAVAILABLE, message: 'socket closed' },
  { kind: 'error', code: status.DEADLINE_EXCEEDED, message: 'backend slow' },
  { kind: 'error', code: status.RESOURCE_EXHAUSTED, message: 'pool full' },
  { kind: 'error', code: status.INTERNAL, message: 'pool offline' },
  { kind: 'hang' },
] as const;

describe('attacher and node agent under injected CSI faults', function () {
  this.timeout(90_000);
  let dir: string;
  let store: EmbeddedStore;
  let mock: StartedMockDriver;
  let client: CsiClient;
  let handle: string;
  const stops: (() => Promise<void>)[] = [];

  beforeEach(async function () {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'berth-op-faults-')));
    store = await openEmbeddedStore({ dataDir: join(dir, 'data') });
    mock = await startMockDriver({ socketPath: join(dir, 'csi.sock'), name: DRIVER, nodeId: 'csi-node-1' });
    client = new CsiClient(mock.endpoint, { timeoutMs: 5000 });
    const created = await client.createVolume({
      name: 'pvc-uid-claim1',
      volume_capabilities: [
        {
          mount: { fs_type: 'ext4', mount_flags: [], volume_mount_group: '' },
          access_mode: { mode: 'SINGLE_NODE_WRITER' },
        },
      ],
    });
    handle = created.volume!.volume_id;
    const pv = newVolume('pv1', '1Gi', { claim: { name: 'claim1', uid: 'uid-claim1' }, phase: 'Bound' });
    delete pv.spec.hostPath;
    pv.spec.csi = { driver: DRIVER, volumeHandle: handle, fsType: 'ext4' };
    await store.create(K.pv, pv);
    await store.create(K.pvc, newClaim('claim1', '1Gi', { volumeName: 'pv1', phase: 'Bound' }));
    await store.create<Node>(K.node, { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } });
  });

  afterEach(async function () {
    for (const stop of stops.splice(0).reverse()) await stop();
    client?.close();
    await mock?.shutdown();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function podEvents(name: string, reason: string): Promise<Event[]> {
    const list = await store.list<Event>(K.event, { namespace: 'default' });
    return list.items.filter((e) => e.involvedObject.name === name && e.reason === reason);
  }

  function podGone(name: string): Promise<boolean> {
    return eventually(`pod ${name} removed`, () =>
      store.get<Pod>(K.pod, 'default', name).then(
        () => false,
        (err: unknown) => isStatusError(err, 'NotFound'),
      ),
    );
  }

  async function startAgent(): Promise<NodeAgent> {
    const o = { store, dir, node: NODE, driver: DRIVER, endpoint: mock.endpoint };
    const { agent } = await startFaultNodeAgent({
      ...o,
      csiTimeoutMs: TIMEOUT_MS,
      retryBaseMs: BASE_MS,
      onStop: (s) => stops.push(s),
    });
    return agent;
  }

  it('attacher: ControllerPublish backs off through every fault, then attaches once; unpublish retries too', async function () {
    await store.create<CSINode>(K.csinode, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSINode',
      metadata: { name: NODE },
      spec: { drivers: [{ name: DRIVER, nodeID: 'csi-node-1' }] },
    });
    mock.driver.faults.push('ControllerPublishVolume', ...SCRIPT);
    mock.driver.faults.push(
      'ControllerUnpublishVolume',
      { kind: 'error', code: status.UNAVAILABLE, message: 'socket closed' },
      { kind: 'hang' },
    );
    const attacher = new Attacher({
      store,
      csi: client,
      driverName: DRIVER,
      timeoutMs: TIMEOUT_MS,
      retryBaseMs: BASE_MS,
      retryMaxMs: 10_000,
    });
    await attacher.start();
    stops.push(() => attacher.stop());

    await store.create<VolumeAttachment>(K.va, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: { name: 'va1' },
      spec: { attacher: DRIVER, nodeName: NODE, source: { persistentVolumeName: 'pv1' } },
    });
    const failing = await eventually('attachError with the driver message', async () => {
      const va = await store.get<VolumeAttachment>(K.va, undefined, 'va1');
      return va.status?.attachError?.message?.includes('socket closed') ? va : undefined;
    });
    assert.notEqual(failing.status?.attached, true);
    const attached = await eventually('attached', async () => {
      const va = await store.get<VolumeAttachment>(K.va, undefined, 'va1');
      return va.status?.attached ? va : undefined;
    });
    assert.equal(attached.status?.attachError ?? null, null, 'the last error is cleared');
    const calls = mock.driver.callsOf('ControllerPublishVolume');
    assert.equal(calls.length, 6, 'five faults, then the call that works');
    assertBackoff(calls, { baseMs: BASE_MS, hangAt: 4, timeoutMs: TIMEOUT_MS });
    assert.deepEqual(mock.driver.volumes()[0]?.publishedNodes, ['csi-node-1']);

    await store.delete(K.va, undefined, 'va1');
    await eventually('attachment gone', () =>
      store.get(K.va, undefined, 'va1').then(
        () => false,
        (err: unknown) => isStatusError(err, 'NotFound'),
      ),
    );
    assert.equal(mock.driver.callsOf('ControllerUnpublishVolume').length, 3);
    assert.deepEqual(mock.driver.volumes()[0]?.publishedNodes, [], 'nothing left published');
  });

  it('node: stage and publish back off through every fault, FailedMount carries the driver message, teardown retries', async function () {
    mock.driver.faults.push('NodeStageVolume', ...SCRIPT);
    mock.driver.faults.push('NodePublishVolume', {
      kind: 'error',
      code: status.INTERNAL,
      message: 'bind failed',
    });
    mock.driver.faults.push('NodeUnpublishVolume', { kind: 'error', code: status.UNAVAILABLE });
    mock.driver.faults.push('NodeUnstageVolume', { kind: 'hang' });
    const agent = await startAgent();
    await store.create(K.pod, newPod('p1', ['claim1'], { nodeName: NODE }));
    await eventually('pod p1 has its volume', async () => {
      const pod = await store.get<Pod>(K.pod, 'default', 'p1');
      return pod.metadata.annotations?.[VOLUME_PATHS_ANNOTATION] ? pod : undefined;
    });
    const stages = mock.driver.callsOf('NodeStageVolume');
    assert.equal(stages.length, 6, 'five faults, then the stage that works');
    assertBackoff(stages, { baseMs: BASE_MS, hangAt: 4, timeoutMs: TIMEOUT_MS });
    assert.equal(mock.driver.callsOf('NodePublishVolume').length, 2);
    const failed = await podEvents('p1', 'FailedMount');
    const messages = failed.map((e) => e.message ?? '').join('\n');
    for (const text of ['socket closed', 'pool full', 'pool offline', 'bind failed']) {
      assert.ok(messages.includes(text), `a FailedMount event says "${text}":\n${messages}`);
    }
    assert.ok(failed.length <= 7, `${failed.length} FailedMount events`);

    await store.delete(K.pod, 'default', 'p1');
    await podGone('p1');
    await eventually('volume unstaged', async () => {
      await agent.whenIdle();
      return agent.actualState().length === 0;
    });
    assert.equal(mock.driver.callsOf('NodeUnpublishVolume').length, 2);
    assert.ok(mock.driver.callsOf('NodeUnstageVolume').length >= 2, 'the hung unstage is retried');
    assert.deepEqual(await markerMountTable(join(dir, 'root'))(), [], 'nothing left mounted');
  });

  it('a pod deleted while its volume never mounted finishes Terminating', async function () {
    const never = Array.from({ length: 50 }, () => ({
      kind: 'error' as const,
      code: status.INTERNAL,
      message: 'device not ready',
    }));
    mock.driver.faults.push('NodeStageVolume', ...never);
    const agent = await startAgent();
    await store.create(K.pod, newPod('stuck', ['claim1'], { nodeName: NODE }));
    await eventually('a FailedMount for the stuck pod', async () =>
      (await podEvents('stuck', 'FailedMount')).some((e) => e.message?.includes('device not ready')),
    );
    await store.delete(K.pod, 'default', 'stuck');
    await podGone('stuck');
    await agent.whenIdle();
    assert.deepEqual(agent.actualState(), [], 'nothing staged or published');
    assert.equal(mock.driver.callsOf('NodePublishVolume').length, 0);
  });
});
