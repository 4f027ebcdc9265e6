// The scheduler end to end: embedded store in a temp dir, the real PV controller and scheduler,
// and stand-ins for the node agent and an external provisioner (test/unit/scheduler/sim.ts);
// the last case provisions through the real provisioner and the mock CSI driver on a unix socket.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { K } from '../../src/api/kinds.js';
import type {
  Event,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from '../../src/api/types.js';
import { PvController } from '../../src/pv-controller/controller.js';
import { Scheduler } from '../../src/scheduler/controller.js';
import type { EmbeddedStore } from '../../src/store/embedded.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { newClaim, newClass, newVolume } from '../helpers/builders.js';
import type { CreateVolumeRequest } from '../../src/csi/types.js';
import { DRIVER, World } from '../unit/provisioner/harness.js';
import { newCsiNode, newNode, podWithClaims } from '../unit/scheduler/fixtures.js';
import { ClusterSim, eventually } from '../unit/scheduler/sim.js';

const PROVISIONER = 'fast.csi.test';
const ZONE = 'topology.mock/zone';

describe('scheduler with WaitForFirstConsumer (embedded store)', function () {
  let dir: string;
  let store: EmbeddedStore;
  let pv: PvController;
  let scheduler: Scheduler;
  let sim: ClusterSim;

  async function startAll(failOnceOn: string[] = []): Promise<void> {
    pv = new PvController({ store, resyncMs: 500 });
    scheduler = new Scheduler({ store });
    sim = new ClusterSim({ store, provisioner: PROVISIONER, failOnceOn });
    await pv.start();
    await scheduler.start();
    sim.start();
  }

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'berth-sched-'));
    store = await openEmbeddedStore({ dataDir: dir });
  });

  afterEach(async function () {
    await sim?.stop();
    await scheduler?.stop();
    await pv?.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const pod = (name: string) => store.get<Pod>(K.pod, 'default', name).catch(() => undefined);
  const claim = (name: string) =>
    store.get<PersistentVolumeClaim>(K.pvc, 'default', name).catch(() => undefined);
  const runningOn = async (name: string): Promise<string | undefined> => {
    const p = await pod(name);
    return p?.status?.phase === 'Running' ? p.spec.nodeName : undefined;
  };
  const boundTo = async (name: string): Promise<string | undefined> => {
    const c = await claim(name);
    return c?.status?.phase === 'Bound' ? c.spec.volumeName : undefined;
  };
  const events = async (reason: string): Promise<Event[]> =>
    (await store.list<Event>(K.event)).items.filter((e) => e.reason === reason);
  const fastClass = (extra: Partial<StorageClass> = {}): StorageClass => ({
    ...newClass('fast', { provisioner: PROVISIONER, bindingMode: 'WaitForFirstConsumer' }),
    ...extra,
  });

  it('seed: pv-1 on node-1, pv-2 on node-2, a pod allowed only on node-2 binds pv-2', async function () {
    await startAll();
    await store.create(K.node, newNode('node-1'));
    await store.create(K.node, newNode('node-2'));
    await store.create(K.sc, newClass('local-storage', { bindingMode: 'WaitForFirstConsumer' }));
    for (const [name, node] of [
      ['pv-1', 'node-1'],
      ['pv-2', 'node-2'],
    ] as const) {
      await store.create(
        K.pv,
        newVolume(name, '5Gi', { className: 'local-storage', node, source: 'local', policy: 'Delete' }),
      );
    }
    await store.create(K.pvc, newClaim('example-local-claim', '5Gi', { className: 'local-storage' }));
    await pv.whenIdle();
    assert.equal((await claim('example-local-claim'))?.status?.phase ?? 'Pending', 'Pending');

    await store.create(
      K.pod,
      podWithClaims('example-pv-pod', ['example-local-claim'], { hostnames: ['node-2'] }),
    );
    assert.equal(await eventually('pod Running', () => runningOn('example-pv-pod')), 'node-2');
    assert.equal(await boundTo('example-local-claim'), 'pv-2');
    const pv1 = await store.get<PersistentVolume>(K.pv, undefined, 'pv-1');
    assert.equal(pv1.spec.claimRef, undefined);
    const scheduled = await eventually('Scheduled event', async () => (await events('Scheduled'))[0]);
    assert.equal(scheduled.message, 'Successfully assigned default/example-pv-pod to node-2');
  });

  it('dynamic provisioning lands on the node the class topology allows, and the pod follows', async function () {
    await startAll();
    await store.create(K.node, newNode('node-1', { labels: { zone: 'a' } }));
    await store.create(K.node, newNode('node-2', { labels: { zone: 'b' } }));
    await store.create(
      K.sc,
      fastClass({ allowedTopologies: [{ matchLabelExpressions: [{ key: 'zone', values: ['b'] }] }] }),
    );
    await store.create(K.pvc, newClaim('data', '2Gi', { className: 'fast' }));
    await store.create(K.pod, podWithClaims('app', ['data']));
    assert.equal(await eventually('pod Running', () => runningOn('app')), 'node-2');
    const volumeName = await boundTo('data');
    assert.ok(volumeName);
    assert.equal(sim.provisioned.get(volumeName), 'node-2');
    assert.equal(
      (await claim('data'))?.metadata.annotations?.['volume.kubernetes.io/selected-node'],
      'node-2',
    );
  });

  it('schedules again when provisioning fails and selected-node is removed', async function () {
    await startAll(['node-1']);
    await store.create(K.node, newNode('node-1'));
    await store.create(K.sc, fastClass());
    await store.create(K.pvc, newClaim('data', '1Gi', { className: 'fast' }));
    await store.create(K.pod, podWithClaims('app', ['data']));
    assert.equal(await eventually('pod Running', () => runningOn('app')), 'node-1');
    assert.deepEqual(sim.rescheduled, ['data@node-1']);
  });

  it('provisions the claims of a pod that arrives with spec.nodeName on that node', async function () {
    await startAll();
    await store.create(K.node, newNode('node-1'));
    await store.create(K.node, newNode('node-2'));
    await store.create(K.sc, fastClass());
    await store.create(K.pvc, newClaim('data', '1Gi', { className: 'fast' }));
    await store.create(K.pod, podWithClaims('pinned', ['data'], { nodeName: 'node-2' }));
    assert.equal(await eventually('pod Running', () => runningOn('pinned')), 'node-2');
    const volumeName = await boundTo('data');
    assert.equal(sim.provisioned.get(volumeName ?? ''), 'node-2');
  });

  it('an unschedulable pod gets FailedScheduling with the volume reasons', async function () {
    await startAll();
    await store.create(K.node, newNode('node-1'));
    await store.create(K.node, newNode('node-2'));
    await store.create(K.sc, newClass('local', { bindingMode: 'WaitForFirstConsumer' }));
    await store.create(
      K.pv,
      newVolume('pv-a', '1Gi', { className: 'local', node: 'node-1', source: 'local' }),
    );
    await store.create(
      K.pv,
      newVolume('pv-b', '1Gi', { className: 'local', node: 'node-2', source: 'local' }),
    );
    // A first pod, allowed only on node-1, gets "a" bound to the volume there; "b" can only
    // have the volume on node-2.
    await store.create(K.pvc, newClaim('a', '1Gi', { className: 'local' }));
    await store.create(K.pvc, newClaim('b', '1Gi', { className: 'local' }));
    await store.create(K.pod, podWithClaims('first', ['a'], { hostnames: ['node-1'] }));
    assert.equal(await eventually('a Bound', () => boundTo('a')), 'pv-a');
    await store.delete(K.pod, 'default', 'first');
    await store.create(K.pod, podWithClaims('stuck', ['a', 'b']));
    const expected =
      "0/2 nodes are available: 1 node(s) didn't find available persistent volumes to bind, 1 node(s) had volume node affinity conflict.";
    const event = await eventually('FailedScheduling', async () =>
      (await events('FailedScheduling')).find((e) => e.message === expected),
    );
    assert.equal(event.type, 'Warning');
    assert.equal(event.involvedObject.name, 'stuck');
    const stuck = await pod('stuck');
    assert.equal(stuck?.spec.nodeName, undefined);
    const condition = stuck?.status?.conditions?.find((c) => c.type === 'PodScheduled');
    assert.equal(condition?.status, 'False');
    assert.equal(condition?.reason, 'Unschedulable');
    // Nothing was bound on the pod's behalf.
    assert.equal((await store.get<PersistentVolume>(K.pv, undefined, 'pv-b')).spec.claimRef, undefined);
  });

  it('a pod waiting for a node is placed once a fitting node registers', async function () {
    await startAll();
    await store.create(K.node, newNode('node-1', { ready: false }));
    await store.create(K.pod, podWithClaims('waiter', []));
    await eventually('FailedScheduling', async () => (await events('FailedScheduling'))[0]);
    await store.create(K.node, newNode('node-2'));
    assert.equal(await eventually('pod Running', () => runningOn('waiter')), 'node-2');
  });
});

describe('scheduler with the real provisioner and the mock CSI driver', function () {
  let world: World;
  let scheduler: Scheduler;
  let sim: ClusterSim;

  afterEach(async function () {
    await sim?.stop();
    await scheduler?.stop();
    await world?.stop();
  });

  it('provisions a WaitForFirstConsumer claim in the zone of the node the pod is placed on', async function () {
    world = await new World({ driver: { topology: { [ZONE]: 'z1' } } }).start();
    scheduler = new Scheduler({ store: world.store });
    sim = new ClusterSim({ store: world.store }); // node agent only: provisioning is real
    await scheduler.start();
    sim.start();
    for (const [name, zone] of [
      ['node-1', 'z1'],
      ['node-2', 'z2'],
    ] as const) {
      await world.store.create(K.node, newNode(name, { labels: { [ZONE]: zone } }));
      await world.store.create(K.csinode, newCsiNode(name, [{ name: DRIVER, topologyKeys: [ZONE] }]));
    }
    await world.store.create(K.sc, {
      ...newClass('zonal', { provisioner: DRIVER, bindingMode: 'WaitForFirstConsumer' }),
      allowedTopologies: [{ matchLabelExpressions: [{ key: ZONE, values: ['z2'] }] }],
    });
    await world.store.create(K.pvc, newClaim('data', '1Gi', { className: 'zonal' }));
    await world.store.create(K.pod, podWithClaims('app', ['data']));

    const running = await eventually('pod Running', async () => {
      const p = await world.store.get<Pod>(K.pod, 'default', 'app');
      return p.status?.phase === 'Running' ? p : undefined;
    });
    assert.equal(running.spec.nodeName, 'node-2');
    const claim = await world.claim('data');
    const volume = await world.volume(claim?.spec.volumeName ?? '');
    assert.deepEqual(volume?.spec.nodeAffinity?.required, {
      nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: 'In', values: ['z2'] }] }],
    });
    const request = world.driver.driver.callsOf('CreateVolume')[0]?.request as CreateVolumeRequest;
    assert.deepEqual(request.accessibility_requirements?.preferred[0], { segments: { [ZONE]: 'z2' } });
  });
});
