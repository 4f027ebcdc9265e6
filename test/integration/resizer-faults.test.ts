// Fault injection at the CSI boundary for volume expansion, as for the provisioner and the attacher:
// the mock driver answers ControllerExpandVolume (the resizer) and NodeExpandVolume (the node agent)
// with UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL and a hang past the caller's
// timeout. Retries follow the shared back-off (the resizer's own status writes do not bring a retry
// forward), the failures are told in few aggregated Warning events, nothing is left half-grown, and
// the claim ends with its new capacity.
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K as API } from '../../src/api/kinds.js';
import type { Event, Node, PersistentVolumeClaim, Pod, StorageClass } from '../../src/api/types.js';
import { CsiClient } from '../../src/csi/client.js';
import { status } from '../../src/csi/errors.js';
import { EventRecorder } from '../../src/machinery/events.js';
import { VOLUME_PATHS_ANNOTATION } from '../../src/node/desired-state.js';
import { CONDITION_FS_RESIZE_PENDING, Resizer } from '../../src/resizer/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { assertBackoff } from '../helpers/backoff.js';
import { newClaim, newClass, newPod, newVolume } from '../helpers/builders.js';
import { eventuallyWithin } from '../helpers/eventually.js';
import { startFaultNodeAgent } from '../helpers/fault-node-agent.js';
import { startMockDriver, type StartedMockDriver } from '../mock-driver/driver.js';
import { DRIVER, K, World, waitFor } from '../unit/provisioner/harness.js';

const BASE_MS = 200;
const TIMEOUT_MS = 300;
const GIB = 1024 ** 3;
const eventually = eventuallyWithin(30_000, 20);

const SCRIPT = [
  { kind: 'error', code: status.UNAVAILABLE, message: 'socket closed' },
  { kind: 'error', code: status.DEADLINE_EXCEEDED, message: 'backend slow' },
  { kind: 'error', code: status.RESOURCE_EXHAUSTED, message: 'pool full' },
  { kind: 'error', code: status.INTERNAL, message: 'pool offline' },
  { kind: 'hang' },
] as const;

/** The events of one reason: how many objects, and how many occurrences they count together. */
function tally(events: readonly Event[]): { objects: number; occurrences: number } {
  return { objects: events.length, occurrences: events.reduce((sum, e) => sum + (e.count ?? 1), 0) };
}

describe('resizer under injected CSI faults (ControllerExpandVolume)', function () {
  this.timeout(60_000);
  let world: World;
  let resizer: Resizer;
  let recorder: EventRecorder;

  beforeEach(async function () {
    world = await new World().start();
    await world.create<StorageClass>(K.storageClass, {
      ...newClass('grow', { provisioner: DRIVER }),
      allowVolumeExpansion: true,
    });
    recorder = new EventRecorder({ store: world.store, component: 'external-resizer' });
    resizer = new Resizer({
      store: world.store,
      csi: world.csi,
      driverName: DRIVER,
      recorder,
      retryBaseMs: BASE_MS,
      retryMaxMs: 10_000,
      timeoutMs: TIMEOUT_MS,
    });
    await resizer.start();
  });

  afterEach(async function () {
    await resizer.stop();
    await recorder.flush();
    await world.stop();
  });

  /** A bound raw-block claim (no node step) asked to grow to 2Gi. */
  async function growBlockClaim(name: string): Promise<PersistentVolumeClaim> {
    await world.create(K.claim, newClaim(name, '1Gi', { className: 'grow', volumeMode: 'Block' }));
    const bound = await waitFor(`${name} Bound`, async () => {
      const c = await world.claim(name);
      return c?.status?.phase === 'Bound' ? c : undefined;
    });
    await world.store.update(K.claim, {
      ...bound,
      spec: { ...bound.spec, resources: { requests: { storage: '2Gi' } } },
    });
    return bound;
  }

  const expandCalls = () => world.driver.driver.callsOf('ControllerExpandVolume');

  it('backs off through every fault, then grows the volume once; the failures are a few aggregated events', async function () {
    world.driver.driver.faults.push('ControllerExpandVolume', ...SCRIPT);
    const claim = await growBlockClaim('data');
    const done = await waitFor(
      'capacity 2Gi',
      async () => {
        const c = await world.claim('data');
        return c?.status?.capacity?.['storage'] === '2Gi' ? c : undefined;
      },
      30_000,
    );
    const calls = expandCalls();
    assert.equal(calls.length, 6, 'five faults, then the call that works');
    assertBackoff(calls, { baseMs: BASE_MS, hangAt: 4, timeoutMs: TIMEOUT_MS });
    // the final state: claim, PV and backend agree, nothing left in progress
    assert.deepEqual(done.status?.conditions ?? [], []);
    assert.equal(done.status?.allocatedResourceStatuses, undefined);
    assert.equal((await world.volume(claim.spec.volumeName ?? ''))?.spec.capacity?.['storage'], '2Gi');
    const backend = world.driver.driver.volumes();
    assert.equal(backend.length, 1, 'one backend volume, no other made');
    assert.equal(backend[0]?.capacityBytes, String(2 * GIB));
    await recorder.flush();
    const failed = await world.events('VolumeResizeFailed');
    const messages = failed.map((e) => e.message ?? '').join('\n');
    for (const text of ['socket closed', 'backend slow', 'pool full', 'pool offline']) {
      assert.ok(messages.includes(text), `a VolumeResizeFailed event says "${text}":\n${messages}`);
    }
    const { objects, occurrences } = tally(failed);
    assert.equal(occurrences, 5, 'every failure is counted');
    assert.ok(objects <= 5, `${objects} VolumeResizeFailed objects`);
    assert.ok(failed.every((e) => e.type === 'Warning'));
  });

  it('a failure that never ends: retries slow down by the back-off, its own status writes do not bring them forward', async function () {
    const forever = Array.from({ length: 40 }, () => ({
      kind: 'error' as const,
      code: status.INTERNAL,
      message: 'pool offline',
    }));
    world.driver.driver.faults.push('ControllerExpandVolume', ...forever);
    await growBlockClaim('stuck');
    await waitFor('the first ControllerExpandVolume', () => expandCalls().length >= 1);
    const first = expandCalls()[0]!.at;
    const windowMs = 3000;
    await new Promise((resolve) => setTimeout(resolve, first + windowMs - Date.now()));
    const calls = expandCalls().filter((c) => c.at <= first + windowMs);
    // 200, 400, 800, 1600 ms (less up to 10% jitter): 4 or 5 calls in 3 s; a retry per own write would be more
    assert.ok(calls.length >= 3 && calls.length <= 5, `${calls.length} calls in ${windowMs} ms`);
    assertBackoff(calls, { baseMs: BASE_MS });
    // the claim was written when the failure was first recorded, not on every retry
    const claim = (await world.claim('stuck'))!;
    const version = claim.metadata.resourceVersion;
    await waitFor('one more retry', () => expandCalls().length > calls.length, 10_000);
    assert.equal(
      (await world.claim('stuck'))?.metadata.resourceVersion,
      version,
      'no status write per retry',
    );
    assert.match(
      claim.status?.conditions?.find((c) => c.type === 'ControllerResizeError')?.message ?? '',
      /pool offline/,
    );
    await recorder.flush();
    const failed = tally(await world.events('VolumeResizeFailed'));
    assert.equal(failed.objects, 1, 'one event object for the repeated failure');
    assert.ok(failed.occurrences >= calls.length, `counted ${failed.occurrences} times`);
  });
});

describe('node agent under injected CSI faults (NodeExpandVolume)', function () {
  this.timeout(90_000);
  const NODE = 'node-1';
  const MOCK = 'mock.csi.berth.dev';
  let dir: string;
  let store: EmbeddedStore;
  let mock: StartedMockDriver;
  let client: CsiClient;
  const stops: (() => Promise<void>)[] = [];

  beforeEach(async function () {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'berth-resize-faults-')));
    store = await openEmbeddedStore({ dataDir: join(dir, 'data') });
    mock = await startMockDriver({ socketPath: join(dir, 'csi.sock'), name: MOCK, nodeId: 'csi-node-1' });
    client = new CsiClient(mock.endpoint, { timeoutMs: 5000 });
  });

  afterEach(async function () {
    for (const stop of stops.splice(0).reverse()) await stop();
    client?.close();
    await mock?.shutdown();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('NodeExpandVolume backs off through every fault; the claim records its new capacity once it works', async function () {
    // a volume the controller already grew to 2Gi: the claim waits for the node (FileSystemResizePending)
    const created = await client.createVolume({
      name: 'pvc-uid-claim1',
      capacity_range: { required_bytes: String(2 * GIB), limit_bytes: '0' },
      volume_capabilities: [
        {
          mount: { fs_type: 'ext4', mount_flags: [], volume_mount_group: '' },
          access_mode: { mode: 'SINGLE_NODE_WRITER' },
        },
      ],
    });
    const pv = newVolume('pv1', '2Gi', { claim: { name: 'claim1', uid: 'uid-claim1' }, phase: 'Bound' });
    delete pv.spec.hostPath;
    pv.spec.csi = { driver: MOCK, volumeHandle: created.volume!.volume_id, fsType: 'ext4' };
    await store.create(API.pv, pv);
    const claim = newClaim('claim1', '2Gi', { volumeName: 'pv1', phase: 'Bound' });
    claim.status = {
      phase: 'Bound',
      capacity: { storage: '1Gi' },
      allocatedResources: { storage: '2Gi' },
      allocatedResourceStatuses: { storage: 'NodeResizePending' },
      conditions: [{ type: CONDITION_FS_RESIZE_PENDING, status: 'True' }],
    };
    await store.create(API.pvc, claim);
    await store.create<Node>(API.node, { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } });
    mock.driver.faults.push('NodeExpandVolume', ...SCRIPT);
    const o = { store, dir, node: NODE, driver: MOCK, endpoint: mock.endpoint };
    const { recorder } = await startFaultNodeAgent({
      ...o,
      csiTimeoutMs: TIMEOUT_MS,
      retryBaseMs: BASE_MS,
      onStop: (s) => stops.push(s),
    });
    await store.create(API.pod, newPod('p1', ['claim1'], { nodeName: NODE }));
    await eventually('pod p1 has its volume', async () => {
      const pod = await store.get<Pod>(API.pod, 'default', 'p1');
      return pod.metadata.annotations?.[VOLUME_PATHS_ANNOTATION] ? pod : undefined;
    });
    const grown = await eventually('claim capacity 2Gi', async () => {
      const c = await store.get<PersistentVolumeClaim>(API.pvc, 'default', 'claim1');
      return c.status?.capacity?.['storage'] === '2Gi' ? c : undefined;
    });
    const calls = mock.driver.callsOf('NodeExpandVolume');
    assert.equal(calls.length, 6, 'five faults, then the call that works');
    assertBackoff(calls, { baseMs: BASE_MS, hangAt: 4, timeoutMs: TIMEOUT_MS });
    assert.deepEqual(
      grown.status?.conditions ?? [],
      [],
      'FileSystemResizePending and NodeResizeError are gone',
    );
    assert.equal(grown.status?.allocatedResourceStatuses, undefined);
    await recorder.flush();
    const events = (await store.list<Event>(API.event, { namespace: 'default' })).items;
    const failed = events.filter((e) => e.reason === 'FileSystemResizeFailed');
    const messages = failed.map((e) => e.message ?? '').join('\n');
    for (const text of ['socket closed', 'backend slow', 'pool full', 'pool offline']) {
      assert.ok(messages.includes(text), `a FileSystemResizeFailed event says "${text}":\n${messages}`);
    }
    const { objects, occurrences } = tally(failed);
    assert.equal(occurrences, 5, 'every failure is counted');
    assert.ok(objects <= 5, `${objects} FileSystemResizeFailed objects`);
    assert.ok(events.some((e) => e.reason === 'FileSystemResizeSuccessful'));
  });
});
