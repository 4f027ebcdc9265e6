// NFS through the whole of berth (root, real nfs-ganesha): an embedded berth with two nodes and
// the NFS driver registered as a CSI driver; claims are provisioned on the server by the driver's
// own NFSv3 client; pods on two nodes share one RWX volume. This kernel has no NFS client, so the
// node-side mount is the named STAND-IN helper (it bind-mounts the export's backing directory).
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import { loadManifests } from '../../src/api/manifests.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { PersistentVolumeClaim, Pod, StorageClass } from '../../src/api/types.js';
import { type EmbeddedBerth, startEmbeddedBerth } from '../../src/cli/embedded.js';
import { RestClient } from '../../src/client/rest.js';
import { DRIVER_NAME, startNfsDriver } from '../../src/drivers/nfs/index.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { eventually } from '../helpers/eventually.js';
import {
  eventOn as eventVia,
  gone as goneVia,
  runPodWithClaim,
  stopBerthAfterCleanup,
} from '../helpers/api-e2e.js';
import {
  type GaneshaServer,
  ganeshaUnavailable,
  startGanesha,
  writeStandinMountHelper,
} from '../helpers/ganesha.js';
import { readSeed } from '../helpers/seeds.js';
import { isRoot, skipUnless } from '../helpers/skip.js';

describe('NFS through the API (nfs-ganesha; node mounts through the stand-in helper)', function () {
  this.timeout(120_000);
  let dir: string;
  let server: GaneshaServer | undefined;
  let driver: { shutdown(): Promise<void> } | undefined;
  let berth: EmbeddedBerth | undefined;
  let api: RestClient;

  before(async function () {
    skipUnless(this, isRoot, 'needs root: bind mounts for the stand-in NFS mount');
    const missing = ganeshaUnavailable();
    skipUnless(this, missing === undefined, `nfs-ganesha is not usable here: ${missing ?? ''}`);
    dir = await mkdtemp(join(tmpdir(), 'berth-nfs-api-'));
    server = await startGanesha();
    const standin = writeStandinMountHelper(server);
    const endpoint = `unix://${join(dir, 'nfs.sock')}`;
    driver = await startNfsDriver({
      endpoint,
      nodeId: 'nfs',
      mountHelper: standin.helper,
      nfsPort: server.nfsPort,
      mountPort: server.mountPort,
      connectTimeoutMs: 1_000,
      callTimeoutMs: 2_000,
    });
    berth = await startEmbeddedBerth({
      dataDir: join(dir, 'data'),
      port: 0,
      logger: silentLogger,
      nodes: ['node-1', 'node-2'].map((name) => ({ name, rootDir: join(dir, 'nodes', name) })),
      csiDrivers: [{ name: DRIVER_NAME, endpoint }],
    });
    api = await RestClient.fromKubeconfig(berth.kubeconfigPath);
    await api.create(K.csidriver, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: DRIVER_NAME },
      spec: { attachRequired: false },
    });
    for (const [name, extra] of Object.entries({
      nfs: { onDelete: 'delete' },
      'nfs-retain': { onDelete: 'retain' },
      'nfs-archive': { onDelete: 'archive' },
      'nfs-bad': { colour: 'blue' },
      'nfs-escape': { subDir: '../outside' },
    })) {
      const sc: StorageClass = {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name },
        provisioner: DRIVER_NAME,
        allowVolumeExpansion: true,
        parameters: { server: server.host, share: server.share, subDir: '${pvc.metadata.name}', ...extra },
      };
      await api.create(K.sc, sc);
    }
  });

  after(async function () {
    await stopBerthAfterCleanup(berth);
    await driver?.shutdown();
    await server?.stop();
    if (dir) {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const claim = (name: string, className: string): PersistentVolumeClaim => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteMany'],
      storageClassName: className,
      resources: { requests: { storage: '1Gi' } },
    },
  });
  const bound = (name: string) =>
    eventually(`${name} Bound`, async () => {
      const c = await api.get<PersistentVolumeClaim>(K.pvc, 'default', name);
      return c.status?.phase === 'Bound' ? c : undefined;
    });
  const gone = (kind: typeof K.pv, ns: string | undefined, name: string) => goneVia(api, kind, ns, name);
  const eventOn = (name: string, reason: string, pattern: RegExp) => eventVia(api, name, reason, pattern);

  it('an RWX claim is shared by pods on two nodes; deleting it deletes the directory', async function () {
    await api.create(K.pvc, claim('shared', 'nfs'));
    const c = await bound('shared');
    assert.ok(existsSync(join(server!.exportDir, 'shared')), 'the subdirectory exists on the server');
    const [writerPath, readerPath] = await Promise.all([
      runPodWithClaim(api, 'writer', 'node-1', 'shared'),
      runPodWithClaim(api, 'reader', 'node-2', 'shared'),
    ]);
    assert.equal((await api.get<Pod>(K.pod, 'default', 'writer')).spec.nodeName, 'node-1');
    assert.equal((await api.get<Pod>(K.pod, 'default', 'reader')).spec.nodeName, 'node-2');
    await writeFile(join(writerPath, 'hello.txt'), 'from node-1\n');
    assert.equal(await readFile(join(readerPath, 'hello.txt'), 'utf8'), 'from node-1\n');
    assert.equal(await readFile(join(server!.exportDir, 'shared', 'hello.txt'), 'utf8'), 'from node-1\n');

    await api.delete(K.pod, 'default', 'writer');
    await api.delete(K.pod, 'default', 'reader');
    await gone(K.pod, 'default', 'writer');
    await gone(K.pod, 'default', 'reader');
    await api.delete(K.pvc, 'default', 'shared');
    await gone(K.pv, undefined, c.spec.volumeName ?? '');
    assert.equal(existsSync(join(server!.exportDir, 'shared')), false, 'onDelete: delete removed it');
  });

  it('onDelete retain keeps the directory, archive renames it', async function () {
    await api.create(K.pvc, claim('kept', 'nfs-retain'));
    await api.create(K.pvc, claim('old', 'nfs-archive'));
    const kept = await bound('kept');
    const old = await bound('old');
    await api.delete(K.pvc, 'default', 'kept');
    await api.delete(K.pvc, 'default', 'old');
    await gone(K.pv, undefined, kept.spec.volumeName ?? '');
    await gone(K.pv, undefined, old.spec.volumeName ?? '');
    assert.ok(existsSync(join(server!.exportDir, 'kept')));
    assert.ok(existsSync(join(server!.exportDir, 'archived-old')));
    assert.equal(existsSync(join(server!.exportDir, 'old')), false);
  });

  it('refuses unknown parameters and a subDir outside the share, with events on the claim', async function () {
    await api.create(K.pvc, claim('bad', 'nfs-bad'));
    await api.create(K.pvc, claim('escape', 'nfs-escape'));
    await eventOn('bad', 'ProvisioningFailed', /colour/);
    await eventOn('escape', 'ProvisioningFailed', /subDir|\.\./);
    assert.ok(!readdirSync(server!.exportDir).includes('outside'));
    assert.ok(!readdirSync(join(server!.exportDir, '..')).includes('outside'));
  });

  it('a server down during CreateVolume is retried; the claim says why; one directory when it returns', async function () {
    await server!.stopServer();
    await api.create(K.pvc, claim('later', 'nfs'));
    await eventOn('later', 'ProvisioningFailed', /UNAVAILABLE|unreachable|ECONNREFUSED/i);
    await server!.startServer();
    await bound('later');
    assert.deepEqual(
      readdirSync(server!.exportDir).filter((n) => n.startsWith('later')),
      ['later'],
    );
  });

  it('a claim grows by accounting only: no node step, the directory stays as it is', async function () {
    await api.create(K.pvc, claim('quota', 'nfs'));
    const c = await bound('quota');
    await api.patch(K.pvc, 'default', 'quota', { spec: { resources: { requests: { storage: '3Gi' } } } });
    const grown = await eventually('quota at 3Gi', async () => {
      const latest = await api.get<PersistentVolumeClaim>(K.pvc, 'default', 'quota');
      return latest.status?.capacity?.['storage'] === '3Gi' ? latest : undefined;
    });
    assert.deepEqual(
      grown.status?.conditions ?? [],
      [],
      'no FileSystemResizePending: nothing for a node to do',
    );
    const pv = await api.get<KubeObject & { spec: { capacity: Record<string, string> } }>(
      K.pv,
      undefined,
      c.spec.volumeName ?? '',
    );
    assert.equal(pv.spec.capacity['storage'], '3Gi');
    await eventOn('quota', 'VolumeResizeSuccessful', /Resize volume succeeded/);
    assert.ok(existsSync(join(server!.exportDir, 'quota')));
  });

  it("the seeds' NFS lab (ten PVs and a 2Gi RWX claim) loads and binds the 2Gi volume", async function () {
    const objects: KubeObject[] = [
      ...loadManifests(readSeed('M32.repaired.yaml'), 'M32'),
      ...loadManifests(readSeed('M33.repaired.yaml'), 'M33'),
    ];
    for (const obj of objects) await api.create(obj.kind === 'PersistentVolume' ? K.pv : K.pvc, obj);
    const mypvc = await bound('mypvc');
    assert.equal(mypvc.spec.volumeName, 'pv007');
  });
});
