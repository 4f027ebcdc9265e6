// Ceph RBD through the whole of berth (root, a real single-node Ceph cluster): an embedded berth
// with two nodes and the RBD driver registered as a CSI driver. A claim of an rbd class becomes an
// image in the pool; a pod on node-1 writes to it; the claim grows while the pod runs (resizer ->
// ControllerExpandVolume, node agent -> NodeExpandVolume); a pod on node-2 then reads the data back
// from Ceph; deleting the claim removes the image and its journal entry. Also through the API: a
// wrong key is reported on the claim, and a claim deleted during CreateVolume leaves no image.
// This kernel has no krbd or nbd, so the class maps images with rbd-fuse plus a loop device.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, promises as fs, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { K } from '../../src/api/kinds.js';
import { loadManifests } from '../../src/api/manifests.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { PersistentVolumeClaim, Pod } from '../../src/api/types.js';
import { type EmbeddedBerth, startEmbeddedBerth } from '../../src/cli/embedded.js';
import { RestClient } from '../../src/client/rest.js';
import { DRIVER_NAME, parseVolumeId, startRbdDriver } from '../../src/drivers/rbd/index.js';
import type { RbdDriverHandle } from '../../src/drivers/rbd/index.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { ANN_PROVISIONING, FINALIZER_PROVISIONING } from '../../src/volume/provisioning-names.js';
import { removeTestDir } from '../conformance/host.js';
import type { CephCluster } from '../helpers/ceph.js';
import { cephUnavailable, rbdClassManifest, startCephCluster } from '../helpers/ceph.js';
import { eventually } from '../helpers/eventually.js';
import {
  eventOn as eventVia,
  gone as goneVia,
  runPodWithClaim,
  stopBerthAfterCleanup,
} from '../helpers/api-e2e.js';
import { skipUnless } from '../helpers/skip.js';

const CLUSTER_ID = 'api-e2e';
const MIB = 1024 * 1024;

function manifests(pool: string, key: string, wrongKey: string): string {
  const storageClass = (name: string, secret: string) =>
    rbdClassManifest({ name, driver: DRIVER_NAME, clusterID: CLUSTER_ID, pool, secret });
  return `
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: { name: ${DRIVER_NAME} }
spec: { attachRequired: true, podInfoOnMount: false }
---
apiVersion: v1
kind: Secret
metadata: { name: csi-rbd-secret, namespace: default }
stringData: { userID: admin, userKey: "${key}" }
---
apiVersion: v1
kind: Secret
metadata: { name: csi-rbd-wrong, namespace: default }
stringData: { userID: admin, userKey: "${wrongKey}" }
---
${storageClass('rbd', 'csi-rbd-secret')}
---
${storageClass('rbd-wrong-key', 'csi-rbd-wrong')}
`;
}

describe('Ceph RBD through the API (real ceph; rbd-fuse + loop mapper)', function () {
  this.timeout(180_000);
  let cluster: CephCluster | undefined;
  let dir: string;
  let driver: RbdDriverHandle | undefined;
  let berth: EmbeddedBerth | undefined;
  let api: RestClient;
  const wrongKey = randomBytes(16).toString('base64');

  before(async function () {
    const unavailable = cephUnavailable();
    skipUnless(this, unavailable === undefined, unavailable ?? '');
    cluster = await startCephCluster();
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-rbd-api-'));
    const configFile = path.join(dir, 'clusters.yaml');
    writeFileSync(
      configFile,
      `- clusterID: ${CLUSTER_ID}\n  monitors: ["${cluster.monitors.join('", "')}"]\n`,
    );
    const endpoint = `unix://${path.join(dir, 'rbd.sock')}`;
    driver = await startRbdDriver({
      endpoint,
      nodeId: 'rbd',
      configFile,
      stateDir: path.join(dir, 'rbd-state'),
    });
    berth = await startEmbeddedBerth({
      dataDir: path.join(dir, 'data'),
      port: 0,
      logger: silentLogger,
      nodes: ['node-1', 'node-2'].map((name) => ({ name, rootDir: path.join(dir, 'nodes', name) })),
      csiDrivers: [{ name: DRIVER_NAME, endpoint }],
    });
    api = await RestClient.fromKubeconfig(berth.kubeconfigPath);
    for (const obj of loadManifests(manifests(cluster.pool, cluster.adminKey, wrongKey), 'rbd-e2e.yaml')) {
      const kind = { CSIDriver: K.csidriver, Secret: K.secret, StorageClass: K.sc }[obj.kind ?? ''];
      assert.ok(kind, `no kind for ${obj.kind ?? ''}`);
      await api.create(kind, obj);
    }
  });

  after(async function () {
    await stopBerthAfterCleanup(berth);
    await driver?.shutdown();
    if (dir) {
      const leftovers = removeTestDir(dir);
      assert.deepEqual(leftovers, { mounts: [], loops: [] }, 'nothing left mounted or attached');
    }
    await cluster?.stop();
  });

  const claim = (name: string, className: string, size = '320Mi'): PersistentVolumeClaim => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: className,
      resources: { requests: { storage: size } },
    },
  });
  const getClaim = (name: string) => api.get<PersistentVolumeClaim>(K.pvc, 'default', name);
  const gone = (kind: typeof K.pv, ns: string | undefined, name: string) => goneVia(api, kind, ns, name);
  const eventOn = (name: string, reason: string, pattern: RegExp) => eventVia(api, name, reason, pattern);
  const runPod = (name: string, node: string, claimName: string) =>
    runPodWithClaim(api, name, node, claimName);
  const deletePod = async (name: string) => {
    await api.delete(K.pod, 'default', name);
    await gone(K.pod, 'default', name);
  };
  const journalKeys = async () =>
    (
      await cluster!
        .run('rados', ['-p', cluster!.pool, 'listomapkeys', 'csi.volumes.default'])
        .catch(() => '')
    )
      .split('\n')
      .filter((line) => line !== '');
  const imageBytes = async (image: string) =>
    (
      JSON.parse(await cluster!.run('rbd', ['info', '--format', 'json', `${cluster!.pool}/${image}`])) as {
        size: number;
      }
    ).size;

  it('claim -> image -> pod writes -> grows online -> another node reads it -> claim deleted -> image gone', async function () {
    await api.create(K.pvc, claim('data', 'rbd'));
    const bound = await eventually('data Bound', async () => {
      const c = await getClaim('data');
      return c.status?.phase === 'Bound' ? c : undefined;
    });
    const pvName = bound.spec.volumeName ?? '';
    const pv = await api.get<KubeObject & { spec: { csi?: { volumeHandle: string } } }>(
      K.pv,
      undefined,
      pvName,
    );
    const ref = parseVolumeId(pv.spec.csi?.volumeHandle ?? '');
    assert.ok(ref, 'the volume handle names cluster, pool and image');
    const image = `csi-vol-${ref.uuid}`;
    assert.deepEqual(await cluster!.images(), [image]);
    assert.deepEqual(await journalKeys(), [`csi.volume.${pvName}`]);

    const writerPath = await runPod('writer', 'node-1', 'data');
    const payload = randomBytes(2 * MIB);
    await fs.writeFile(path.join(writerPath, 'payload.bin'), payload);
    await fs.writeFile(path.join(writerPath, 'hello.txt'), 'written on node-1');
    execFileSync('sync');
    const before = statfsSync(writerPath);

    // Online expansion: the pod keeps running while the image and its filesystem grow.
    await api.patch(K.pvc, 'default', 'data', { spec: { resources: { requests: { storage: '400Mi' } } } });
    const grown = await eventually('data grown to 400Mi', async () => {
      const c = await getClaim('data');
      return c.status?.capacity?.['storage'] === '400Mi' ? c : undefined;
    });
    assert.deepEqual(grown.status?.conditions ?? [], [], 'no resize condition is left on the claim');
    assert.equal(
      (await api.get<KubeObject & { spec: { capacity: Record<string, string> } }>(K.pv, undefined, pvName))
        .spec.capacity['storage'],
      '400Mi',
    );
    assert.equal(await imageBytes(image), 400 * MIB);
    const after = statfsSync(writerPath);
    assert.ok(after.blocks * after.bsize > before.blocks * before.bsize + 60 * MIB, 'xfs grew online');
    await eventOn('data', 'FileSystemResizeRequired', /file system resize/);
    assert.equal((await api.get<Pod>(K.pod, 'default', 'writer')).status?.phase, 'Running');

    // The data lives in Ceph: the image is unstaged from node-1 and staged again on node-2.
    await deletePod('writer');
    const readerPath = await runPod('reader', 'node-2', 'data');
    assert.deepEqual(await fs.readFile(path.join(readerPath, 'payload.bin')), payload);
    assert.equal(await fs.readFile(path.join(readerPath, 'hello.txt'), 'utf8'), 'written on node-1');
    await deletePod('reader');

    await api.delete(K.pvc, 'default', 'data');
    await gone(K.pv, undefined, pvName);
    assert.deepEqual(await cluster!.images(), [], 'image gone');
    assert.deepEqual(await journalKeys(), [], 'journal entry gone');
  });

  it('a wrong key is a clear error on the claim, and no image is made', async function () {
    await api.create(K.pvc, claim('wrong-key', 'rbd-wrong-key'));
    const event = await eventOn(
      'wrong-key',
      'ProvisioningFailed',
      /cephx authentication failed for client\.admin/,
    );
    assert.ok(!(event.message ?? '').includes(wrongKey), 'the key is not in the event');
    assert.equal((await getClaim('wrong-key')).status?.phase, 'Pending');
    assert.deepEqual(await cluster!.images(), []);
    assert.deepEqual(await journalKeys(), []);
    await api.delete(K.pvc, 'default', 'wrong-key');
    await gone(K.pvc, 'default', 'wrong-key');
  });

  it('a claim deleted while CreateVolume is in flight leaves no image behind', async function () {
    await api.create(K.pvc, claim('short-lived', 'rbd'));
    await eventually(
      'CreateVolume in flight',
      async () => (await getClaim('short-lived')).metadata.annotations?.[ANN_PROVISIONING] !== undefined,
    );
    const deleting = (await api.delete(K.pvc, 'default', 'short-lived')) as PersistentVolumeClaim;
    assert.ok(
      deleting.metadata.finalizers?.includes(FINALIZER_PROVISIONING),
      'the in-flight CreateVolume holds the deleted claim',
    );
    await gone(K.pvc, 'default', 'short-lived');
    // The provisioner finishes what it started; the volume is Released and deleted with its image.
    await eventually(
      'no image, no journal entry, no volume object',
      async () =>
        (await cluster!.images()).length === 0 &&
        (await journalKeys()).length === 0 &&
        (await api.list(K.pv)).items.length === 0,
    );
  });
});
