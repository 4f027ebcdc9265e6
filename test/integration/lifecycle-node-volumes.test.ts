// The node agent's volume lifecycle end to end: embedded store, a mock CSI driver over a real unix
// socket, real directories and vol_data.json files under a temp root. The mock driver "mounts" by
// creating the target directory with a marker file, so no root is needed; the agent's mount table
// is a stand-in that lists the directories holding that marker (named as such below).
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { K } from '../../src/api/kinds.js';
import type {
  CSIDriver,
  Event,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  VolumeAttachment,
} from '../../src/api/types.js';
import { attachmentName, uniqueVolumeName } from '../../src/attach-detach/names.js';
import { CsiClient } from '../../src/csi/client.js';
import { status as grpcStatus } from '../../src/csi/errors.js';
import { JsonLogger } from '../../src/machinery/index.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NODE_VOLUMES_FINALIZER, VOLUME_PATHS_ANNOTATION } from '../../src/node/desired-state.js';
import { sha256Hex } from '../../src/node/paths.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { newClaim, newPod, newVolume } from '../helpers/builders.js';
import { startMockDriver, type StartedMockDriver } from '../mock-driver/driver.js';
import { eventuallyWithin } from '../helpers/eventually.js';
import { markerMountTable } from '../helpers/marker-mount-table.js';

const DRIVER = 'mock.csi.berth.dev';
const NODE = 'node-1';

const eventually = eventuallyWithin(8000, 20);

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('node agent volume lifecycle (mock CSI driver)', function () {
  this.timeout(30_000);
  let dir: string;
  let root: string;
  let store: EmbeddedStore;
  let mock: StartedMockDriver;
  let client: CsiClient;
  let agent: NodeAgent | undefined;
  const handles: Record<string, string> = {};

  function startAgent(options: { csiTimeoutMs?: number } = {}): Promise<void> {
    agent = new NodeAgent({
      store,
      nodeName: NODE,
      rootDir: root,
      mountInfo: markerMountTable(root),
      csiTimeoutMs: options.csiTimeoutMs ?? 5000,
      heartbeatMs: 0,
      retryBaseMs: 100,
      retryMaxMs: 500,
      resyncMs: 500,
      drivers: [{ name: DRIVER, endpoint: mock.endpoint }],
      ...(process.env['DEBUG_NODE']
        ? { log: new JsonLogger({ write: (l: string) => process.stderr.write(l) }, { level: 'debug' }) }
        : {}),
    });
    return agent.start();
  }

  async function stopAgent(): Promise<void> {
    await agent?.stop();
    agent = undefined;
  }

  async function addVolume(pvName: string, claimName: string): Promise<string> {
    const created = await client.createVolume({
      name: pvName,
      volume_capabilities: [
        {
          mount: { fs_type: 'ext4', mount_flags: [], volume_mount_group: '' },
          access_mode: { mode: 'SINGLE_NODE_WRITER' },
        },
      ],
    });
    const handle = created.volume!.volume_id;
    handles[pvName] = handle;
    const pv = newVolume(pvName, '1Gi', {
      claim: { name: claimName, uid: `uid-${claimName}` },
      phase: 'Bound',
    });
    delete pv.spec.hostPath;
    pv.spec.csi = {
      driver: DRIVER,
      volumeHandle: handle,
      fsType: 'ext4',
      volumeAttributes: { tier: 'gold' },
    };
    pv.spec.mountOptions = ['noatime'];
    await store.create(K.pv, pv);
    await store.create(K.pvc, newClaim(claimName, '1Gi', { volumeName: pvName, phase: 'Bound' }));
    return handle;
  }

  async function setDriverObject(spec: CSIDriver['spec']): Promise<void> {
    await store.create<CSIDriver>(K.csidriver, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: DRIVER },
      spec,
    });
  }

  async function runPod(name: string, claim: string): Promise<Pod> {
    return store.create(K.pod, newPod(name, [claim], { nodeName: NODE }));
  }

  function getPod(name: string): Promise<Pod> {
    return store.get<Pod>(K.pod, 'default', name);
  }

  function running(name: string): Promise<Pod> {
    return eventually(`pod ${name} Running`, async () => {
      const pod = await getPod(name);
      return pod.status?.phase === 'Running' && pod.metadata.annotations?.[VOLUME_PATHS_ANNOTATION]
        ? pod
        : undefined;
    });
  }

  function gone(name: string): Promise<boolean> {
    return eventually(`pod ${name} removed`, async () => {
      try {
        await getPod(name);
        return false;
      } catch (err) {
        return isStatusError(err, 'NotFound');
      }
    });
  }

  async function inUse(): Promise<string[]> {
    return (await store.get<Node>(K.node, undefined, NODE)).status?.volumesInUse ?? [];
  }

  async function events(podName: string, reason: string): Promise<Event[]> {
    const list = await store.list<Event>(K.event, { namespace: 'default' });
    return list.items.filter((e) => e.involvedObject.name === podName && e.reason === reason);
  }

  const calls = (method: string) => mock.driver.callsOf(method).length;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-node-'));
    root = join(await realpath(dir), 'root');
    store = await openEmbeddedStore({ dataDir: join(dir, 'data') });
    mock = await startMockDriver({ socketPath: join(dir, 'csi.sock'), name: DRIVER, nodeId: 'csi-node-1' });
    client = new CsiClient(mock.endpoint, { timeoutMs: 5000 });
  });

  afterEach(async function () {
    await stopAgent();
    client?.close();
    await mock?.shutdown();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stages once, publishes per pod, unpublishes each and unstages after the last (attach not required)', async function () {
    await setDriverObject({ attachRequired: false, podInfoOnMount: true });
    const handle = await addVolume('pv1', 'claim1');
    const unique = uniqueVolumeName(DRIVER, handle);
    await startAgent();

    await runPod('p1', 'claim1');
    const p1 = await running('p1');
    const uid1 = p1.metadata.uid ?? '';
    const target1 = join(root, 'pods', uid1, 'volumes', 'kubernetes.io~csi', 'pv1', 'mount');
    const stagingDir = join(root, 'plugins', 'kubernetes.io', 'csi', DRIVER, sha256Hex(handle));
    assert.deepEqual(JSON.parse(p1.metadata.annotations?.[VOLUME_PATHS_ANNOTATION] ?? '{}'), {
      vol0: target1,
    });
    assert.ok(p1.metadata.finalizers?.includes(NODE_VOLUMES_FINALIZER));
    assert.deepEqual(
      p1.status?.conditions?.map((c) => [c.type, c.status]),
      [
        ['PodReadyToStartContainers', 'True'],
        ['Initialized', 'True'],
        ['Ready', 'True'],
        ['ContainersReady', 'True'],
        ['PodScheduled', 'True'],
      ],
    );
    assert.deepEqual(
      p1.status?.containerStatuses?.map((c) => [c.name, c['ready'], c['started']]),
      p1.spec.containers.map((c) => [c.name, true, true]),
    );
    assert.ok(await exists(join(target1, '.mock-volume')), 'the driver published into the target path');
    assert.deepEqual(JSON.parse(await readFile(join(dirname(target1), 'vol_data.json'), 'utf8')), {
      specVolID: 'pv1',
      volumeHandle: handle,
      driverName: DRIVER,
      nodeName: NODE,
      attachmentID: attachmentName(handle, DRIVER, NODE),
      volumeLifecycleMode: 'Persistent',
    });
    assert.deepEqual(JSON.parse(await readFile(join(stagingDir, 'vol_data.json'), 'utf8')), {
      volumeHandle: handle,
      driverName: DRIVER,
    });

    const stage = mock.driver.callsOf('NodeStageVolume')[0]?.request as Record<string, unknown>;
    assert.equal(stage['staging_target_path'], join(stagingDir, 'globalmount'));
    assert.deepEqual(stage['volume_context'], { tier: 'gold' });
    assert.deepEqual(stage['publish_context'], {});
    assert.deepEqual(stage['volume_capability'], {
      mount: { fs_type: 'ext4', mount_flags: ['noatime'], volume_mount_group: '' },
      access_mode: { mode: 'SINGLE_NODE_WRITER' },
      access_type: 'mount',
    });
    const publish = mock.driver.callsOf('NodePublishVolume')[0]?.request as Record<string, unknown>;
    assert.equal(publish['target_path'], target1);
    assert.equal(publish['staging_target_path'], join(stagingDir, 'globalmount'));
    assert.equal(publish['readonly'], false);
    assert.deepEqual(publish['volume_context'], {
      tier: 'gold',
      'csi.storage.k8s.io/pod.name': 'p1',
      'csi.storage.k8s.io/pod.namespace': 'default',
      'csi.storage.k8s.io/pod.uid': uid1,
      'csi.storage.k8s.io/serviceAccount.name': 'default',
      'csi.storage.k8s.io/ephemeral': 'false',
    });
    assert.deepEqual(await inUse(), [unique]);

    // a second pod on the node shares the staged volume
    await runPod('p2', 'claim1');
    await running('p2');
    assert.equal(calls('NodeStageVolume'), 1);
    assert.equal(calls('NodePublishVolume'), 2);

    // deleting the first pod unpublishes it only; the object stays until then (finalizer)
    await store.delete(K.pod, 'default', 'p1');
    await gone('p1');
    assert.equal(calls('NodeUnpublishVolume'), 1);
    assert.equal(calls('NodeUnstageVolume'), 0);
    assert.equal(await exists(dirname(target1)), false, 'the pod volume dir is removed');
    assert.deepEqual(await inUse(), [unique], 'still in use by p2');

    await store.delete(K.pod, 'default', 'p2');
    await gone('p2');
    await eventually('volumesInUse cleared', async () => (await inUse()).length === 0);
    assert.equal(calls('NodeUnpublishVolume'), 2);
    assert.equal(calls('NodeUnstageVolume'), 1);
    const order = mock.driver.calls.map((c) => c.method).filter((m) => m.startsWith('NodeUn'));
    assert.deepEqual(order, ['NodeUnpublishVolume', 'NodeUnpublishVolume', 'NodeUnstageVolume']);
    assert.equal(await exists(stagingDir), false, 'staging dir and its vol_data.json are removed');
    assert.equal(await exists(join(root, 'pods', uid1)), false);
    assert.deepEqual(agent?.actualState(), []);
  });

  it('waits for the VolumeAttachment when attach is required and passes its metadata on', async function () {
    const handle = await addVolume('pv1', 'claim1');
    await startAgent();
    await runPod('p1', 'claim1');
    const unique = uniqueVolumeName(DRIVER, handle);
    await eventually('volume reported in use before staging', async () => (await inUse()).includes(unique));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(calls('NodeStageVolume'), 0, 'no stage before the attachment is attached');
    assert.equal((await getPod('p1')).status?.phase, 'Pending');

    const name = attachmentName(handle, DRIVER, NODE);
    await store.create<VolumeAttachment>(K.va, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: { name },
      spec: { attacher: DRIVER, nodeName: NODE, source: { persistentVolumeName: 'pv1' } },
    });
    await store.patch(
      K.va,
      undefined,
      name,
      { status: { attached: true, attachmentMetadata: { devicePath: '/dev/mock/1' } } },
      { subresource: 'status' },
    );
    await running('p1');
    const stage = mock.driver.callsOf('NodeStageVolume')[0]?.request as Record<string, unknown>;
    const publish = mock.driver.callsOf('NodePublishVolume')[0]?.request as Record<string, unknown>;
    assert.deepEqual(stage['publish_context'], { devicePath: '/dev/mock/1' });
    assert.deepEqual(publish['publish_context'], { devicePath: '/dev/mock/1' });
    assert.deepEqual(publish['volume_context'], { tier: 'gold' }, 'no pod info without podInfoOnMount');
  });

  it('a hung NodePublish of one volume does not hold another pod’s volume', async function () {
    await setDriverObject({ attachRequired: false });
    await addVolume('pv1', 'claim1');
    await addVolume('pv2', 'claim2');
    mock.driver.faults.push('NodePublishVolume', { kind: 'hang' });
    await startAgent({ csiTimeoutMs: 2000 });
    await runPod('slow', 'claim1');
    await eventually('the hung publish to start', async () => calls('NodePublishVolume') === 1);
    const started = Date.now();
    await runPod('fast', 'claim2');
    await running('fast');
    const fastMs = Date.now() - started;
    assert.ok(
      fastMs < 1500,
      `the other volume was published in ${fastMs} ms, before the hung call timed out`,
    );
    assert.equal((await getPod('slow')).status?.phase, 'Pending');

    // the hung call times out, is reported, and the retry succeeds
    await running('slow');
    const failed = await eventually('FailedMount event', async () => {
      const list = await events('slow', 'FailedMount');
      return list.length > 0 ? list : undefined;
    });
    assert.match(failed[0]?.message ?? '', /MountVolume\.SetUp failed for volume "pv1" : DEADLINE_EXCEEDED/);
  });

  it('reports a driver error as FailedMount and retries until it succeeds', async function () {
    await setDriverObject({ attachRequired: false });
    await addVolume('pv1', 'claim1');
    mock.driver.faults.push(
      'NodeStageVolume',
      { kind: 'error', code: grpcStatus.INTERNAL, message: 'disk on fire' },
      { kind: 'error', code: grpcStatus.INTERNAL, message: 'disk on fire' },
    );
    await startAgent();
    await runPod('p1', 'claim1');
    await running('p1');
    assert.equal(calls('NodeStageVolume'), 3);
    const failed = await eventually('FailedMount events', async () => {
      const list = await events('p1', 'FailedMount');
      return list.length > 0 ? list : undefined;
    });
    assert.equal(failed.length, 1, 'repeats are folded into one Event');
    assert.equal(failed[0]?.type, 'Warning');
    assert.equal(failed[0]?.count, 2);
    assert.equal(
      failed[0]?.message,
      'MountVolume.MountDevice failed for volume "pv1" : INTERNAL: disk on fire',
    );
    assert.equal((await events('p1', 'SuccessfulMountVolume')).length, 1);
  });

  it('finishes a claim waiting for the node to grow it, saying why on the claim while it cannot', async function () {
    await setDriverObject({ attachRequired: false });
    await addVolume('pv1', 'claim1');
    await startAgent();
    await runPod('p1', 'claim1');
    await running('p1');
    // What the resizer leaves: a grown PV, and the claim waiting in FileSystemResizePending.
    const busy = { kind: 'error' as const, code: grpcStatus.FAILED_PRECONDITION, message: 'filesystem busy' };
    mock.driver.faults.push('NodeExpandVolume', busy, busy, busy);
    const pv = await store.get<PersistentVolume>(K.pv, undefined, 'pv1');
    await store.update(K.pv, { ...pv, spec: { ...pv.spec, capacity: { storage: '2Gi' } } });
    const claim = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'claim1');
    await store.update(K.pvc, {
      ...claim,
      spec: { ...claim.spec, resources: { requests: { storage: '2Gi' } } },
    });
    const latest = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'claim1');
    await store.update(
      K.pvc,
      {
        ...latest,
        status: {
          ...latest.status,
          capacity: { storage: '1Gi' },
          allocatedResources: { storage: '2Gi' },
          allocatedResourceStatuses: { storage: 'NodeResizePending' },
          conditions: [{ type: 'FileSystemResizePending', status: 'True' }],
        },
      },
      { subresource: 'status' },
    );
    const failing = await eventually('NodeResizeError on the claim', async () => {
      const c = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'claim1');
      return c.status?.conditions?.find((x) => x.type === 'NodeResizeError');
    });
    assert.match(
      failing.message ?? '',
      /^MountVolume\.NodeExpandVolume failed for volume "pv1" : FAILED_PRECONDITION: filesystem busy$/,
    );
    const done = await eventually('claim at 2Gi', async () => {
      const c = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'claim1');
      return c.status?.capacity?.['storage'] === '2Gi' ? c : undefined;
    });
    assert.deepEqual(done.status?.conditions ?? [], [], 'no resize condition left');
    assert.equal(done.status?.allocatedResourceStatuses, undefined);
    const expand = mock.driver.callsOf('NodeExpandVolume').at(-1)?.request as {
      volume_path: string;
      staging_target_path: string;
      capacity_range: { required_bytes: string };
    };
    assert.equal(expand.capacity_range.required_bytes, String(2 * 1024 ** 3));
    assert.match(expand.volume_path, /\/pods\/[^/]+\/volumes\/kubernetes\.io~csi\/pv1\/mount$/);
    assert.ok(expand.staging_target_path.endsWith('/globalmount'), expand.staging_target_path);
    assert.equal((await events('p1', 'FileSystemResizeFailed'))[0]?.count, 3);
    // the event is written after the claim: wait for it rather than race it
    const succeeded = await eventually('FileSystemResizeSuccessful event', async () => {
      const list = await events('p1', 'FileSystemResizeSuccessful');
      return list.length > 0 ? list : undefined;
    });
    assert.equal(succeeded.length, 1);
  });

  it('rebuilds its state after a restart: no second mount, and no leak for pods deleted meanwhile', async function () {
    await setDriverObject({ attachRequired: false });
    const h1 = await addVolume('pv1', 'claim1');
    await addVolume('pv2', 'claim2');
    await startAgent();
    await runPod('keep', 'claim1');
    await runPod('drop', 'claim2');
    await running('keep');
    await running('drop');
    assert.equal(calls('NodeStageVolume'), 2);
    assert.equal(calls('NodePublishVolume'), 2);

    await stopAgent();
    // while the agent is down: one pod is deleted (held by the finalizer), and the other keeps running
    await store.delete(K.pod, 'default', 'drop');

    await startAgent();
    await gone('drop');
    await eventually('only pv1 left in use', async () => {
      const list = await inUse();
      return list.length === 1 && list[0] === uniqueVolumeName(DRIVER, h1);
    });
    assert.equal(calls('NodeStageVolume'), 2, 'the still-mounted volume is not staged again');
    assert.equal(calls('NodePublishVolume'), 2, 'the still-mounted volume is not published again');
    assert.equal(calls('NodeUnpublishVolume'), 1);
    assert.equal(calls('NodeUnstageVolume'), 1);
    assert.equal((await getPod('keep')).status?.phase, 'Running');
    await agent?.whenIdle();
    assert.deepEqual(
      agent?.actualState().map((v) => [v.specName, v.stage, v.publishes.map((p) => p.state)]),
      [['pv1', 'staged', ['mounted']]],
    );
  });

  it('tears down mounts whose pod object vanished entirely while the agent was down', async function () {
    await setDriverObject({ attachRequired: false });
    await addVolume('pv1', 'claim1');
    await startAgent();
    const pod = await runPod('p1', 'claim1');
    await running('p1');
    await stopAgent();
    // someone force-removes the pod: finalizer stripped, object deleted
    const fresh = await getPod('p1');
    await store.update<Pod>(K.pod, { ...fresh, metadata: { ...fresh.metadata, finalizers: [] } });
    await store.delete(K.pod, 'default', 'p1');

    await startAgent();
    await eventually('leaked mount cleaned up', async () => calls('NodeUnstageVolume') === 1);
    assert.equal(calls('NodeUnpublishVolume'), 1);
    await eventually('volumesInUse cleared', async () => (await inUse()).length === 0);
    assert.equal(await exists(join(root, 'pods', pod.metadata.uid ?? '')), false);
  });
});
