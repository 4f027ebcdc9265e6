// Snapshots, restores and clones end to end on the real network backends (root): an embedded berth
// with one node and the driver registered as a CSI driver, driven through the REST API. A pod
// writes a file, the claim is snapshotted, the file changes, a restored claim shows the old
// content to a new pod, a clone of the claim in use shows the new content; then deletes in every
// order (snapshot before its restore and source, source before its snapshot) leave nothing on the
// backend and never take what is still used. rbd: a single-node Ceph; this kernel has no krbd or
// nbd, so images are mapped with rbd-fuse plus a loop device. nfs: nfs-ganesha; this kernel has no
// NFS client, so the node-side mount is the named STAND-IN helper that bind-mounts the export's
// backing directory (the controller's own work, snapshots included, goes over real NFSv3).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, statfsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import { loadManifests } from '../../src/api/manifests.js';
import type { VolumeSnapshot } from '../../src/api/snapshot-types.js';
import { type EmbeddedBerth, startEmbeddedBerth } from '../../src/cli/embedded.js';
import { RestClient } from '../../src/client/rest.js';
import { DRIVER_NAME as NFS_DRIVER, startNfsDriver } from '../../src/drivers/nfs/index.js';
import { DRIVER_NAME as RBD_DRIVER, startRbdDriver } from '../../src/drivers/rbd/index.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { removeTestDir } from '../conformance/host.js';
import { gone, runPodWithClaim, stopBerthAfterCleanup } from '../helpers/api-e2e.js';
import { cephUnavailable, rbdClassManifest, startCephCluster } from '../helpers/ceph.js';
import { eventually } from '../helpers/eventually.js';
import { ganeshaUnavailable, startGanesha, writeStandinMountHelper } from '../helpers/ganesha.js';
import { isRoot, skipUnless } from '../helpers/skip.js';
import {
  SNAPSHOT_API,
  claim as claimOf,
  fromClaim,
  fromSnapshot,
  snapshotOf,
} from '../helpers/snapshot-objects.js';

const API = SNAPSHOT_API;
const NODE = 'node-1';
const MIB = 1024 * 1024;

/** One backend, started for one describe block. */
interface Started {
  driver: string;
  endpoint: string;
  /** StorageClass, CSIDriver, Secret and VolumeSnapshotClass manifests. */
  manifests: string;
  /** What the backend still holds (volumes, snapshots, journal entries), by name. */
  leftovers(): Promise<string[]>;
  stop(): Promise<void>;
}

interface Backend {
  name: string;
  /** Claim size and the larger size a restore asks for (the restored filesystem must fill it). */
  size: string;
  restoreSize: string;
  unavailable(): string | undefined;
  start(dir: string): Promise<Started>;
}

const snapshotClass = (driver: string, parameters: Record<string, string>) =>
  JSON.stringify({
    apiVersion: API,
    kind: 'VolumeSnapshotClass',
    metadata: { name: 'snaps', annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } },
    driver,
    deletionPolicy: 'Delete',
    parameters,
  });

const rbd: Backend = {
  name: 'rbd (real Ceph; rbd-fuse + loop mapper)',
  size: '320Mi',
  restoreSize: '480Mi',
  unavailable: () => (isRoot ? cephUnavailable() : 'needs root: loop devices and mounts'),
  async start(dir) {
    const cluster = await startCephCluster();
    try {
      const configFile = join(dir, 'clusters.yaml');
      await writeFile(
        configFile,
        `- clusterID: snap-e2e\n  monitors: ["${cluster.monitors.join('", "')}"]\n`,
      );
      const endpoint = `unix://${join(dir, 'rbd.sock')}`;
      const driver = await startRbdDriver({
        endpoint,
        nodeId: 'rbd',
        configFile,
        stateDir: join(dir, 'rbd-state'),
      });
      const secretParams: Record<string, string> = {};
      for (const op of ['snapshotter']) {
        secretParams[`csi.storage.k8s.io/${op}-secret-name`] = 'csi-rbd-secret';
        secretParams[`csi.storage.k8s.io/${op}-secret-namespace`] = 'default';
      }
      const omapKeys = async (object: string) =>
        (await cluster.run('rados', ['-p', cluster.pool, 'listomapkeys', object]).catch(() => ''))
          .split('\n')
          .filter((line) => line !== '');
      return {
        driver: RBD_DRIVER,
        endpoint,
        manifests: [
          `apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata: { name: ${RBD_DRIVER} }\nspec: { attachRequired: true }`,
          `apiVersion: v1\nkind: Secret\nmetadata: { name: csi-rbd-secret, namespace: default }\nstringData: { userID: admin, userKey: "${cluster.adminKey}" }`,
          rbdClassManifest({
            name: 'backend',
            driver: RBD_DRIVER,
            clusterID: 'snap-e2e',
            pool: cluster.pool,
            secret: 'csi-rbd-secret',
          }),
          snapshotClass(RBD_DRIVER, { clusterID: 'snap-e2e', ...secretParams }),
        ].join('\n---\n'),
        leftovers: async () => [
          ...(await cluster.images()).map((i) => `image ${i}`),
          ...(await omapKeys('csi.volumes.default')).map((k) => `journal ${k}`),
          ...(await omapKeys('csi.snaps.default')).map((k) => `snapshot journal ${k}`),
        ],
        stop: async () => {
          await driver.shutdown();
          await cluster.stop();
        },
      };
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  },
};

const nfs: Backend = {
  name: 'nfs (nfs-ganesha; node mounts through the STAND-IN helper)',
  size: '1Gi',
  restoreSize: '2Gi',
  unavailable: () => {
    if (!isRoot) return 'needs root: bind mounts for the stand-in NFS mount';
    const missing = ganeshaUnavailable();
    return missing === undefined ? undefined : `nfs-ganesha is not usable here: ${missing}`;
  },
  async start(dir) {
    const server = await startGanesha();
    try {
      const standin = writeStandinMountHelper(server);
      const endpoint = `unix://${join(dir, 'nfs.sock')}`;
      const driver = await startNfsDriver({
        endpoint,
        nodeId: 'nfs',
        mountHelper: standin.helper,
        nfsPort: server.nfsPort,
        mountPort: server.mountPort,
      });
      const params = { server: server.host, share: server.share, subDir: '${pvc.metadata.name}' };
      return {
        driver: NFS_DRIVER,
        endpoint,
        manifests: [
          `apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata: { name: ${NFS_DRIVER} }\nspec: { attachRequired: false }`,
          JSON.stringify({
            apiVersion: 'storage.k8s.io/v1',
            kind: 'StorageClass',
            metadata: { name: 'backend' },
            provisioner: NFS_DRIVER,
            parameters: params,
          }),
          snapshotClass(NFS_DRIVER, {}),
        ].join('\n---\n'),
        // volume directories and snapshot directories alike live at the top of the export
        leftovers: async () => readdirSync(server.exportDir).map((name) => `entry ${name}`),
        stop: async () => {
          await driver.shutdown();
          await server.stop();
        },
      };
    } catch (err) {
      await server.stop();
      throw err;
    }
  },
};

for (const backend of [rbd, nfs]) {
  describe(`snapshots end to end on ${backend.name}`, function () {
    this.timeout(300_000);
    let dir: string;
    let started: Started | undefined;
    let berth: EmbeddedBerth | undefined;
    let api: RestClient;

    before(async function () {
      const unavailable = backend.unavailable();
      skipUnless(this, unavailable === undefined, unavailable ?? '');
      dir = await mkdtemp(join(tmpdir(), 'berth-snap-backend-'));
      started = await backend.start(dir);
      berth = await startEmbeddedBerth({
        dataDir: join(dir, 'data'),
        port: 0,
        logger: silentLogger,
        nodes: [{ name: NODE, rootDir: join(dir, 'nodes', NODE) }],
        csiDrivers: [{ name: started.driver, endpoint: started.endpoint }],
      });
      api = await RestClient.fromKubeconfig(berth.kubeconfigPath);
      for (const obj of loadManifests(started.manifests, 'backend.yaml')) {
        const kind = {
          CSIDriver: K.csidriver,
          Secret: K.secret,
          StorageClass: K.sc,
          VolumeSnapshotClass: K.vsclass,
        }[obj.kind ?? ''];
        assert.ok(kind, `no kind for ${obj.kind ?? ''}`);
        await api.create(kind, obj);
      }
    });

    after(async function () {
      if (berth) {
        for (const s of (await berth.store.list(K.vs)).items)
          await berth.store.delete(K.vs, 'default', s.metadata.name ?? '').catch(() => undefined);
      }
      await stopBerthAfterCleanup(berth);
      await started?.stop();
      if (dir) assert.deepEqual(removeTestDir(dir), { mounts: [], loops: [] }, 'nothing left mounted');
    });

    const claim = (name: string, size: string, dataSource?: Record<string, string>) =>
      claimOf(name, 'backend', size, dataSource);
    const ready = (name: string) =>
      eventually(`${name} ready`, async () => {
        const s = await api.get<VolumeSnapshot>(K.vs, 'default', name);
        return s.status?.readyToUse === true ? s : undefined;
      });
    const deletePod = async (name: string) => {
      await api.delete(K.pod, 'default', name);
      await gone(api, K.pod, 'default', name);
    };
    /** Written and flushed to the backend, so a snapshot taken now holds it. */
    const writeFlushed = async (path: string, text: string) => {
      await writeFile(join(path, 'file'), text);
      execFileSync('sync', ['-f', join(path, 'file')]);
    };
    const readOnce = async (pod: string, claimName: string) => {
      const path = await runPodWithClaim(api, pod, NODE, claimName);
      const text = await readFile(join(path, 'file'), 'utf8');
      const fs = statfsSync(path);
      await deletePod(pod);
      return { text, bytes: fs.blocks * fs.bsize };
    };

    it('restores the old content into a larger claim and clones a claim in use', async () => {
      await api.create(K.pvc, claim('data', backend.size));
      const path = await runPodWithClaim(api, 'writer', NODE, 'data');
      await writeFlushed(path, 'before');
      await api.create(K.vs, snapshotOf('snap', 'data'));
      const snap = await ready('snap');
      assert.equal(snap.spec.volumeSnapshotClassName, 'snaps', 'the default class is filled in');
      // rbd: the image's size; nfs: the archive's, as csi-driver-nfs reports it
      assert.ok(snap.status?.restoreSize, 'the restore size is known');
      await writeFlushed(path, 'after');

      await api.create(K.pvc, claim('restored', backend.restoreSize, fromSnapshot('snap')));
      // the writer keeps running: the clone is of a claim in use
      await api.create(K.pvc, claim('clone', backend.size, fromClaim('data')));
      const restored = await readOnce('reader', 'restored');
      assert.equal(restored.text, 'before');
      if (backend === rbd) {
        // a block volume restored into a larger size: the filesystem fills it (xfs here)
        assert.ok(restored.bytes > 400 * MIB, `restored filesystem is ${restored.bytes} bytes`);
      }
      assert.equal((await readOnce('clone-reader', 'clone')).text, 'after');
      await deletePod('writer');
    });

    it('deletes in every order: nothing is taken while used, nothing is left', async () => {
      // the snapshot before the claim restored from it and before its source
      await api.delete(K.vs, 'default', 'snap');
      await gone(api, K.vs, 'default', 'snap');
      await eventually('its content gone', async () => (await api.list(K.vsc)).items.length === 0);
      assert.equal(
        (await readOnce('reader-2', 'restored')).text,
        'before',
        'the restore outlives its snapshot',
      );
      assert.equal((await readOnce('writer-2', 'data')).text, 'after', 'the source outlives its snapshot');

      // the source before its snapshot: the snapshot stays usable
      await api.create(K.vs, snapshotOf('snap2', 'clone'));
      await ready('snap2');
      await api.delete(K.pvc, 'default', 'clone');
      await gone(api, K.pvc, 'default', 'clone');
      await eventually('the clone volume gone', async () => (await api.list(K.pv)).items.length === 2);
      assert.equal((await ready('snap2')).status?.readyToUse, true);
      await api.create(K.pvc, claim('late', backend.size, fromSnapshot('snap2')));
      assert.equal((await readOnce('late-reader', 'late')).text, 'after');

      await api.delete(K.vs, 'default', 'snap2');
      for (const c of ['data', 'restored', 'late']) await api.delete(K.pvc, 'default', c);
      await eventually('volumes and contents gone', async () => {
        const [pvs, contents] = await Promise.all([api.list(K.pv), api.list(K.vsc)]);
        return pvs.items.length + contents.items.length === 0;
      });
      const leftovers = await eventually('nothing left on the backend', async () => {
        const left = await started!.leftovers();
        return left.length === 0 ? left : undefined;
      }).catch(async () => started!.leftovers());
      assert.deepEqual(leftovers, [], 'no volume or snapshot leaks');
    });
  });
}
