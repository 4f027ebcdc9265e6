// The StatefulSet controller end to end: embedded store, the real PV controller, scheduler and
// StatefulSet controller, and stand-ins for the node agent and an external provisioner
// (test/unit/scheduler/sim.ts). Claims come from volumeClaimTemplates and are provisioned
// WaitForFirstConsumer on the node each pod is scheduled to.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { PersistentVolumeClaim, Pod, StatefulSet } from '../../src/api/types.js';
import { PvController } from '../../src/pv-controller/controller.js';
import { Scheduler } from '../../src/scheduler/controller.js';
import type { EmbeddedStore } from '../../src/store/embedded.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { GarbageCollector } from '../../src/store/gc.js';
import type { Watch } from '../../src/store/types.js';
import { StatefulSetController } from '../../src/workloads/controller.js';
import { newClass } from '../helpers/builders.js';
import { newNode } from '../unit/scheduler/fixtures.js';
import { ClusterSim, eventually } from '../unit/scheduler/sim.js';

const PROVISIONER = 'fast.csi.test';

function statefulSet(name: string, replicas: number, spec: Partial<StatefulSet['spec']> = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      serviceName: 'nginx',
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'nginx',
              image: 'nginx',
              volumeMounts: [{ name: 'www', mountPath: '/usr/share/nginx/html' }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'www' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...spec,
    },
  };
}

describe('statefulset controller (embedded store)', function () {
  let dir: string;
  let store: EmbeddedStore;
  let pv: PvController;
  let scheduler: Scheduler;
  let sets: StatefulSetController;
  let sim: ClusterSim;
  let podWatch: Watch;
  /** Pod watch events as "ADDED web-0", "RUNNING web-0", "DELETED web-2". */
  let podLog: string[];

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'berth-sts-'));
    store = await openEmbeddedStore({ dataDir: dir });
    await store.create(K.node, newNode('node-1'));
    await store.create(K.node, newNode('node-2'));
    // No storageClassName in the templates: the default class (WaitForFirstConsumer) applies.
    await store.create(
      K.sc,
      newClass('fast', { provisioner: PROVISIONER, bindingMode: 'WaitForFirstConsumer', isDefault: true }),
    );
    podLog = [];
    const running = new Set<string>();
    podWatch = await store.watch(K.pod, {}, (e) => {
      const p = e.object as Pod;
      const name = p.metadata.name ?? '';
      if (e.type === 'ADDED') podLog.push(`ADDED ${name}`);
      if (e.type === 'DELETED') {
        podLog.push(`DELETED ${name}`);
        running.delete(name);
      }
      if (e.type === 'MODIFIED' && p.status?.phase === 'Running' && !running.has(name)) {
        running.add(name);
        podLog.push(`RUNNING ${name}`);
      }
    });
    pv = new PvController({ store, resyncMs: 500 });
    scheduler = new Scheduler({ store });
    sets = new StatefulSetController({ store });
    sim = new ClusterSim({ store, provisioner: PROVISIONER });
    await pv.start();
    await scheduler.start();
    await sets.start();
    sim.start();
  });

  afterEach(async function () {
    podWatch.stop();
    await sim.stop();
    await sets.stop();
    await scheduler.stop();
    await pv.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const pods = async (): Promise<Pod[]> => (await store.list<Pod>(K.pod, { namespace: 'default' })).items;
  const claims = async (): Promise<PersistentVolumeClaim[]> =>
    (await store.list<PersistentVolumeClaim>(K.pvc, { namespace: 'default' })).items;
  const getSet = (name: string) => store.get<StatefulSet>(K.sts, 'default', name);
  const allRunning = (names: string[]) => async (): Promise<Pod[] | undefined> => {
    const list = await pods();
    const byName = new Map(list.map((p) => [p.metadata.name ?? '', p]));
    const ok = names.every((n) => byName.get(n)?.status?.phase === 'Running') && list.length === names.length;
    return ok ? list : undefined;
  };
  const boundClaims = async (): Promise<Map<string, string>> =>
    new Map(
      (await claims())
        .filter((c) => c.status?.phase === 'Bound')
        .map((c) => [c.metadata.name ?? '', c.spec.volumeName ?? '']),
    );
  const readyReplicas = (name: string, n: number) => async (): Promise<true | undefined> => {
    const s = await getSet(name);
    return s.status?.readyReplicas === n && s.status.replicas === n ? true : undefined;
  };

  it('web with 3 replicas: claims www-web-0..2 Bound, pods Running in order; scale to 1 and back reuses claims', async function () {
    await store.create(K.sts, statefulSet('web', 3));
    await eventually('3 pods Running', allRunning(['web-0', 'web-1', 'web-2']));
    const bound = await boundClaims();
    assert.deepEqual([...bound.keys()].sort(), ['www-web-0', 'www-web-1', 'www-web-2']);
    // OrderedReady: each pod is created only after the previous one runs.
    const order = podLog.filter((l) => l.startsWith('ADDED') || l.startsWith('RUNNING'));
    assert.deepEqual(order, [
      'ADDED web-0',
      'RUNNING web-0',
      'ADDED web-1',
      'RUNNING web-1',
      'ADDED web-2',
      'RUNNING web-2',
    ]);
    // Spread over both nodes; each claim's volume was provisioned on its pod's node.
    const placed = new Map((await pods()).map((p) => [p.metadata.name ?? '', p.spec.nodeName]));
    assert.deepEqual(new Set(placed.values()), new Set(['node-1', 'node-2']));
    for (const i of [0, 1, 2])
      assert.equal(sim.provisioned.get(bound.get(`www-web-${i}`) ?? ''), placed.get(`web-${i}`));
    await eventually('status ready 3', readyReplicas('web', 3));
    const claim0 = (await claims()).find((c) => c.metadata.name === 'www-web-0');
    assert.deepEqual(claim0?.metadata.labels, { app: 'web' });
    assert.equal(claim0?.metadata.ownerReferences, undefined);

    // Scale to 1: highest ordinal first; claims stay.
    await store.patch(K.sts, 'default', 'web', { spec: { replicas: 1 } });
    await eventually('only web-0', allRunning(['web-0']));
    const deletions = podLog.filter((l) => l.startsWith('DELETED'));
    assert.deepEqual(deletions, ['DELETED web-2', 'DELETED web-1']);
    assert.deepEqual(await boundClaims(), bound);
    await eventually('status ready 1', readyReplicas('web', 1));

    // Scale back: the same claims, so the same volumes (and their data), come back.
    await store.patch(K.sts, 'default', 'web', { spec: { replicas: 3 } });
    await eventually('3 pods Running again', allRunning(['web-0', 'web-1', 'web-2']));
    assert.deepEqual(await boundClaims(), bound);
    assert.equal(sim.provisioned.size, 3);
  });

  it('a deleted pod is recreated and gets its claim, and so its volume, back', async function () {
    await store.create(K.sts, statefulSet('web', 2, { podManagementPolicy: 'Parallel' }));
    await eventually('2 pods Running', allRunning(['web-0', 'web-1']));
    const before = await boundClaims();
    const old = await store.get<Pod>(K.pod, 'default', 'web-1');
    await store.delete(K.pod, 'default', 'web-1');
    const fresh = await eventually('web-1 recreated and Running', async () => {
      const p = await store.get<Pod>(K.pod, 'default', 'web-1').catch(() => undefined);
      return p && p.metadata.uid !== old.metadata.uid && p.status?.phase === 'Running' ? p : undefined;
    });
    assert.equal(
      fresh.spec.volumes?.find((v) => v.name === 'www')?.persistentVolumeClaim?.claimName,
      'www-web-1',
    );
    assert.deepEqual(await boundClaims(), before);
    // A pre-bound volume is pinned to its node, so the new pod lands where its data is.
    assert.equal(fresh.spec.nodeName, old.spec.nodeName);
  });

  it('deleting a set with whenDeleted: Delete removes its pods and claims', async function () {
    const gc = new GarbageCollector({ store, kinds: [K.sts, K.pod, K.pvc] });
    await store.create(
      K.sts,
      statefulSet('db', 2, {
        podManagementPolicy: 'Parallel',
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' },
      }),
    );
    await eventually('2 pods Running', allRunning(['db-0', 'db-1']));
    await store.delete(K.sts, 'default', 'db');
    await gc.collectOnce();
    await eventually('pods and claims gone', async () => {
      const [p, c] = await Promise.all([pods(), claims()]);
      return p.length === 0 && c.length === 0 ? true : undefined;
    });
  });

  it('whenScaled: Delete removes the claims of scaled-down ordinals', async function () {
    await store.create(
      K.sts,
      statefulSet('web', 2, {
        podManagementPolicy: 'Parallel',
        persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete' },
      }),
    );
    await eventually('2 pods Running', allRunning(['web-0', 'web-1']));
    await store.patch(K.sts, 'default', 'web', { spec: { replicas: 1 } });
    await eventually('www-web-1 gone', async () => {
      const names = (await claims()).map((c) => c.metadata.name);
      return names.length === 1 && names[0] === 'www-web-0' ? true : undefined;
    });
  });
});
