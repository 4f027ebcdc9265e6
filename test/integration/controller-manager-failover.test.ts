// Failover of a scale-out berth as real processes: two `berth apiserver` replicas on one etcd, two
// `berth controller-manager` candidates and two `berth node` agents, each node with its own root
// directory and only a kubeconfig and the replicas' URLs (as on its own host). 500 static PV/claim
// pairs and 100 WaitForFirstConsumer claims of the built-in local driver, each used by a pod pinned
// to one of the two nodes, are created while the leader works; the leader is SIGKILLed mid-run,
// then one API server. Every claim ends Bound and every pod Running; each PV is bound to exactly
// one claim; the local driver made exactly one backing file per dynamic claim, on the pod's node
// (no double provisioning, no orphan); the Lease changed holder. Then everything is deleted and
// nothing is left: no PV, no backing file, no loop device, no mount. Prints the failover time
// (leader kill -> first bind by the new leader).
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { PersistentVolume, PersistentVolumeClaim, Pod } from '../../src/api/types.js';
import type { RestStore } from '../../src/machinery/rest-store.js';
import { loopsUnder, mountsUnder, realDiskUnavailable } from '../conformance/host.js';
import { waitForOutput } from '../helpers/berth-process.js';
import { ControlPlane, leaseHolder, type NodeProcess } from '../helpers/control-plane.js';
import { etcdUnavailable, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { eventuallyWithin } from '../helpers/eventually.js';
import { skipUnless } from '../helpers/skip.js';

const STATIC = 500;
const DYNAMIC = 100;
const CLASS = 'local-wffc';
const LOCAL_DRIVER = 'local.csi.berth.io';
const NODES = ['node-a', 'node-b'];
// a list of 600 claims is no small read: poll it calmly, not every 25 ms
const eventually = eventuallyWithin(300_000, 250);

function staticVolume(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `pv-${i}` },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: '',
      hostPath: { path: `/tmp/berth-failover-${i}` },
    },
  };
}

function claim(name: string, storageClassName: string, storage: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage } } },
  };
}

const nodeOfPod = (i: number): string => NODES[i % NODES.length]!;

function pod(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `app-${i}`, namespace: 'default' },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': nodeOfPod(i) },
      containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'd', mountPath: '/d' }] }],
      volumes: [{ name: 'd', persistentVolumeClaim: { claimName: `dyn-${i}` } }],
    },
  };
}

/** Creates objects a few at a time (as many clients would), in order of `indexes`. */
async function createAll(store: RestStore, indexes: number[], make: (i: number) => Promise<unknown>) {
  for (let at = 0; at < indexes.length; at += 10) await Promise.all(indexes.slice(at, at + 10).map(make));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);

const phase = (o: KubeObject): string | undefined => (o as { status?: { phase?: string } }).status?.phase;

async function claims(store: RestStore): Promise<PersistentVolumeClaim[]> {
  return (await store.list<PersistentVolumeClaim>(K.pvc, { namespace: 'default' })).items;
}

/** The local driver's backing files on a node: `<root>/local-volumes/<key>.img`. */
async function backingFiles(node: NodeProcess): Promise<string[]> {
  const dir = join(node.rootDir, 'local-volumes');
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.img')).map((n) => `${node.name}/${n.slice(0, -'.img'.length)}`);
}

describe('controller-manager failover (processes, real etcd, two nodes)', function () {
  this.timeout(900_000);
  let etcd: EtcdServer | undefined;
  let plane: ControlPlane | undefined;
  let store: RestStore | undefined;

  before(async function () {
    const why = etcdUnavailable() ?? realDiskUnavailable();
    skipUnless(this, why === undefined, why ?? '');
    etcd = await startEtcd();
    plane = new ControlPlane(etcd.endpoint);
  });
  after(async function () {
    await store?.close();
    await plane?.stop();
    await etcd?.stop();
  });

  it('binds and runs everything exactly once across a leader kill and an API server kill', async function () {
    const startedAt = Date.now();
    const a = await plane!.apiserver();
    const b = await plane!.apiserver();
    const masters = `--master=${a.url},${b.url}`;
    store = await plane!.store(a.kubeconfig, [b.url, a.url]);
    const [candidates, nodes] = await Promise.all([
      Promise.all([1, 2].map(() => plane!.controllerManager([`--kubeconfig=${a.kubeconfig}`, masters]))),
      Promise.all(NODES.map((name) => plane!.node(name, [`--kubeconfig=${a.kubeconfig}`, masters]))),
    ]);
    const holder = await eventually(
      'a leader',
      async () => (await leaseHolder(store!))?.spec.holderIdentity,
      120_000,
    );
    const leader = candidates.find((c) => c.identity === holder)!;
    const standby = candidates.find((c) => c !== leader)!;
    await waitForOutput(leader.proc, /became leader/, 60_000);
    const upMs = Date.now() - startedAt;

    await store.create(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: CLASS },
      provisioner: LOCAL_DRIVER,
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    const s = store;
    await createAll(s, range(0, STATIC), (i) => s.create(K.pv, staticVolume(i)));
    const workload = (indexes: number[], dynamic: number[]) =>
      Promise.all([
        createAll(s, indexes, (i) => s.create(K.pvc, claim(`claim-${i}`, '', '1Gi'))),
        createAll(s, dynamic, async (i) => {
          await s.create(K.pvc, claim(`dyn-${i}`, CLASS, '16Mi'));
          await s.create(K.pod, pod(i));
        }),
      ]);
    await workload(range(0, STATIC / 2), range(0, DYNAMIC / 2));
    await eventually(
      'some binds by the first leader',
      async () => (await claims(s)).filter((c) => phase(c) === 'Bound').length >= 5,
      120_000,
    );

    const boundBefore = (await claims(s)).filter((c) => phase(c) === 'Bound').length;
    leader.proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    const newLeaderMs = waitForOutput(standby.proc, /became leader/, 180_000).then(
      () => Date.now() - killedAt,
    );
    // the first claim Bound that was not Bound 2 s after the kill is the new leader's: what the
    // dead leader had in flight has landed by then, and its lease runs 15 s
    const firstNewBind = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const boundEarlier = new Set(
        (await claims(s)).filter((c) => phase(c) === 'Bound').map((c) => c.metadata.name),
      );
      await eventually(
        'a bind by the new leader',
        async () => (await claims(s)).some((c) => phase(c) === 'Bound' && !boundEarlier.has(c.metadata.name)),
        180_000,
      );
      return Date.now() - killedAt;
    })();
    await workload(range(STATIC / 2, STATIC), range(DYNAMIC / 2, DYNAMIC));
    const failoverMs = await firstNewBind;
    // printed at once, so a later failure still shows it
    console.log(
      `      FAILOVER TIME (leader SIGKILL -> first bind by the new leader): ${failoverMs} ms ` +
        `(standby leading after ${await newLeaderMs} ms)`,
    );
    assert.ok((await newLeaderMs) <= failoverMs, 'the first new bind came after the standby took over');

    a.proc.child.kill('SIGKILL'); // everyone moves to the other replica
    await eventually(
      'every claim Bound',
      async () => (await claims(s)).filter((c) => phase(c) === 'Bound').length === STATIC + DYNAMIC,
      300_000,
    ).catch(async (err: Error) => {
      const unbound = (await claims(s)).filter((c) => phase(c) !== 'Bound');
      const events = (await s.list(K.event, { namespace: 'default' })).items.slice(-10);
      throw new Error(
        `${err.message}: ${unbound.length} not Bound, e.g. ${JSON.stringify(unbound.slice(0, 3))}\n` +
          `last events: ${JSON.stringify(events)}\n` +
          `new leader: ${standby.proc.stderr().slice(-3000)}\n` +
          nodes.map((n) => n.proc.stderr().slice(-2000)).join('\n'),
      );
    });
    const allBoundMs = Date.now() - startedAt;
    await eventually(
      'every pod Running',
      async () =>
        (await s.list<Pod>(K.pod, { namespace: 'default' })).items.filter((p) => phase(p) === 'Running')
          .length === DYNAMIC,
      300_000,
    );
    const allRunningMs = Date.now() - startedAt;

    // each PV bound to exactly one claim, and the claim to it
    const all = await claims(s);
    const volumes = (await s.list<PersistentVolume>(K.pv)).items;
    assert.equal(volumes.length, STATIC + DYNAMIC, 'one PV per claim, no extra');
    const volumeOf = new Map(all.map((c) => [c.metadata.name, c.spec.volumeName]));
    assert.equal(new Set(volumeOf.values()).size, STATIC + DYNAMIC, 'no PV is the volume of two claims');
    for (const volume of volumes) {
      const ref = volume.spec.claimRef;
      assert.ok(ref, `${volume.metadata.name} is bound`);
      assert.equal(
        volumeOf.get(ref.name),
        volume.metadata.name,
        `${volume.metadata.name} and its claim agree`,
      );
      assert.equal(all.find((c) => c.metadata.name === ref.name)?.metadata.uid, ref.uid);
    }
    // the driver made one backing file per dynamic claim, on the node its pod runs on
    const dynamicVolumes = volumes.filter((v) => v.spec.csi?.driver === LOCAL_DRIVER);
    assert.equal(dynamicVolumes.length, DYNAMIC);
    const handles = dynamicVolumes.map((v) => v.spec.csi!.volumeHandle).sort();
    const files = (await Promise.all(nodes.map(backingFiles))).flat().sort();
    assert.deepEqual(files, handles, 'backing files = PV handles: no double provisioning, no orphan');
    const pods = (await s.list<Pod>(K.pod, { namespace: 'default' })).items;
    for (const p of pods) {
      const i = Number(p.metadata.name!.slice('app-'.length));
      assert.equal(p.spec.nodeName, nodeOfPod(i));
      const handle = volumes.find((v) => v.metadata.name === volumeOf.get(`dyn-${i}`))?.spec.csi
        ?.volumeHandle;
      assert.ok(
        handle?.startsWith(`${nodeOfPod(i)}/`),
        `dyn-${i} was provisioned on its pod's node: ${handle}`,
      );
    }
    for (const node of nodes) assert.ok(loopsUnder(node.rootDir).length > 0, `${node.name} stages volumes`);
    assert.ok(boundBefore < STATIC + DYNAMIC);
    const lease = await leaseHolder(s);
    assert.equal(lease?.spec.holderIdentity, standby.identity);
    assert.ok((lease?.spec.leaseTransitions ?? 0) >= 1);

    // everything deleted: nothing left on the nodes
    const cleanupAt = Date.now();
    // all at once: the protection finalizers order it (a claim goes after its pod, a PV after its claim)
    await Promise.all([
      createAll(s, range(0, DYNAMIC), (i) => s.delete(K.pod, 'default', `app-${i}`)),
      createAll(s, range(0, DYNAMIC), (i) => s.delete(K.pvc, 'default', `dyn-${i}`)),
      createAll(s, range(0, STATIC), (i) => s.delete(K.pvc, 'default', `claim-${i}`)),
      createAll(s, range(0, STATIC), (i) => s.delete(K.pv, undefined, `pv-${i}`)),
    ]);
    await eventually(
      'pods and claims gone',
      async () =>
        (await s.list(K.pod, { namespace: 'default' })).items.length + (await claims(s)).length === 0,
    );
    await eventually('PVs gone', async () => (await s.list(K.pv)).items.length === 0, 300_000);
    for (const node of nodes) {
      assert.deepEqual(await backingFiles(node), [], `${node.name}: no backing file left`);
      assert.deepEqual(loopsUnder(node.rootDir), [], `${node.name}: no loop device left`);
      assert.deepEqual(mountsUnder(node.rootDir), [], `${node.name}: no mount left`);
    }
    for (const node of nodes) {
      node.proc.child.kill('SIGTERM');
      assert.equal(await node.proc.exited, 0, `${node.name} stops cleanly`);
    }
    console.log(
      `      failover time (leader SIGKILL -> first new bind) ${failoverMs} ms, ` +
        `standby leading after ${await newLeaderMs} ms; ` +
        `after start: processes up ${upMs} ms, ${STATIC + DYNAMIC} claims Bound ${allBoundMs} ms, ` +
        `${DYNAMIC} pods Running ${allRunningMs} ms; cleanup ${Date.now() - cleanupAt} ms`,
    );
  });
});
