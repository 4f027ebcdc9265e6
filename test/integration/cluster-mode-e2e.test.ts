// Cluster mode end to end, every part its own process (see test/helpers/cluster-mode.ts): berth's
// API server with Kubernetes' controllers only (`berth up --control-plane-only`), the kubelet
// stand-in (`berth node --local-driver=false`), the local driver's node plugin registered through
// plugins_registry, and the provisioner, attacher and resizer sidecars with only a kubeconfig and
// --csi-address. The local driver has no ControllerPublishVolume and deploy/kubernetes declares
// it attachRequired: false; here its CSIDriver says attachRequired: true, so the attach/detach
// controller creates VolumeAttachments and the attacher process marks them attached (the
// upstream attacher's path for drivers without ControllerPublish), and the kubelet stand-in waits
// for that before staging. Volumes are real: sparse file, loop device, mkfs.ext4, mount.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type {
  CSIDriver,
  CSINode,
  Event,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
  VolumeAttachment,
} from '../../src/api/types.js';
import { DRIVER_NAME } from '../../src/drivers/local/index.js';
import {
  canGrowExtOnline,
  loopsUnder,
  mountsUnder,
  realDiskUnavailable,
  removeTestDir,
} from '../conformance/host.js';
import { gone, NODE, podWithClaim, startClusterMode, type ClusterMode } from '../helpers/cluster-mode.js';
import { eventually } from '../helpers/eventually.js';
import { skipUnless } from '../helpers/skip.js';
import { stopProcess } from '../helpers/tsx-process.js';

const CLASS = 'local-wffc';
const PROVISIONER_FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';
const MiB = 1024 * 1024;

describe('cluster mode end to end: sidecars and node plugin as their own processes', function () {
  this.timeout(600_000);
  let dir: string;
  let cluster: ClusterMode;

  before(async function () {
    const unavailable = realDiskUnavailable(['resize2fs']);
    skipUnless(this, unavailable === undefined, unavailable ?? '');
    dir = await mkdtemp(join(tmpdir(), 'berth-cluster-mode-'));
    cluster = await startClusterMode(dir);
    const { client } = cluster;
    await client.create<CSIDriver>(K.csidriver, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: DRIVER_NAME },
      spec: { attachRequired: true, podInfoOnMount: false, volumeLifecycleModes: ['Persistent'] },
    });
    await client.create<StorageClass>(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: CLASS },
      provisioner: DRIVER_NAME,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: true,
      parameters: { 'csi.storage.k8s.io/fstype': 'ext4' },
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(cluster.outputs());
  });

  after(async function () {
    if (!dir) return;
    await cluster?.stop();
    const leftovers = removeTestDir(dir);
    const failed = this.currentTest?.state === 'failed';
    if (!failed) assert.deepEqual(leftovers, { mounts: [], loops: [] }, 'the test left nothing mounted');
  });

  const claim = (name: string, size: string): PersistentVolumeClaim => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: {
      storageClassName: CLASS,
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
    },
  });

  const running = (name: string) =>
    eventually(
      `pod ${name} Running`,
      async () => {
        const p = await cluster.client.get<Pod>(K.pod, 'default', name);
        return p.status?.phase === 'Running' ? p : undefined;
      },
      180_000,
      100,
    );

  const fsBytes = async (path: string) => {
    const s = await statfs(path);
    return s.blocks * s.bsize;
  };

  it('registers the node plugin through plugins_registry: CSINode and the Node carry the driver', async function () {
    const { client } = cluster;
    const csinode = await eventually('CSINode lists the local driver', async () => {
      const c = await client.get<CSINode>(K.csinode, undefined, NODE);
      return c.spec.drivers.find((d) => d.name === DRIVER_NAME);
    });
    assert.equal(csinode.nodeID, NODE);
    assert.deepEqual(csinode.topologyKeys, ['topology.local.csi.berth.io/node']);
  });

  it('provisions, attaches, stages and publishes, expands and deletes a volume, each step by its own process', async function () {
    const { client, nodeRoot } = cluster;
    await client.create(K.pvc, claim('data', '64Mi'));
    await client.create(K.pod, podWithClaim('app', 'data'));
    const pod = await running('app');
    assert.equal(pod.spec.nodeName, NODE);

    // dynamic provisioning by the provisioner process, on the node the scheduler chose
    const bound = await client.get<PersistentVolumeClaim>(K.pvc, 'default', 'data');
    assert.equal(bound.status?.phase, 'Bound');
    assert.equal(bound.metadata.annotations?.['volume.kubernetes.io/selected-node'], NODE);
    assert.equal(bound.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'], DRIVER_NAME);
    const pvName = bound.spec.volumeName ?? '';
    const pv = await client.get<PersistentVolume>(K.pv, undefined, pvName);
    assert.equal(pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'], DRIVER_NAME);
    assert.ok(pv.metadata.finalizers?.includes(PROVISIONER_FINALIZER), 'the provisioner guards its volume');
    assert.equal(pv.spec.csi?.volumeHandle, `${NODE}/${pvName}`);
    assert.deepEqual(await cluster.backingFiles(), [`${pvName}.img`]);

    // attached: the attach/detach controller's VolumeAttachment, marked attached by the attacher process
    const vas = (await client.list(K.va)).items as VolumeAttachment[];
    assert.equal(vas.length, 1);
    const va = vas[0]!;
    assert.deepEqual(
      [va.spec.attacher, va.spec.nodeName, va.spec.source.persistentVolumeName, va.status?.attached],
      [DRIVER_NAME, NODE, pvName, true],
    );
    // nothing to unpublish for a driver without ControllerPublish: no finalizer, as upstream's attacher
    assert.equal(va.metadata.finalizers, undefined);

    // staged and published by the kubelet stand-in at kubelet paths, on a real loop device
    const target = join(
      nodeRoot,
      'pods',
      pod.metadata.uid ?? '',
      'volumes/kubernetes.io~csi',
      pvName,
      'mount',
    );
    const mounts = mountsUnder(nodeRoot);
    assert.ok(mounts.includes(target), `published at ${target}: ${mounts.join(', ')}`);
    assert.ok(
      mounts.some(
        (m) =>
          m.startsWith(join(nodeRoot, 'plugins/kubernetes.io/csi', DRIVER_NAME)) &&
          m.endsWith('/globalmount'),
      ),
      'staged at the global mount',
    );
    assert.equal(loopsUnder(cluster.volumesDir).length, 1, 'one loop device');
    await writeFile(join(target, 'kept'), 'across the expansion');
    const before = await fsBytes(target);
    assert.ok(before < 64 * MiB, `a 64Mi file system (${before} bytes)`);

    // expansion: the resizer process grows the volume, the kubelet stand-in the file system; online
    // where this host lets resize2fs grow a mounted ext4 (CAP_SYS_RESOURCE), else offline: the
    // pod is replaced and the file system grows when the volume is staged again, as Kubernetes does
    await client.patch(K.pvc, 'default', 'data', { spec: { resources: { requests: { storage: '256Mi' } } } });
    await eventually(
      'the volume grown by the resizer process',
      async () =>
        (await client.get<PersistentVolume>(K.pv, undefined, pvName)).spec.capacity?.['storage'] === '256Mi',
      120_000,
      100,
    );
    let podName = 'app';
    if (!canGrowExtOnline) {
      await eventually('the kubelet stand-in reports that online growth is refused', async () => {
        const events = (await client.list(K.event, { namespace: 'default' })).items as Event[];
        return events.some(
          (e) => e.reason === 'FileSystemResizeFailed' && /CAP_SYS_RESOURCE/.test(e.message ?? ''),
        );
      });
      await client.delete(K.pod, 'default', 'app');
      await gone(client, K.pod, 'default', 'app');
      podName = 'app-2';
      await client.create(K.pod, podWithClaim(podName, 'data'));
    }
    const grownPod = await running(podName);
    await eventually(
      'claim capacity 256Mi',
      async () =>
        (await client.get<PersistentVolumeClaim>(K.pvc, 'default', 'data')).status?.capacity?.['storage'] ===
        '256Mi',
      120_000,
      100,
    );
    const grownTarget = join(
      nodeRoot,
      'pods',
      grownPod.metadata.uid ?? '',
      'volumes/kubernetes.io~csi',
      pvName,
      'mount',
    );
    const after = await fsBytes(grownTarget);
    assert.ok(after > 200 * MiB, `the file system grew (${before} -> ${after} bytes)`);
    assert.equal(await readFile(join(grownTarget, 'kept'), 'utf8'), 'across the expansion');

    // deletion: unpublished, unstaged, detached, then the volume and its backing file are gone
    await client.delete(K.pod, 'default', podName);
    await gone(client, K.pod, 'default', podName);
    assert.deepEqual(mountsUnder(nodeRoot), []);
    await eventually('no VolumeAttachment left', async () => (await client.list(K.va)).items.length === 0);
    await client.delete(K.pvc, 'default', 'data');
    await gone(client, K.pv, undefined, pvName);
    assert.deepEqual(await cluster.backingFiles(), []);
    assert.deepEqual(await cluster.volumes(), []);
    assert.deepEqual(loopsUnder(cluster.volumesDir), []);
  });

  it('leaks nothing when the provisioner and the attacher are SIGKILLed mid-run and restarted', async function () {
    const { client } = cluster;
    const names = Array.from({ length: 8 }, (_, i) => `crash-${i}`);
    for (const name of names) {
      await client.create(K.pvc, claim(name, '32Mi'));
      await client.create(K.pod, podWithClaim(name, name));
    }
    // the provisioner (one worker) dies once the first volume exists, with the others still to make
    await eventually(
      'the first volume created',
      async () => (await cluster.volumes()).length > 0,
      180_000,
      10,
    );
    await stopProcess(cluster.sidecars.get('provisioner'), 'SIGKILL');
    const createdAtKill = (await cluster.volumes()).length;
    assert.ok(
      createdAtKill < names.length,
      `killed mid-run (${createdAtKill} of ${names.length} volumes made)`,
    );
    await cluster.startSidecar('provisioner');

    // the attacher dies once it attached the first volume, and attachments pile up while it is down
    const attached = async () =>
      ((await client.list(K.va)).items as VolumeAttachment[]).filter((va) => va.status?.attached === true);
    await eventually('the first volume attached', async () => (await attached()).length > 0, 180_000, 10);
    await stopProcess(cluster.sidecars.get('attacher'), 'SIGKILL');
    await eventually(
      'every claim bound and a VolumeAttachment waiting for the dead attacher',
      async () => {
        const claims = (await client.list(K.pvc, { namespace: 'default' })).items as PersistentVolumeClaim[];
        const vas = (await client.list(K.va)).items as VolumeAttachment[];
        return (
          claims.filter((c) => c.status?.phase === 'Bound').length === names.length &&
          vas.some((va) => va.status?.attached !== true)
        );
      },
      180_000,
      100,
    );
    // the new attacher takes the dead one's Lease once it expires, then attaches the rest
    await cluster.startSidecar('attacher');
    for (const name of names) await running(name);

    const pvs = (await client.list(K.pv)).items as PersistentVolume[];
    assert.equal(pvs.length, names.length, 'one PersistentVolume per claim');
    assert.deepEqual(
      await cluster.volumes(),
      pvs.map((pv) => pv.metadata.name).sort(),
      'exactly one volume per PersistentVolume, no orphan',
    );
    assert.deepEqual(
      await cluster.backingFiles(),
      pvs.map((pv) => `${pv.metadata.name}.img`).sort(),
      'each made its backing file when its pod started',
    );
    for (const pv of pvs) {
      assert.equal(pv.status?.phase, 'Bound');
      assert.equal(pv.metadata.deletionTimestamp, undefined);
      assert.deepEqual([...(pv.metadata.finalizers ?? [])].sort(), [
        PROVISIONER_FINALIZER,
        'kubernetes.io/pv-protection',
      ]);
    }
    const vas = (await client.list(K.va)).items as VolumeAttachment[];
    assert.equal(vas.length, names.length);
    assert.ok(vas.every((va) => va.status?.attached === true && !va.metadata.deletionTimestamp));

    for (const name of names) await client.delete(K.pod, 'default', name);
    for (const name of names) await gone(client, K.pod, 'default', name);
    for (const name of names) await client.delete(K.pvc, 'default', name);
    for (const pv of pvs) await gone(client, K.pv, undefined, pv.metadata.name ?? '');
    assert.deepEqual((await client.list(K.pvc, { namespace: 'default' })).items, []);
    assert.deepEqual((await client.list(K.va)).items, []);
    assert.deepEqual(await cluster.backingFiles(), []);
    assert.deepEqual(await cluster.volumes(), []);
    assert.deepEqual(mountsUnder(cluster.nodeRoot), []);
    assert.deepEqual(loopsUnder(cluster.volumesDir), []);
  });
});
