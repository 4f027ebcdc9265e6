// Failover of the control plane as real processes: two `berth apiserver` replicas on one etcd, two
// `berth controller-manager` candidates; static PV/claim pairs are created while the leader binds,
// the leader is SIGKILLed mid-run, then one API server; every claim still ends Bound, each PV to
// exactly one claim, and the Lease changed holder. Prints the failover time (kill → first new bind).
// Scaled down from the 500 pairs + 100 dynamic claims (no node agents: see the report).
import assert from 'node:assert/strict';
import { K } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../../src/api/types.js';
import type { RestStore } from '../../src/machinery/rest-store.js';
import { waitForOutput } from '../helpers/berth-process.js';
import { ControlPlane, leaseHolder, type Candidate } from '../helpers/control-plane.js';
import { etcdUnavailable, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { eventually } from '../helpers/eventually.js';
import { skipUnless } from '../helpers/skip.js';

const PAIRS = 100;

function pv(i: number): KubeObject {
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

function pvc(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `claim-${i}`, namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: '',
      resources: { requests: { storage: '1Gi' } },
    },
  };
}

async function boundClaims(store: RestStore): Promise<KubeObject[]> {
  const claims = await store.list(K.pvc, { namespace: 'default' });
  return claims.items.filter((c) => (c as { status?: { phase?: string } }).status?.phase === 'Bound');
}

describe('controller-manager failover (processes, real etcd)', function () {
  this.timeout(600_000);
  let etcd: EtcdServer | undefined;
  let plane: ControlPlane | undefined;
  let store: RestStore | undefined;

  before(async function () {
    const why = etcdUnavailable();
    skipUnless(this, why === undefined, why ?? '');
    etcd = await startEtcd();
    plane = new ControlPlane(etcd.endpoint);
  });
  after(async function () {
    await store?.close();
    await plane?.stop();
    await etcd?.stop();
  });

  it('binds every pair exactly once across a leader kill and an API server kill', async function () {
    const a = await plane!.apiserver();
    const b = await plane!.apiserver();
    const masters = `--master=${a.url},${b.url}`;
    store = await plane!.store(a.kubeconfig, [b.url, a.url]);
    const candidates: Candidate[] = [
      await plane!.controllerManager([`--kubeconfig=${a.kubeconfig}`, masters]),
      await plane!.controllerManager([`--kubeconfig=${a.kubeconfig}`, masters]),
    ];
    const holder = await eventually(
      'a leader',
      async () => (await leaseHolder(store!))?.spec.holderIdentity,
      120_000,
    );
    const leader = candidates.find((c) => c.identity === holder)!;
    const standby = candidates.find((c) => c !== leader)!;
    await waitForOutput(leader.proc, /became leader/, 60_000);

    for (let i = 0; i < PAIRS; i++) await store.create(K.pv, pv(i));
    for (let i = 0; i < PAIRS / 2; i++) await store.create(K.pvc, pvc(i));
    await eventually(
      'some binds by the first leader',
      async () => (await boundClaims(store!)).length >= 5,
      120_000,
    );

    const boundBefore = (await boundClaims(store)).length;
    leader.proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    for (let i = PAIRS / 2; i < PAIRS; i++) await store.create(K.pvc, pvc(i));
    // only the new leader can bind a claim created after the kill
    const lateNames = new Set(Array.from({ length: PAIRS / 2 }, (_, k) => `claim-${PAIRS / 2 + k}`));
    await eventually(
      'a bind by the new leader',
      async () => (await boundClaims(store!)).some((c) => lateNames.has(c.metadata.name ?? '')),
      180_000,
    );
    const firstNewBindMs = Date.now() - killedAt;

    a.proc.child.kill('SIGKILL'); // the API server listed first: everyone moves to the other
    await eventually('every claim Bound', async () => (await boundClaims(store!)).length === PAIRS, 300_000);

    const claims = (await store.list<PersistentVolumeClaim>(K.pvc, { namespace: 'default' })).items;
    const volumes = (await store.list<PersistentVolume>(K.pv)).items;
    const volumeOf = new Map(claims.map((c) => [c.metadata.name, c.spec.volumeName]));
    assert.equal(new Set(volumeOf.values()).size, PAIRS, 'no PV is the volume of two claims');
    for (const volume of volumes) {
      const ref = volume.spec.claimRef;
      assert.ok(ref, `${volume.metadata.name} is bound`);
      assert.equal(
        volumeOf.get(ref.name),
        volume.metadata.name,
        `${volume.metadata.name} and its claim agree`,
      );
      assert.equal(claims.find((c) => c.metadata.name === ref.name)?.metadata.uid, ref.uid);
    }
    assert.ok(boundBefore < PAIRS / 2 + 1);
    const lease = await leaseHolder(store);
    assert.equal(lease?.spec.holderIdentity, standby.identity);
    assert.ok((lease?.spec.leaseTransitions ?? 0) >= 1);
    console.log(
      `      failover: leader SIGKILLed -> first bind by the new leader after ${firstNewBindMs} ms (${PAIRS} pairs)`,
    );
  });
});
