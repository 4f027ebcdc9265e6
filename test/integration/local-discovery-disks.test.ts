// Local disk discovery with real disks: two ext4 loop disks mounted under a temp discovery dir (and
// a plain directory that is not a disk), a node agent configured with a discovery class, and the
// real PV controller. PVs appear with statfs capacity and node affinity; a claim binds, a pod
// writes; deleting the claim releases the PV, the disk is scrubbed and offered again.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, realpath, statfs, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { K } from '../../src/api/kinds.js';
import type { PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from '../../src/api/types.js';
import { NodeAgent } from '../../src/node/agent.js';
import { VOLUME_PATHS_ANNOTATION } from '../../src/node/desired-state.js';
import { discoveredVolumeName, roundDownCapacity } from '../../src/node/discovery/index.js';
import { PvController } from '../../src/pv-controller/controller.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { isRoot, skipUnless } from '../helpers/skip.js';
import { makeLoopDisk, mountsUnder, releaseDisks, type LoopDisk } from '../unit/node/loop-disks.js';
import { eventuallyWithin } from '../helpers/eventually.js';

const eventually = eventuallyWithin(10_000);

const NODE = 'node-1';
const CLASS = 'local-storage';

describe('local disk discovery (root)', function () {
  this.timeout(60_000);
  let dir: string;
  let discoveryDir: string;
  let store: EmbeddedStore;
  let pvController: PvController | undefined;
  let agent: NodeAgent | undefined;
  const disks: LoopDisk[] = [];

  before(function () {
    skipUnless(this, isRoot, 'needs root for loop devices and mounts');
  });

  beforeEach(async function () {
    if (!isRoot) return;
    dir = await realpath(await mkdtemp(join(tmpdir(), 'berth-discovery-')));
    discoveryDir = join(dir, 'mnt', 'disks');
    await mkdir(discoveryDir, { recursive: true });
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
  });

  afterEach(async function () {
    if (!isRoot) return;
    await agent?.stop();
    agent = undefined;
    await pvController?.stop();
    pvController = undefined;
    await store.close();
    await releaseDisks(dir, disks);
  });

  const getPv = (name: string) => store.get<PersistentVolume>(K.pv, undefined, name);

  it('offers mounted disks as PVs, and scrubs and re-offers them after release', async function () {
    for (const name of ['vol1', 'vol2']) {
      disks.push(await makeLoopDisk(join(dir, `${name}.img`), { mountPoint: join(discoveryDir, name) }));
    }
    await mkdir(join(discoveryDir, 'not-a-disk'));
    await store.create<StorageClass>(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: CLASS },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    });
    pvController = new PvController({ store, resyncMs: 300 });
    await pvController.start();
    agent = new NodeAgent({
      store,
      nodeName: NODE,
      rootDir: join(dir, 'root'),
      heartbeatMs: 0,
      watchRegistry: false,
      resyncMs: 500,
      retryBaseMs: 100,
      retryMaxMs: 1000,
      discovery: [
        { className: CLASS, hostDir: discoveryDir, volumeMode: 'Filesystem', reclaimPolicy: 'Delete' },
      ],
      discoveryPeriodMs: 200,
    });
    await agent.start();

    const names = ['vol1', 'vol2'].map((n) => discoveredVolumeName(join(discoveryDir, n), NODE, CLASS));
    const pvs = await eventually('two discovered PVs Available', async () => {
      const list = await store.list<PersistentVolume>(K.pv);
      const ok = list.items.filter((v) => v.status?.phase === 'Available');
      return ok.length === 2 ? ok : undefined;
    });
    assert.deepEqual(pvs.map((v) => v.metadata.name).sort(), [...names].sort());
    for (const [i, name] of names.entries()) {
      const pv = await getPv(name);
      const diskPath = join(discoveryDir, `vol${i + 1}`);
      const fs = await statfs(diskPath);
      assert.equal(pv.spec.local?.path, diskPath);
      assert.equal(pv.spec.capacity?.storage, roundDownCapacity(fs.blocks * fs.bsize));
      assert.equal(pv.spec.storageClassName, CLASS);
      assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
      assert.equal(
        pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'],
        `local-volume-provisioner-${NODE}`,
      );
      assert.deepEqual(pv.spec.nodeAffinity?.required?.nodeSelectorTerms, [
        { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] }] },
      ]);
    }

    // bind a claim to vol1 (the scheduler's static WFFC choice: selected node + the volume)
    const target = names[0] ?? '';
    const claim: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'c',
        namespace: 'default',
        annotations: { 'volume.kubernetes.io/selected-node': NODE },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '10Mi' } },
        storageClassName: CLASS,
        volumeName: target,
      },
    };
    await store.create(K.pvc, claim);
    await eventually('claim Bound', async () => {
      const c = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'c');
      return c.status?.phase === 'Bound';
    });
    const originalUid = (await getPv(target)).metadata.uid;
    await store.create<Pod>(K.pod, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: {
        nodeName: NODE,
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'c' } }],
        containers: [{ name: 'c', image: 'busybox' }],
      },
    });
    const path = await eventually('pod Running', async () => {
      const p = await store.get<Pod>(K.pod, 'default', 'p');
      const paths = JSON.parse(p.metadata.annotations?.[VOLUME_PATHS_ANNOTATION] ?? '{}') as Record<
        string,
        string
      >;
      return p.status?.phase === 'Running' ? paths['data'] : undefined;
    });
    await mkdir(join(path, 'nested', 'deeper'), { recursive: true });
    await writeFile(join(path, 'nested', 'deeper', 'file.txt'), 'data');
    await writeFile(join(path, 'top.txt'), 'data');
    const vol1 = join(discoveryDir, 'vol1');
    assert.ok((await readdir(vol1)).includes('top.txt'));

    // pod, then claim go: Released -> scrubbed -> PV deleted -> recreated Available
    await store.delete(K.pod, 'default', 'p');
    await eventually('pod gone', async () =>
      store.get(K.pod, 'default', 'p').then(
        () => false,
        (e: unknown) => isStatusError(e, 'NotFound'),
      ),
    );
    await store.delete(K.pvc, 'default', 'c');
    const again = await eventually('PV recreated Available', async () => {
      const pv = await getPv(target);
      return pv.metadata.uid !== originalUid && pv.status?.phase === 'Available' ? pv : undefined;
    });
    assert.equal(again.spec.claimRef, undefined);
    assert.deepEqual(await readdir(vol1), [], 'everything under the mount point is gone');
    assert.ok((await mountsUnder(vol1)).includes(vol1), 'the mount point itself stays');
    const other = await getPv(names[1] ?? '');
    assert.equal(other.status?.phase, 'Available', 'the other disk was never touched');
    const list = await store.list<PersistentVolume>(K.pv);
    assert.equal(list.items.length, 2, 'no PV for the plain directory');
  });

  it('Block mode: device symlinks become Block PVs sized by blockdev', async function () {
    const raw = await makeLoopDisk(join(dir, 'raw.img'), { sizeMiB: 8 });
    disks.push(raw);
    const blockDir = join(dir, 'mnt', 'block');
    await mkdir(blockDir, { recursive: true });
    await symlink(raw.device, join(blockDir, 'disk0'));
    agent = new NodeAgent({
      store,
      nodeName: NODE,
      rootDir: join(dir, 'root'),
      heartbeatMs: 0,
      watchRegistry: false,
      discovery: [{ className: 'raw', hostDir: blockDir, volumeMode: 'Block' }],
      discoveryPeriodMs: 200,
    });
    await agent.start();
    const name = discoveredVolumeName(join(blockDir, 'disk0'), NODE, 'raw');
    const pv = await eventually('block PV', () => getPv(name));
    assert.equal(pv.spec.volumeMode, 'Block');
    assert.equal(pv.spec.local?.path, join(blockDir, 'disk0'));
    assert.equal(pv.spec.capacity?.storage, '8192Ki');
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
  });
});
