// The rights each sidecar is deployed with (deploy/kubernetes/rbac.yaml) against the calls its code
// makes: the provisioner, attacher, resizer and snapshotter run as cluster mode runs them
// (startSidecarProcess: leader election, shared informers, the sidecar module) over a store that
// records every call as an RBAC verb and resource, through a whole volume's life (with a snapshot,
// a restore and a clone) next to berth's PV controller, attach/detach controller and snapshot
// controller playing Kubernetes and the cluster's snapshot-controller. The provisioner publishes
// storage capacity (--enable-capacity) as the local driver's node pods do. Every call must be
// allowed, and every rule must be used (or be listed below with the reason this run does not reach it).
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AttachDetachController } from '../../src/attach-detach/controller.js';
import { K } from '../../src/api/kinds.js';
import type {
  CSINode,
  CSIStorageCapacity,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  VolumeAttachment,
} from '../../src/api/types.js';
import { status } from '../../src/csi/errors.js';
import { startSidecarProcess, type SidecarProcess } from '../../src/cli/sidecar.js';
import { SIDECAR_NAMES, type SidecarName } from '../../src/cli/sidecar-modules.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { PvController } from '../../src/pv-controller/controller.js';
import { SnapshotController } from '../../src/snapshot/index.js';
import type { VolumeSnapshot } from '../../src/api/snapshot-types.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { newClaim, newClass, newPod } from '../helpers/builders.js';
import { eventually } from '../helpers/eventually.js';
import { permission, recordingStore } from '../helpers/recording-store.js';
import { startMockDriver, type StartedMockDriver } from '../mock-driver/driver.js';

const driverName = 'mock.csi.berth.io';
const root = join(import.meta.dirname, '..', '..');
const NAMESPACE = 'kube-system';

/** Rules this run cannot reach, and why; anything else granted but unused is too wide. */
const UNEXERCISED: Record<SidecarName, Record<string, string>> = {
  provisioner: {
    'get /persistentvolumeclaims': 'a claim is read again only after a write conflict',
    'get /persistentvolumes': 'a volume is read again only after a write conflict',
    'patch /events': 'an Event seen again is counted up with a patch',
  },
  attacher: {
    'create /events': 'attach and detach failures only',
    'patch /events': 'attach and detach failures only, seen again',
  },
  resizer: {
    'patch /events': 'an Event seen again is counted up with a patch',
  },
  snapshotter: {
    'create /events': 'snapshot failures and deletions waiting for their VolumeSnapshot only',
    'patch /events': 'the same, seen again',
  },
};

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}
export interface RbacDoc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

/** Every "VERB GROUP/RESOURCE" the role `kind`/`name` grants. */
function rulesOf(docs: RbacDoc[], kind: string, name: string): Set<string> {
  const role = docs.find((d) => d.kind === kind && d.metadata.name === name);
  assert.ok(role, `deploy/kubernetes/rbac.yaml has no ${kind} ${name}`);
  const out = new Set<string>();
  for (const rule of role.rules ?? [])
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? [])
        for (const verb of rule.verbs ?? []) out.add(`${verb} ${group}/${resource}`);
  return out;
}

const isLease = (p: string) => p.endsWith(' coordination.k8s.io/leases');
const isCapacity = (p: string) => p.endsWith(' storage.k8s.io/csistoragecapacities');

describe('sidecar RBAC: what each sidecar calls is exactly what deploy/kubernetes grants it', function () {
  this.timeout(120_000);
  let dir: string;
  let store: EmbeddedStore;
  let mock: StartedMockDriver;
  const stops: Array<() => Promise<void>> = [];
  const sidecars: SidecarProcess[] = [];
  const seen = Object.fromEntries(SIDECAR_NAMES.map((n) => [n, new Set<string>()])) as Record<
    SidecarName,
    Set<string>
  >;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-rbac-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    mock = await startMockDriver({
      socketPath: join(dir, 'csi.sock'),
      name: driverName,
      nodeId: 'csi-n1',
      publishUnpublish: true,
      volumeExpansion: 'ONLINE',
      snapshots: true,
    });
  });

  after(async () => {
    for (const running of sidecars) await running.stop();
    for (const stop of stops.reverse()) await stop();
    await mock?.shutdown();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a volume through provision, snapshot, restore, clone, attach, expand, detach and delete, recording each sidecar', async () => {
    // Kubernetes' part, and the cluster's snapshot-controller
    const pv = new PvController({ store, log: silentLogger });
    const ad = new AttachDetachController({ store, log: silentLogger });
    const snapshots = new SnapshotController({
      store,
      log: silentLogger,
      recorder: { event: () => undefined },
    });
    for (const c of [pv, ad, snapshots]) {
      await c.start();
      stops.push(() => c.stop());
    }
    await store.create<Node>(K.node, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } },
      status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' } },
    });
    // the kubelet's registration of the driver on the node
    await store.create<CSINode>(K.csinode, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSINode',
      metadata: { name: 'n1' },
      spec: { drivers: [{ name: driverName, nodeID: 'csi-n1' }] },
    });
    await store.create(K.secret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'mock-secret', namespace: 'default' },
      stringData: { key: 'value' },
    });
    const secretParams: Record<string, string> = {};
    for (const step of ['provisioner', 'controller-publish', 'controller-expand']) {
      secretParams[`csi.storage.k8s.io/${step}-secret-name`] = 'mock-secret';
      secretParams[`csi.storage.k8s.io/${step}-secret-namespace`] = 'default';
    }
    await store.create(K.sc, {
      ...newClass('mock', { provisioner: driverName }),
      allowVolumeExpansion: true,
      parameters: secretParams,
    });

    // the sidecars, as `berth sidecar NAME --leader-election` composes them
    for (const sidecar of SIDECAR_NAMES) {
      const running: SidecarProcess = await startSidecarProcess({
        sidecar,
        store: recordingStore(store, seen[sidecar]),
        csiAddress: mock.endpoint,
        tuning: {
          retryBaseMs: 100,
          retryMaxMs: 1000,
          ...(sidecar === 'provisioner'
            ? { enableCapacity: true, capacityNamespace: NAMESPACE, capacityPollIntervalMs: 100 }
            : {}),
        },
        logger: silentLogger,
        leaderElection: { namespace: NAMESPACE, identity: `${sidecar}-1` },
      });
      sidecars.push(running);
    }

    const capacity = async () => (await store.list<CSIStorageCapacity>(K.csicapacity)).items;
    const published = await eventually('the class capacity published', async () => {
      const items = await capacity();
      return items.length === 1 ? items[0] : undefined;
    });
    assert.equal(published.metadata.namespace, NAMESPACE);
    // a fast clean provisioning records no Event: the first attempt fails, so the claim is told
    mock.driver.faults.push('CreateVolume', { kind: 'error', code: status.UNAVAILABLE, message: 'busy' });
    await store.create(K.pvc, newClaim('data', '1Gi', { className: 'mock' }));
    const bound = await eventually('the claim bound to a provisioned volume', async () => {
      const c = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'data');
      return c.status?.phase === 'Bound' ? c : undefined;
    });
    const volumeName = bound.spec.volumeName!;
    await eventually('the capacity updated after the volume took space', async () => {
      const items = await capacity();
      return items.length === 1 && items[0]!.capacity !== published.capacity;
    });
    // a snapshot of it, a restore from the snapshot and a clone of the claim
    await store.create(K.vsclass, {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: { name: 'mock-snaps' },
      driver: driverName,
      deletionPolicy: 'Delete',
      parameters: {
        'csi.storage.k8s.io/snapshotter-secret-name': 'mock-secret',
        'csi.storage.k8s.io/snapshotter-secret-namespace': 'default',
      },
    });
    await store.create(K.vs, {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'snap', namespace: 'default' },
      spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'mock-snaps' },
    });
    await eventually('the snapshot ready', async () => {
      const s = await store.get<VolumeSnapshot>(K.vs, 'default', 'snap');
      return s.status?.readyToUse === true;
    });
    const restore = newClaim('restored', '1Gi', { className: 'mock' });
    restore.spec['dataSource'] = {
      apiGroup: 'snapshot.storage.k8s.io',
      kind: 'VolumeSnapshot',
      name: 'snap',
    };
    const clone = newClaim('clone', '1Gi', { className: 'mock' });
    clone.spec['dataSource'] = { kind: 'PersistentVolumeClaim', name: 'data' };
    await store.create(K.pvc, restore);
    await store.create(K.pvc, clone);
    for (const name of ['restored', 'clone'])
      await eventually(`${name} bound`, async () => {
        const c = await store.get<PersistentVolumeClaim>(K.pvc, 'default', name);
        return c.status?.phase === 'Bound';
      });
    await store.delete(K.vs, 'default', 'snap');
    await eventually('the snapshot deleted', async () => mock.driver.snapshots().length === 0);
    for (const name of ['restored', 'clone']) await store.delete(K.pvc, 'default', name);
    await eventually('restore and clone deleted', async () => (await store.list(K.pv)).items.length === 1);
    await store.create(K.pod, newPod('app', ['data'], { nodeName: 'n1' }));
    await eventually('the volume attached', async () => {
      const vas = await store.list<VolumeAttachment>(K.va);
      return vas.items.some((va) => va.status?.attached === true);
    });
    await store.patch(K.pvc, 'default', 'data', { spec: { resources: { requests: { storage: '2Gi' } } } });
    await eventually('the volume grown', async () => {
      const v = await store.get<PersistentVolume>(K.pv, undefined, volumeName);
      return v.spec.capacity?.['storage'] === '2Gi';
    });
    await store.delete(K.pod, 'default', 'app');
    await eventually('the attachment gone', async () => (await store.list(K.va)).items.length === 0);
    await store.delete(K.pvc, 'default', 'data');
    await eventually('the volume deleted', async () => (await store.list(K.pv)).items.length === 0);
    assert.equal(mock.driver.callsOf('DeleteVolume').length >= 1, true);
    await store.delete(K.sc, undefined, 'mock');
    await eventually('the capacity withdrawn with its class', async () => (await capacity()).length === 0);
    // stopping releases each Lease: the last of the leader-election calls
    for (const running of sidecars.splice(0)) await running.stop();
  });

  async function rbacDocs(): Promise<RbacDoc[]> {
    const text = await readFile(join(root, 'deploy/kubernetes/rbac.yaml'), 'utf8');
    return parseAllDocuments(text).map((d) => d.toJSON() as RbacDoc);
  }

  for (const sidecar of SIDECAR_NAMES) {
    it(`${sidecar}: every call is in ClusterRole berth-csi-${sidecar}, every rule is used`, async () => {
      const rules = rulesOf(await rbacDocs(), 'ClusterRole', `berth-csi-${sidecar}`);
      const calls = [...seen[sidecar]].filter((c) => !isLease(c) && !isCapacity(c)).sort();
      assert.deepEqual(
        calls.filter((c) => !rules.has(c)),
        [],
        `${sidecar} calls what it is not granted`,
      );
      const unused = [...rules].filter((r) => !seen[sidecar].has(r) && !(r in UNEXERCISED[sidecar])).sort();
      assert.deepEqual(unused, [], `${sidecar} is granted more than it calls`);
    });
  }

  it('provisioner: the capacity calls are the Role berth-csi-provisioner-capacity', async () => {
    const rules = rulesOf(await rbacDocs(), 'Role', 'berth-csi-provisioner-capacity');
    const calls = [...seen.provisioner].filter(isCapacity).sort();
    assert.ok(calls.includes(permission('create', K.csicapacity)), 'the run published capacity');
    assert.deepEqual(calls, [...rules].sort());
  });

  it('leader election: the Lease calls of every sidecar are the Role berth-csi-leader-election', async () => {
    const rules = rulesOf(await rbacDocs(), 'Role', 'berth-csi-leader-election');
    const calls = new Set(SIDECAR_NAMES.flatMap((n) => [...seen[n]].filter(isLease)));
    assert.ok(calls.has(permission('get', K.lease)), 'the run went through leader election');
    assert.deepEqual([...calls].sort(), [...rules].sort());
  });
});
