// Static local and hostPath PersistentVolumes on the node agent, with real disks: sparse files on
// loop devices with ext4, mounted under a temp dir, real `mount --bind` into the pods' volume
// directories. The seed scenario runs two node agents (node-1, node-2) over one embedded store
// with the real PV controller; the scheduler's part (pick node-2, annotate the claim) is done here.
import assert from 'node:assert/strict';
import { open, mkdir, mkdtemp, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { K } from '../../src/api/kinds.js';
import type {
  Event,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from '../../src/api/types.js';
import { NodeAgent } from '../../src/node/agent.js';
import { NODE_VOLUMES_FINALIZER, VOLUME_PATHS_ANNOTATION } from '../../src/node/desired-state.js';
import { PvController } from '../../src/pv-controller/controller.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { isRoot, skipUnless } from '../helpers/skip.js';
import {
  loopDevicesUnder,
  makeLoopDisk,
  mountsUnder,
  releaseDisks,
  type LoopDisk,
} from '../unit/node/loop-disks.js';
import { eventuallyWithin } from '../helpers/eventually.js';

const eventually = eventuallyWithin(10_000);

function localPv(name: string, path: string, node: string, extra: Partial<PersistentVolume['spec']> = {}) {
  const pv: PersistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: '5Gi' },
      volumeMode: 'Filesystem',
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: 'local-storage',
      local: { path },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
          ],
        },
      },
      ...extra,
    },
  };
  return pv;
}

function claim(name: string, extra: Partial<PersistentVolumeClaim['spec']> = {}): PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '5Gi' } },
      storageClassName: 'local-storage',
      ...extra,
    },
  };
}

function pod(name: string, node: string, volumes: NonNullable<Pod['spec']['volumes']>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: node,
      volumes,
      containers: [{ name: 'c', image: 'nginx', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
    },
  };
}

describe('static local and hostPath volumes on the node agent (root)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EmbeddedStore;
  let pvController: PvController;
  const agents = new Map<string, NodeAgent>();
  const disks: LoopDisk[] = [];
  let loopsBefore: string[] = [];

  before(function () {
    skipUnless(this, isRoot, 'needs root for loop devices and mounts');
  });

  beforeEach(async function () {
    if (!isRoot) return;
    dir = await realpath(await mkdtemp(join(tmpdir(), 'berth-local-')));
    loopsBefore = await loopDevicesUnder(dir);
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    pvController = new PvController({ store, resyncMs: 500 });
    await pvController.start();
  });

  afterEach(async function () {
    if (!isRoot) return;
    for (const a of agents.values()) await a.stop();
    agents.clear();
    await pvController.stop();
    await store.close();
    const leftMounts = await mountsUnder(dir);
    await releaseDisks(dir, disks, loopsBefore);
    // disks are ours to unmount; anything else the agents left mounted is a bug
    const ours = leftMounts.filter((m) => !m.includes('/disks/'));
    assert.deepEqual(ours, [], 'the agents left bind mounts behind');
  });

  async function startAgent(node: string): Promise<NodeAgent> {
    const agent = new NodeAgent({
      store,
      nodeName: node,
      rootDir: join(dir, node, 'root'),
      heartbeatMs: 0,
      watchRegistry: false,
      resyncMs: 500,
      retryBaseMs: 100,
      retryMaxMs: 1000,
    });
    await agent.start();
    agents.set(node, agent);
    return agent;
  }

  async function disk(node: string, name: string): Promise<LoopDisk> {
    await mkdir(join(dir, node, 'disks'), { recursive: true });
    const d = await makeLoopDisk(join(dir, node, `${name}.img`), {
      mountPoint: join(dir, node, 'disks', name),
    });
    disks.push(d);
    return d;
  }

  const getPod = (name: string) => store.get<Pod>(K.pod, 'default', name);

  function runningPath(name: string, volume: string): Promise<string> {
    return eventually(`pod ${name} Running with a path for ${volume}`, async () => {
      const p = await getPod(name);
      const paths = JSON.parse(p.metadata.annotations?.[VOLUME_PATHS_ANNOTATION] ?? '{}') as Record<
        string,
        string
      >;
      return p.status?.phase === 'Running' ? paths[volume] : undefined;
    });
  }

  async function deletePod(name: string): Promise<void> {
    await store.delete(K.pod, 'default', name);
    await eventually(`pod ${name} gone`, async () => {
      try {
        await getPod(name);
        return false;
      } catch (err) {
        return isStatusError(err, 'NotFound');
      }
    });
  }

  async function events(reason: string): Promise<string[]> {
    const list = await store.list<Event>(K.event, { namespace: 'default' });
    return list.items.filter((e) => e.reason === reason).map((e) => e.message ?? '');
  }

  it('seed scenario: WFFC claim binds to node-2 local disk; data survives pod re-creation', async function () {
    const d1 = await disk('node-1', 'vol1');
    const d2 = await disk('node-2', 'vol1');
    await startAgent('node-1');
    await startAgent('node-2');
    await store.create<StorageClass>(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-storage' },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    await store.create(K.pv, localPv('example-pv', d1.mountPoint ?? '', 'node-1'));
    await store.create(K.pv, localPv('example-pv-2', d2.mountPoint ?? '', 'node-2'));
    await store.create(K.pvc, claim('example-local-claim'));

    // delayed binding: a matching volume exists, yet the claim waits for its first consumer
    await eventually('both PVs Available', async () => {
      const pvs = await store.list<PersistentVolume>(K.pv);
      return pvs.items.every((v) => v.status?.phase === 'Available');
    });
    await new Promise((r) => setTimeout(r, 700));
    const pending = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'example-local-claim');
    assert.equal(pending.status?.phase ?? 'Pending', 'Pending');
    assert.equal(pending.spec.volumeName, undefined);

    // the pod may only run on node-2; the scheduler's part: nodeName + selected-node
    const volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'example-local-claim' } }];
    await store.create(K.pod, pod('example-pv-pod', 'node-2', volumes));
    await store.patch(K.pvc, 'default', 'example-local-claim', {
      metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-2' } },
    });
    const bound = await eventually('claim Bound', async () => {
      const c = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'example-local-claim');
      return c.status?.phase === 'Bound' ? c : undefined;
    });
    assert.equal(bound.spec.volumeName, 'example-pv-2');

    const first = await getPod('example-pv-pod');
    const target = await runningPath('example-pv-pod', 'data');
    assert.equal(
      target,
      join(
        dir,
        'node-2',
        'root',
        'pods',
        first.metadata.uid ?? '',
        'volumes',
        'kubernetes.io~local-volume',
        'example-pv-2',
      ),
    );
    assert.deepEqual(first.metadata.finalizers, [NODE_VOLUMES_FINALIZER]);
    assert.ok((await mountsUnder(target)).includes(target), 'the pod volume is a mount point');
    await writeFile(join(target, 'index.html'), 'hello from node-2\n');
    assert.equal(await readFile(join(d2.mountPoint ?? '', 'index.html'), 'utf8'), 'hello from node-2\n');
    await assert.rejects(stat(join(d1.mountPoint ?? '', 'index.html')), /ENOENT/);

    await deletePod('example-pv-pod');
    assert.deepEqual(await mountsUnder(join(dir, 'node-2', 'root')), [], 'unmounted when the pod went');
    await assert.rejects(stat(target), /ENOENT/);

    await store.create(K.pod, pod('example-pv-pod', 'node-2', volumes));
    const again = await runningPath('example-pv-pod', 'data');
    assert.notEqual(again, target, 'a new pod UID, a new volume dir');
    assert.equal(await readFile(join(again, 'index.html'), 'utf8'), 'hello from node-2\n');
    await deletePod('example-pv-pod');
  });

  it('refuses a local PV whose node affinity excludes the node', async function () {
    const d2 = await disk('node-2', 'vol1');
    await startAgent('node-1');
    const pv = localPv('pinned', d2.mountPoint ?? '', 'node-2');
    pv.spec.claimRef = { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'pinned-claim' };
    await store.create(K.pv, pv);
    await store.create(K.pvc, claim('pinned-claim', { volumeName: 'pinned' }));
    await eventually('claim Bound', async () => {
      const c = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'pinned-claim');
      return c.status?.phase === 'Bound';
    });
    await store.create(
      K.pod,
      pod('wrong-node', 'node-1', [{ name: 'data', persistentVolumeClaim: { claimName: 'pinned-claim' } }]),
    );
    const messages = await eventually('FailedMount event', async () => {
      const m = await events('FailedMount');
      return m.length > 0 ? m : undefined;
    });
    assert.match(messages[0] ?? '', /volume node affinity conflict/);
    assert.deepEqual(await mountsUnder(join(dir, 'node-1', 'root')), []);
    const p = await getPod('wrong-node');
    assert.notEqual(p.status?.phase, 'Running');
    await deletePod('wrong-node');
  });

  it('hostPath PV (DirectoryOrCreate), read-only claims, type checks and inline hostPath volumes', async function () {
    await startAgent('node-1');
    const source = join(dir, 'host', 'data');
    const pv: PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'hp' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'manual',
        hostPath: { path: source, type: 'DirectoryOrCreate' },
        claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'hp-claim' },
      },
    };
    await store.create(K.pv, pv);
    await store.create(K.pvc, claim('hp-claim', { storageClassName: 'manual', volumeName: 'hp' }));
    await eventually('claim Bound', async () => {
      const c = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'hp-claim');
      return c.status?.phase === 'Bound';
    });

    await store.create(
      K.pod,
      pod('writer', 'node-1', [{ name: 'data', persistentVolumeClaim: { claimName: 'hp-claim' } }]),
    );
    const target = await runningPath('writer', 'data');
    assert.match(target, /\/volumes\/kubernetes\.io~host-path\/hp$/);
    assert.ok((await stat(source)).isDirectory(), 'DirectoryOrCreate created the source');
    await writeFile(join(target, 'a.txt'), 'A');
    assert.equal(await readFile(join(source, 'a.txt'), 'utf8'), 'A');

    await store.create(
      K.pod,
      pod('reader', 'node-1', [
        { name: 'data', persistentVolumeClaim: { claimName: 'hp-claim', readOnly: true } },
      ]),
    );
    const roTarget = await runningPath('reader', 'data');
    assert.equal(await readFile(join(roTarget, 'a.txt'), 'utf8'), 'A');
    await assert.rejects(writeFile(join(roTarget, 'b.txt'), 'B'), /EROFS/);

    // inline hostPath: FileOrCreate makes the file and binds it onto a file target
    const socketless = join(dir, 'host', 'app.log');
    await store.create(
      K.pod,
      pod('inline', 'node-1', [{ name: 'data', hostPath: { path: socketless, type: 'FileOrCreate' } }]),
    );
    const fileTarget = await runningPath('inline', 'data');
    assert.match(fileTarget, /\/volumes\/kubernetes\.io~host-path\/data$/);
    await writeFile(fileTarget, 'log line\n');
    assert.equal(await readFile(socketless, 'utf8'), 'log line\n');

    // a failing type check: the pod stays Pending with a FailedMount event
    await store.create(
      K.pod,
      pod('bad-type', 'node-1', [{ name: 'data', hostPath: { path: source, type: 'Socket' } }]),
    );
    const messages = await eventually('FailedMount event', async () => {
      const m = await events('FailedMount');
      return m.length > 0 ? m : undefined;
    });
    assert.equal(
      messages[0],
      `MountVolume.SetUp failed for volume "data" : hostPath type check failed: ${source} is not a socket file`,
    );
    assert.notEqual((await getPod('bad-type')).status?.phase, 'Running');

    for (const name of ['writer', 'reader', 'inline', 'bad-type']) await deletePod(name);
    assert.deepEqual(await mountsUnder(join(dir, 'node-1', 'root')), []);
    assert.equal(await readFile(join(source, 'a.txt'), 'utf8'), 'A', 'teardown never touches the data');
  });

  it('Block local PV is bound onto a device file under volumeDevices', async function () {
    const raw = await makeLoopDisk(join(dir, 'raw.img'), { sizeMiB: 8 });
    disks.push(raw);
    await startAgent('node-1');
    const pv = localPv('blk', raw.device, 'node-1', { volumeMode: 'Block' });
    pv.spec.claimRef = { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'blk-claim' };
    await store.create(K.pv, pv);
    await store.create(K.pvc, claim('blk-claim', { volumeName: 'blk', volumeMode: 'Block' }));
    await store.create(
      K.pod,
      pod('raw', 'node-1', [{ name: 'data', persistentVolumeClaim: { claimName: 'blk-claim' } }]),
    );
    const target = await runningPath('raw', 'data');
    assert.match(target, /\/volumeDevices\/kubernetes\.io~local-volume\/blk$/);
    assert.ok((await stat(target)).isBlockDevice(), 'the target is the device');
    const handle = await open(target, 'r+');
    await handle.write(Buffer.from('berth-block'), 0, 11, 4096);
    await handle.close();
    const dev = await open(raw.device, 'r');
    const buf = Buffer.alloc(11);
    await dev.read(buf, 0, 11, 4096);
    await dev.close();
    assert.equal(buf.toString(), 'berth-block');
    await deletePod('raw');
    await assert.rejects(stat(target), /ENOENT/);
  });

  it('after a restart, bind mounts of pods that went meanwhile are unmounted', async function () {
    const d1 = await disk('node-1', 'vol1');
    const agent = await startAgent('node-1');
    const pv = localPv('pv-r', d1.mountPoint ?? '', 'node-1');
    pv.spec.claimRef = { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'claim-r' };
    await store.create(K.pv, pv);
    await store.create(K.pvc, claim('claim-r', { volumeName: 'pv-r' }));
    await store.create(
      K.pod,
      pod('p', 'node-1', [{ name: 'data', persistentVolumeClaim: { claimName: 'claim-r' } }]),
    );
    const target = await runningPath('p', 'data');
    await agent.stop();
    agents.delete('node-1');
    // the pod goes while the agent is down (finalizer removed by hand, as an admin would force it)
    await store.patch(K.pod, 'default', 'p', { metadata: { finalizers: null } });
    await deletePod('p');
    assert.ok((await mountsUnder(target)).includes(target), 'still mounted while the agent is down');
    await startAgent('node-1');
    assert.deepEqual(await mountsUnder(join(dir, 'node-1', 'root')), [], 'swept at start');
    await assert.rejects(stat(target), /ENOENT/);
  });
});
