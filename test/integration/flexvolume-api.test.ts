// FlexVolume through the whole of berth (root): an embedded berth with one node whose
// <rootDir>/volume-plugins holds the sample drivers. berth/loop (attachable) is attached by the
// attach/detach controller (node.status.volumesAttached), then waitforattach, mountdevice and
// mount happen on the node; deleting the pod unmounts, unmounts the device and detaches, and a new
// pod finds the data again. The seed's k8s/nfs PV (M44) is mounted by its driver.
// STAND-IN: this kernel has no NFS client, so the k8s/nfs driver's "mount-helper" is a stand-in
// that bind-mounts a local directory standing in for the export 10.10.0.25:/export.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { K } from '../../src/api/kinds.js';
import { loadManifests } from '../../src/api/manifests.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Event, Node, PersistentVolume, PersistentVolumeClaim, Pod } from '../../src/api/types.js';
import type { RestClient } from '../../src/client/rest.js';
import { NODE_VOLUMES_FINALIZER } from '../../src/node/desired-state.js';
import { loopsUnder, mountsUnder, realDiskUnavailable } from '../conformance/host.js';
import { eventually } from '../helpers/eventually.js';
import { FLEX_EXAMPLES, type FlexBerth, startFlexBerth } from '../helpers/flex-berth.js';
import { readSeed } from '../helpers/seeds.js';
import { skipUnless } from '../helpers/skip.js';
import { writeNfsStandinHelper } from '../unit/flexvolume/helpers.js';

const unavailable = realDiskUnavailable(['mountpoint', 'truncate', 'node']);

async function install(pluginDir: string, dirName: string, executable: string): Promise<string> {
  const dir = path.join(pluginDir, dirName);
  await fs.mkdir(dir, { recursive: true });
  await fs.copyFile(path.join(FLEX_EXAMPLES, dirName, executable), path.join(dir, executable));
  await fs.chmod(path.join(dir, executable), 0o755);
  return dir;
}

describe('FlexVolume through the API (embedded berth, real loop devices and mounts)', function () {
  this.timeout(120_000);
  let flex: FlexBerth | undefined;
  let dir: string;
  let rootDir: string;
  let exportDir: string;
  let api: RestClient;

  before(async function () {
    skipUnless(this, unavailable === undefined, unavailable ?? '');
    flex = await startFlexBerth('berth-flex-api-', async (pluginDir, scratch) => {
      await install(pluginDir, 'berth~loop', 'loop');
      const nfsDir = await install(pluginDir, 'k8s~nfs', 'nfs');
      exportDir = path.join(scratch, 'nfs-server', 'export');
      await fs.mkdir(exportDir, { recursive: true });
      await fs.writeFile(path.join(exportDir, 'index.html'), 'served over (stand-in) NFS');
      await writeNfsStandinHelper(path.join(nfsDir, 'mount-helper'), exportDir);
    });
    ({ dir, rootDir, api } = flex);
  });

  after(async function () {
    await flex?.stop();
  });

  const claim = (name: string, volumeName: string, mode: 'ReadWriteOnce' | 'ReadWriteMany') =>
    ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'default' },
      spec: {
        accessModes: [mode],
        storageClassName: '',
        volumeName,
        resources: { requests: { storage: '32Mi' } },
      },
    }) satisfies PersistentVolumeClaim;

  const pod = (name: string, claimName: string): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
    },
  });

  const loopPv = (name: string, options: Record<string, string>): PersistentVolume => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: '32Mi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      flexVolume: { driver: 'berth/loop', fsType: 'ext4', options },
    },
  });

  const running = (name: string) => flex!.running(name);

  async function deleted(name: string): Promise<void> {
    await api.delete(K.pod, 'default', name);
    await eventually(
      `pod ${name} gone`,
      async () =>
        (await api.list(K.pod, { namespace: 'default' })).items.every((p) => p.metadata.name !== name),
      60_000,
    );
  }

  const node = () => api.get<Node>(K.node, undefined, 'node-1');

  async function eventsOf(obj: KubeObject): Promise<Event[]> {
    return (await api.list(K.event, { namespace: 'default' })).items
      .map((e) => e as Event)
      .filter((e) => e.involvedObject.uid === obj.metadata.uid);
  }

  it('berth/loop: attached by the A/D controller, mounted on the node, torn down, data kept across pods', async () => {
    const unique = 'flexvolume-berth/loop/pv-loop';
    const disk = path.join(dir, 'disks', 'disk.img');
    await api.create(K.pv, loopPv('pv-loop', { file: disk, size: '32Mi' }));
    await api.create(K.pvc, claim('loop-data', 'pv-loop', 'ReadWriteOnce'));
    await api.create(K.pod, pod('writer', 'loop-data'));

    const { pod: writer, hostPath } = await running('writer');
    assert.equal(
      hostPath,
      path.join(rootDir, 'pods', writer.metadata.uid ?? '', 'volumes', 'berth~loop', 'pv-loop'),
    );
    assert.ok(writer.metadata.finalizers?.includes(NODE_VOLUMES_FINALIZER));
    const globalDir = path.join(
      rootDir,
      'plugins',
      'kubernetes.io',
      'flexvolume',
      'berth',
      'loop',
      'mounts',
      'pv-loop',
    );
    assert.deepEqual(
      mountsUnder(dir),
      [globalDir, hostPath].sort((a, b) => b.length - a.length),
    );
    const [loop] = loopsUnder(dir);
    assert.ok(loop, 'a loop device is set up on the backing file');
    const status = (await node()).status;
    assert.deepEqual(status?.volumesAttached, [{ name: unique, devicePath: loop }]);
    assert.ok(status?.volumesInUse?.includes(unique), 'the node reports the volume in use');
    const reasons = (await eventsOf(writer)).map((e) => e.reason);
    assert.ok(reasons.includes('SuccessfulAttachVolume'), reasons.join());
    assert.ok(reasons.includes('SuccessfulMountVolume'), reasons.join());

    await fs.writeFile(path.join(hostPath, 'greeting.txt'), 'hello from the writer');
    await deleted('writer');
    // the finalizer went after unmount + unmountdevice; the controller detaches once not in use
    await eventually(
      'detached',
      async () => ((await node()).status?.volumesAttached ?? []).length === 0,
      30_000,
    );
    assert.ok(!((await node()).status?.volumesInUse ?? []).includes(unique));
    assert.deepEqual(mountsUnder(dir), []);
    assert.deepEqual(loopsUnder(dir), []);
    await assert.rejects(fs.access(hostPath));

    await api.create(K.pod, pod('reader', 'loop-data'));
    const again = await running('reader');
    assert.equal(
      await fs.readFile(path.join(again.hostPath, 'greeting.txt'), 'utf8'),
      'hello from the writer',
    );
    await deleted('reader');
    await eventually(
      'detached',
      async () => ((await node()).status?.volumesAttached ?? []).length === 0,
      30_000,
    );
    assert.deepEqual(mountsUnder(dir), []);
    assert.deepEqual(loopsUnder(dir), []);
  });

  it("berth/loop: the driver's attach failure is a FailedAttachVolume event and the pod stays Pending", async () => {
    await api.create(K.pv, loopPv('pv-broken', { size: '32Mi' }));
    await api.create(K.pvc, claim('broken-data', 'pv-broken', 'ReadWriteOnce'));
    const created = await api.create(K.pod, pod('broken', 'broken-data'));
    const event = await eventually(
      'FailedAttachVolume',
      async () => (await eventsOf(created)).find((e) => e.reason === 'FailedAttachVolume'),
      30_000,
    );
    assert.equal(event.type, 'Warning');
    assert.match(
      event.message ?? '',
      /AttachVolume\.Attach failed for volume "pv-broken" : .*options\.file \(the backing file\) is required/,
    );
    assert.equal((await api.get<Pod>(K.pod, 'default', 'broken')).status?.phase, 'Pending');
    await deleted('broken');
    assert.deepEqual(mountsUnder(dir), []);
  });

  it('the seed k8s/nfs FlexVolume PV (M44): pod Running with the export mounted (stand-in helper)', async function () {
    const [seedPv] = loadManifests(readSeed('M44.repaired.yaml'), 'M44.repaired.yaml');
    await api.create(K.pv, seedPv as PersistentVolume);
    await api.create(K.pvc, claim('web-data', 'pv-flex-nfs', 'ReadWriteMany'));
    await api.create(K.pod, pod('web', 'web-data'));
    const { pod: web, hostPath } = await running('web');
    assert.equal(
      hostPath,
      path.join(rootDir, 'pods', web.metadata.uid ?? '', 'volumes', 'k8s~nfs', 'pv-flex-nfs'),
    );
    assert.deepEqual(mountsUnder(dir), [hostPath]);
    assert.equal(await fs.readFile(path.join(hostPath, 'index.html'), 'utf8'), 'served over (stand-in) NFS');
    // not attachable: the controller leaves it alone
    assert.deepEqual((await node()).status?.volumesAttached ?? [], []);
    await deleted('web');
    assert.deepEqual(mountsUnder(dir), []);
    assert.equal(await fs.readFile(path.join(exportDir, 'index.html'), 'utf8'), 'served over (stand-in) NFS');
  });

  it('an inline flexVolume in the pod spec (k8s/nfs through the stand-in helper)', async () => {
    const inline = pod('inline', 'unused');
    inline.spec.volumes = [
      {
        name: 'data',
        flexVolume: { driver: 'k8s/nfs', fsType: 'nfs', options: { server: '10.10.0.25', share: 'export' } },
      },
    ];
    await api.create(K.pod, inline);
    const { pod: inlinePod, hostPath } = await running('inline');
    assert.equal(
      hostPath,
      // an inline volume is named for its pod: <pod uid>-<volume name>
      path.join(
        rootDir,
        'pods',
        inlinePod.metadata.uid ?? '',
        'volumes',
        'k8s~nfs',
        `${inlinePod.metadata.uid ?? ''}-data`,
      ),
    );
    assert.equal(await fs.readFile(path.join(hostPath, 'index.html'), 'utf8'), 'served over (stand-in) NFS');
    await deleted('inline');
    assert.deepEqual(mountsUnder(dir), []);
  });
});
