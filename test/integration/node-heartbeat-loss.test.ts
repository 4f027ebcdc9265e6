// A node agent that dies, as real processes: a real etcd, `berth apiserver`, `berth
// controller-manager` (--node-monitor-grace-period=30s, --attach-detach-reconcile-max-wait-for-
// unmount-duration=10s) and two `berth node` agents. A pod on node-a uses an attachable volume (the
// mock CSI driver as its own process: ControllerPublish through the controller-manager's attacher,
// its state kept in a file) and a local volume of the built-in driver (a real loop device and
// mounts); another pod there uses a second attachable volume. node-a's agent is SIGKILLed; then,
// as Kubernetes does:
// - its Lease stops renewing; after the grace period the Node is Ready=Unknown (NodeStatusUnknown,
//   "Kubelet stopped posting node status.") with the node.kubernetes.io/unreachable NoSchedule and
//   NoExecute taints; node-b stays Ready;
// - the pod, tolerating unreachable for 5 s, is deleted by the taint eviction controller; it stays
//   Terminating and its volume stays attached: its containers were last reported running, so it
//   is not terminated and stays in the attach/detach controller's desired state;
// - force-deleted (grace period 0, as `kubectl delete --force --grace-period=0`), the pod leaves the
//   desired state; the node still reports the volume in use and is not healthy, so the volume is
//   detached after the max wait for unmount, not before (ControllerUnpublish reaches the driver);
// - a second pod, evicted alike, keeps its volume attached meanwhile; once node-a gets the
//   node.kubernetes.io/out-of-service taint (non-graceful node shutdown), the pod is marked Failed
//   and force-deleted (Kubernetes' pod garbage collector) and its volume is detached at once;
// - node-a's agent restarted on the same root directory: the Node is Ready again without taints,
//   the Lease renews, the dead pod's stale mounts are torn down (NodeUnpublish, NodeUnstage, loop
//   device detached), and a new pod on the same claims is attached and mounted exactly once.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { K } from '../../src/api/kinds.js';
import type {
  Lease,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Toleration,
  VolumeAttachment,
} from '../../src/api/types.js';
import { uniqueVolumeName } from '../../src/attach-detach/names.js';
import { parseMountInfo } from '../../src/host/mountinfo.js';
import type { RestStore } from '../../src/machinery/rest-store.js';
import {
  nodeTaints,
  readyCondition,
  TAINT_OUT_OF_SERVICE,
  TAINT_UNREACHABLE,
  type Taint,
} from '../../src/volume/node-health.js';
import { loopsUnder, mountsUnder, realDiskUnavailable } from '../conformance/host.js';
import { spawnBerth, waitForOutput, type Spawned } from '../helpers/berth-process.js';
import { ControlPlane, type NodeProcess } from '../helpers/control-plane.js';
import { etcdUnavailable, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { eventuallyWithin } from '../helpers/eventually.js';
import { skipUnless } from '../helpers/skip.js';
import { startTsx, stopProcess, type TsxProcess } from '../helpers/tsx-process.js';

const MOCK = 'attach.csi.example.com';
const LOCAL_DRIVER = 'local.csi.berth.io';
// longer than the agents' 10 s Lease renewal, with room for a loaded machine
const GRACE_MS = 30_000;
const MAX_WAIT_MS = 10_000;
const TOLERATION_SECONDS = 5;
// generous: seven other test runs share this machine's two cores
const START_MS = 240_000;
const eventually = eventuallyWithin(180_000, 200);

/** What the mock driver keeps in its --state-file. */
interface MockState {
  volumes: { id: string; publishedNodes: string[] }[];
  staged: Record<string, string>;
  published: Record<string, string>;
}

function claim(name: string, storageClassName: string): PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: { storageClassName, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '16Mi' } } },
  };
}

/** A pod on node-a using `claims` (a volume named after each). */
function pod(name: string, claims: string[], tolerations?: Toleration[]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': 'node-a' },
      containers: [
        { name: 'app', image: 'busybox', volumeMounts: claims.map((c) => ({ name: c, mountPath: `/${c}` })) },
      ],
      volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })),
      ...(tolerations ? { tolerations } : {}),
    },
  };
}

const APP_CLAIMS = ['attached-data', 'local-data'];

/** Polls `fn` like `eventually`, failing at once when `invariant` (checked on every poll) throws. */
async function holding<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  invariant: () => Promise<void>,
  timeoutMs = 180_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await invariant();
    const value = await fn().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const isGone = (err: unknown): boolean => isStatusError(err, 'NotFound');

describe('a node agent that dies: heartbeat, NotReady, eviction, detach, return (processes, real etcd)', function () {
  this.timeout(900_000);
  let etcd: EtcdServer | undefined;
  let plane: ControlPlane | undefined;
  let store: RestStore | undefined;
  let mock: TsxProcess | undefined;
  let dir: string | undefined;
  let stateFile: string;
  let socket: string;
  let kubeconfig: string;
  let manager: Spawned;
  let nodeA: NodeProcess;
  let nodeB: NodeProcess;
  /** app's attachable volume: its VolumeAttachment and volume handle; and the fenced pod's. */
  let attachment: string;
  let handle: string;
  let fencedAttachment: string;
  let fencedHandle: string;
  let killedAt: number;
  let lastRenew: string | undefined;

  const mockState = async (): Promise<MockState> =>
    JSON.parse(await readFile(stateFile, 'utf8')) as MockState;
  const node = (name: string) => store!.get<Node>(K.node, undefined, name);
  const lease = (name: string) => store!.get<Lease>(K.lease, 'kube-node-lease', name);
  const attachments = async () =>
    (await store!.list<VolumeAttachment>(K.va)).items.filter((va) => va.spec.nodeName === 'node-a');
  /** The VolumeAttachment still exists, attached and not being deleted. */
  const attachedNow = async (name: string): Promise<void> => {
    const va = await store!.get<VolumeAttachment>(K.va, undefined, name);
    assert.equal(va.status?.attached, true, `${name} attached`);
    assert.equal(va.metadata.deletionTimestamp, undefined, `${name} not being detached`);
  };
  const stillAttached = async (): Promise<void> => {
    await attachedNow(attachment);
    await attachedNow(fencedAttachment);
  };
  /** The VolumeAttachment `name` is being deleted or gone. */
  const detaching = (name: string): Promise<boolean> =>
    store!.get<VolumeAttachment>(K.va, undefined, name).then(
      (va) => va.metadata.deletionTimestamp !== undefined,
      (err: unknown) => isGone(err),
    );
  /** The driver's ControllerUnpublish ran and the VolumeAttachment is gone. */
  const detached = async (name: string, volumeHandle: string): Promise<void> => {
    await eventually('ControllerUnpublish reached the driver', async () => {
      const v = (await mockState()).volumes.find((x) => x.id === volumeHandle);
      return v?.publishedNodes.length === 0;
    });
    await eventually(`${name} gone`, async () => store!.get(K.va, undefined, name).then(() => false, isGone));
  };
  const volumeHandleOf = async (claimName: string): Promise<string> => {
    const c = await store!.get<PersistentVolumeClaim>(K.pvc, 'default', claimName);
    return (await store!.get<PersistentVolume>(K.pv, undefined, c.spec.volumeName ?? '')).spec.csi!
      .volumeHandle;
  };
  const attachmentOf = async (volumeHandle: string): Promise<VolumeAttachment | undefined> => {
    const pvName = (await store!.list<PersistentVolume>(K.pv)).items.find(
      (v) => v.spec.csi?.volumeHandle === volumeHandle,
    )?.metadata.name;
    return (await attachments()).find((va) => va.spec.source.persistentVolumeName === pvName);
  };
  const outputs = (): string =>
    (plane?.procs ?? [])
      .map(
        (p) =>
          `--- ${p.child.spawnargs.slice(3, 5).join(' ')}\n${p.stdout().slice(-3000)}${p.stderr().slice(-5000)}`,
      )
      .join('\n');
  const startNode = (rootDir: string): Spawned => {
    const proc = spawnBerth([
      'node',
      '--node-name=node-a',
      `--root-dir=${rootDir}`,
      `--kubeconfig=${kubeconfig}`,
      '--csi-driver',
      `${MOCK}=${socket}`,
    ]);
    plane!.procs.push(proc);
    return proc;
  };

  before(async function () {
    const why = etcdUnavailable() ?? realDiskUnavailable();
    skipUnless(this, why === undefined, why ?? '');
    dir = await mkdtemp(join(tmpdir(), 'berth-dead-node-'));
    socket = join(dir, 'mock.sock');
    stateFile = join(dir, 'mock-state.json');
    mock = startTsx([
      'test/mock-driver/main.ts',
      '--endpoint',
      `unix://${socket}`,
      '--node-id',
      'csi-node-a',
      '--name',
      MOCK,
      '--state-file',
      stateFile,
    ]);
    await eventually('mock driver ready', async () => mock!.output().includes('ready'), START_MS);
    etcd = await startEtcd();
    plane = new ControlPlane(etcd.endpoint);
    const api = await plane.apiserver(START_MS);
    kubeconfig = api.kubeconfig;
    store = await plane.store(kubeconfig, [api.url]);
    const cm = await plane.controllerManager(
      [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        `--node-monitor-grace-period=${GRACE_MS / 1000}s`,
        `--attach-detach-reconcile-max-wait-for-unmount-duration=${MAX_WAIT_MS / 1000}s`,
        '--csi-driver',
        `${MOCK}=${socket}`,
      ],
      START_MS,
    );
    manager = cm.proc;
    await waitForOutput(manager, /controllers started/, START_MS);
    [nodeA, nodeB] = await Promise.all([
      plane.node('node-a', [`--kubeconfig=${kubeconfig}`, '--csi-driver', `${MOCK}=${socket}`], START_MS),
      plane.node('node-b', [`--kubeconfig=${kubeconfig}`], START_MS),
    ]);
  });

  after(async function () {
    await store?.close();
    await plane?.stop(); // SIGKILL by PID, then sweeps mounts and loop devices under each root
    await stopProcess(mock);
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a pod on node-a with an attached volume and a mounted local volume', async function () {
    await store!.create(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'attachable' },
      provisioner: MOCK,
    });
    await store!.create(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-wffc' },
      provisioner: LOCAL_DRIVER,
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    await store!.create(K.pvc, claim('attached-data', 'attachable'));
    await store!.create(K.pvc, claim('local-data', 'local-wffc'));
    await store!.create(K.pvc, claim('fenced-data', 'attachable'));
    const unreachable = { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: TOLERATION_SECONDS };
    const tolerations = [
      { key: TAINT_UNREACHABLE, ...unreachable },
      { key: 'node.kubernetes.io/not-ready', ...unreachable },
    ] as Toleration[];
    await store!.create(K.pod, pod('app', APP_CLAIMS, tolerations));
    await store!.create(K.pod, pod('fenced', ['fenced-data'], tolerations));
    for (const name of ['app', 'fenced']) {
      await eventually(`pod ${name} Running`, async () => {
        const p = await store!.get<Pod>(K.pod, 'default', name);
        return p.status?.phase === 'Running';
      }).catch((err: Error) => {
        throw new Error(`${err.message}\n${outputs()}`);
      });
    }
    handle = await volumeHandleOf('attached-data');
    fencedHandle = await volumeHandleOf('fenced-data');
    const vas = await attachments();
    assert.equal(vas.length, 2, 'a VolumeAttachment per attachable volume: the local driver needs none');
    assert.ok(vas.every((va) => va.status?.attached === true));
    attachment = (await attachmentOf(handle))!.metadata.name!;
    fencedAttachment = (await attachmentOf(fencedHandle))!.metadata.name!;
    const a = await node('node-a');
    for (const h of [handle, fencedHandle]) {
      assert.ok(a.status?.volumesInUse?.includes(uniqueVolumeName(MOCK, h)), 'node-a reports it in use');
    }
    const state = await mockState();
    assert.deepEqual(state.volumes.find((v) => v.id === handle)?.publishedNodes, ['csi-node-a']);
    assert.equal(Object.keys(state.published).length, 2);
    assert.equal(loopsUnder(nodeA.rootDir).length, 1, 'the local volume on a loop device');
    assert.ok(mountsUnder(nodeA.rootDir).length >= 2, 'staged and published');
  });

  it('stops renewing the Lease; after the grace period the Node is Ready=Unknown and unreachable', async function () {
    nodeA.proc.child.kill('SIGKILL');
    await nodeA.proc.exited;
    killedAt = Date.now();
    const a = await holding(
      'node-a Ready=Unknown',
      async () => {
        const n = await node('node-a');
        return readyCondition(n)?.status === 'Unknown' ? n : undefined;
      },
      stillAttached,
    );
    const ready = readyCondition(a)!;
    assert.equal(ready.reason, 'NodeStatusUnknown');
    assert.equal(ready.message, 'Kubelet stopped posting node status.');
    const l = await lease('node-a');
    lastRenew = l.spec.renewTime;
    const renewedAt = Date.parse(lastRenew ?? '');
    assert.ok(renewedAt <= killedAt, `no renewal after the kill (${lastRenew})`);
    // the transition time has whole seconds: up to 1 s earlier than the moment itself
    const markedAt = Date.parse(ready.lastTransitionTime ?? '');
    assert.ok(
      markedAt + 1000 >= renewedAt + GRACE_MS,
      `Unknown ${markedAt - renewedAt} ms after the last renewal, grace ${GRACE_MS} ms`,
    );
    const taints = await eventually('unreachable taints', async () => {
      const t = nodeTaints(await node('node-a')).filter((x) => x.key === TAINT_UNREACHABLE);
      return t.length === 2 ? t : undefined;
    });
    assert.deepEqual(taints.map((t) => t.effect).sort(), ['NoExecute', 'NoSchedule']);
    assert.ok(taints.find((t: Taint) => t.effect === 'NoExecute')?.timeAdded);
    const b = await node('node-b');
    assert.equal(readyCondition(b)?.status, 'True', 'node-b keeps heartbeating');
    assert.deepEqual(nodeTaints(b), []);
  });

  it('evicts the pods after their toleration; they stay Terminating and their volumes attached', async function () {
    const terminating = (name: string) => async () => {
      const p = await store!.get<Pod>(K.pod, 'default', name);
      return p.metadata.deletionTimestamp ? p : undefined;
    };
    const evicted = await holding(
      'pod app deleted by the taint eviction controller',
      terminating('app'),
      stillAttached,
    );
    await holding('pod fenced deleted too', terminating('fenced'), stillAttached);
    const evictedAt = Date.now();
    const condition = evicted.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
    assert.equal(condition?.reason, 'DeletionByTaintManager');
    const noExecute = nodeTaints(await node('node-a')).find(
      (t) => t.key === TAINT_UNREACHABLE && t.effect === 'NoExecute',
    );
    assert.ok(
      evictedAt + 1000 >= Date.parse(noExecute?.timeAdded ?? '') + TOLERATION_SECONDS * 1000,
      'not before the toleration ran out',
    );
    // its containers were last reported running: not terminated, so still wanted on node-a, for
    // longer than the max wait for unmount
    await holding(
      'the max wait for unmount and more to pass',
      async () => Date.now() > evictedAt + MAX_WAIT_MS + 3000,
      async () => {
        await stillAttached();
        for (const name of ['app', 'fenced']) {
          const p = await store!.get<Pod>(K.pod, 'default', name);
          assert.ok(p.metadata.deletionTimestamp, `${name} stays Terminating`);
        }
      },
    );
    assert.equal((await lease('node-a')).spec.renewTime, lastRenew, 'the Lease is not renewed');
  });

  it('force-deleted, the pod lets go: detached after the max wait for unmount, not before', async function () {
    await store!.delete(K.pod, 'default', 'app', { gracePeriodSeconds: 0 });
    const forcedAt = Date.now();
    await holding(
      'the VolumeAttachment deleted',
      () => detaching(attachment),
      async () => {
        if (Date.now() < forcedAt + MAX_WAIT_MS - 500) await attachedNow(attachment);
        await attachedNow(fencedAttachment); // its pod was not force-deleted
      },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${outputs()}`);
    });
    const detachedAt = Date.now();
    assert.ok(
      detachedAt - forcedAt >= MAX_WAIT_MS,
      `detached ${detachedAt - forcedAt} ms after the force delete`,
    );
    await detached(attachment, handle);
    assert.match(manager.stderr() + manager.stdout(), /max-wait-for-unmount/);
    await attachedNow(fencedAttachment);
    assert.equal((await lease('node-a')).spec.renewTime, lastRenew, 'the Lease is not renewed');
  });

  it('with the out-of-service taint, a pod stranded Terminating is failed, force-deleted and detached at once', async function () {
    const setOutOfService = (on: boolean) =>
      eventually('node-a out-of-service taint set', async () => {
        const n = await node('node-a');
        const others = nodeTaints(n).filter((t) => t.key !== TAINT_OUT_OF_SERVICE);
        const taints = on
          ? [...others, { key: TAINT_OUT_OF_SERVICE, value: 'nodeshutdown', effect: 'NoExecute' }]
          : others;
        await store!.update<Node>(K.node, { ...n, spec: { ...n.spec, taints } });
        return true;
      });
    await setOutOfService(true);
    await eventually('pod fenced failed and force-deleted', async () => {
      const p = await store!.get<Pod>(K.pod, 'default', 'fenced').catch(() => undefined);
      // gone, or held only by the node agent's finalizer for its mounts' teardown
      return p === undefined || (p.status?.phase === 'Failed' && p.metadata.deletionGracePeriodSeconds === 0);
    });
    await eventually('the fenced volume detached', () => detaching(fencedAttachment));
    await detached(fencedAttachment, fencedHandle);
    assert.match(manager.stderr() + manager.stdout(), /"reason":"out-of-service"/);
    // the administrator removes the taint once the node is known to be down or is back
    await setOutOfService(false);
  });

  it('restarted, node-a is Ready again and cleans up what the dead pod left, mounting nothing twice', async function () {
    const restarted = startNode(nodeA.rootDir);
    await waitForOutput(restarted, /root directory: /, START_MS);
    await eventually('node-a Ready=True without taints', async () => {
      const n = await node('node-a');
      return readyCondition(n)?.status === 'True' && !nodeTaints(n).some((t) => t.key === TAINT_UNREACHABLE);
    });
    await eventually('the Lease renewed', async () => (await lease('node-a')).spec.renewTime !== lastRenew);
    await eventually('the dead pod gone', async () =>
      Promise.all(
        ['app', 'fenced'].map((name) => store!.get(K.pod, 'default', name).then(() => false, isGone)),
      ).then((gone) => gone.every(Boolean)),
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${outputs()}`);
    });
    await eventually('nothing mounted on node-a', async () => {
      const state = await mockState();
      return (
        mountsUnder(nodeA.rootDir).length === 0 &&
        loopsUnder(nodeA.rootDir).length === 0 &&
        Object.keys(state.staged).length === 0 &&
        Object.keys(state.published).length === 0 &&
        ((await node('node-a')).status?.volumesInUse ?? []).length === 0
      );
    });
    assert.deepEqual(await attachments(), [], 'nothing attached again for a pod that is gone');

    await store!.create(K.pod, pod('app-again', APP_CLAIMS));
    await eventually('pod app-again Running', async () => {
      const p = await store!.get<Pod>(K.pod, 'default', 'app-again');
      return p.status?.phase === 'Running';
    });
    const vas = await attachments();
    assert.equal(vas.length, 1);
    assert.equal(vas[0]!.status?.attached, true);
    const state = await mockState();
    assert.equal(Object.keys(state.staged).length, 1, 'staged once');
    assert.equal(Object.keys(state.published).length, 1, 'published once');
    assert.equal(loopsUnder(nodeA.rootDir).length, 1, 'one loop device for the local volume');
    const points = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'))
      .map((m) => m.mountPoint)
      .filter((p) => p.startsWith(nodeA.rootDir + '/'));
    assert.equal(new Set(points).size, points.length, `no mount point mounted twice: ${points.join(' ')}`);

    // and down cleanly
    await store!.delete(K.pod, 'default', 'app-again');
    await eventually('pod app-again gone', async () =>
      store!.get(K.pod, 'default', 'app-again').then(() => false, isGone),
    );
    await eventually('detached again', async () => (await attachments()).length === 0);
    for (const name of [...APP_CLAIMS, 'fenced-data']) await store!.delete(K.pvc, 'default', name);
    await eventually('volumes deleted', async () => (await store!.list(K.pv)).items.length === 0);
    assert.deepEqual(mountsUnder(nodeA.rootDir), []);
    assert.deepEqual(loopsUnder(nodeA.rootDir), []);
    for (const proc of [restarted, nodeB.proc]) {
      proc.child.kill('SIGTERM');
      assert.equal(await proc.exited, 0, 'a node agent stops cleanly');
    }
  });
});
