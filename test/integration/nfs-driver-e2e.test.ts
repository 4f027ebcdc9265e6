// End to end at the driver level: CSI calls over the unix socket to the NFS driver, whose controller
// talks NFSv3 to a real nfs-ganesha. Node mounts go through the STAND-IN mount helper (this kernel
// has no NFS client): it bind-mounts the export's backing directory at the target.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../../src/csi/client.js';
import { status } from '../../src/csi/errors.js';
import type { CreateVolumeRequest, PartialMessage, VolumeCapability } from '../../src/csi/types.js';
import type { NfsDriverHandle } from '../../src/drivers/nfs/index.js';
import { decodeVolumeId, nfsSourceToVolumeContext, startNfsDriver } from '../../src/drivers/nfs/index.js';
import { NfsClient } from '../../src/nfs-client/index.js';
import { expectCode } from '../conformance/csi-conformance.js';
import { removeTestDir } from '../conformance/host.js';
import type { GaneshaServer } from '../helpers/ganesha.js';
import { ganeshaUnavailable, startGanesha, writeStandinMountHelper } from '../helpers/ganesha.js';
import { skipUnless } from '../helpers/skip.js';

const unavailable = ganeshaUnavailable();
const RWX: PartialMessage<VolumeCapability> = {
  mount: { fs_type: '', mount_flags: ['nfsvers=3', 'hard'] },
  access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' },
};

describe('nfs driver end to end (real ganesha, stand-in node mounts)', function () {
  let server: GaneshaServer;
  let dir: string;
  let driver: NfsDriverHandle;
  let csi: CsiClient;
  let mountLog: string;

  const serverView = async (subPath: string) => {
    const nfs = await NfsClient.connect(server.clientOptions, server.share);
    try {
      return await nfs.lookupPath(subPath);
    } finally {
      nfs.close();
    }
  };
  const serverNames = async () => {
    const nfs = await NfsClient.connect(server.clientOptions, server.share);
    try {
      return (await nfs.readdir(nfs.root)).map((entry) => entry.name).sort();
    } finally {
      nfs.close();
    }
  };
  const create = (
    name: string,
    parameters: Record<string, string>,
    extra: Partial<CreateVolumeRequest> = {},
  ) =>
    csi.createVolume({
      name,
      capacity_range: { required_bytes: String(1 << 30) },
      volume_capabilities: [RWX],
      parameters: { server: server.host, share: server.share, ...parameters },
      ...extra,
    });
  const publish = (volumeId: string, context: Record<string, string>, target: string, readonly = false) =>
    csi.nodePublishVolume({
      volume_id: volumeId,
      target_path: target,
      volume_capability: RWX,
      volume_context: context,
      readonly,
    });

  before(async function () {
    skipUnless(this, unavailable === undefined, unavailable ?? '');
    server = await startGanesha();
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-nfs-e2e-'));
    const standin = writeStandinMountHelper(server);
    mountLog = standin.log;
    driver = await startNfsDriver({
      endpoint: `unix://${path.join(dir, 'csi.sock')}`,
      nodeId: 'node-a',
      mountHelper: standin.helper,
      mountTimeoutMs: 10_000,
      nfsPort: server.nfsPort,
      mountPort: server.mountPort,
      connectTimeoutMs: 1_000,
      callTimeoutMs: 1_500,
    });
    csi = new CsiClient(driver.socketPath, { timeoutMs: 20_000 });
  });

  after(async function () {
    csi?.close();
    await driver?.shutdown();
    if (dir) {
      const leftovers = removeTestDir(dir).mounts;
      assert.deepEqual(leftovers, [], 'no mounts left behind');
    }
    await server?.stop();
  });

  it("RWX claim: two nodes publish one volume and see each other's writes", async function () {
    const { volume } = await create('pvc-0001', {
      subDir: '${pvc.metadata.namespace}-${pvc.metadata.name}',
      mountPermissions: '0775',
      'csi.storage.k8s.io/pvc/name': 'shared',
      'csi.storage.k8s.io/pvc/namespace': 'web',
      'csi.storage.k8s.io/pv/name': 'pvc-0001',
    });
    assert.ok(volume);
    assert.equal(decodeVolumeId(volume.volume_id)?.subDir, 'web-shared');
    const onServer = await serverView('web-shared');
    assert.equal(onServer?.attributes.type, 'dir');
    assert.equal((onServer?.attributes.mode ?? 0) & 0o7777, 0o775);
    assert.equal(statSync(path.join(server.exportDir, 'web-shared')).mode & 0o7777, 0o775);

    const nodeA = path.join(dir, 'node-a', 'pods', 'uid-1', 'mount');
    const nodeB = path.join(dir, 'node-b', 'pods', 'uid-2', 'mount');
    for (const target of [nodeA, nodeB, nodeA])
      await publish(volume.volume_id, volume.volume_context, target);
    writeFileSync(path.join(nodeA, 'index.html'), 'written on node a');
    assert.equal(readFileSync(path.join(nodeB, 'index.html'), 'utf8'), 'written on node a');
    assert.ok(await serverView('web-shared/index.html'), 'the file is on the server');
    assert.match(
      readFileSync(mountLog, 'utf8'),
      new RegExp(`nfsvers=3,hard ${server.host}:/export/web-shared `),
    );

    await expectCode(
      publish(volume.volume_id, volume.volume_context, nodeA, true),
      status.ALREADY_EXISTS,
      'ro differs',
    );
    const reader = path.join(dir, 'node-c', 'pods', 'uid-3', 'mount');
    await publish(volume.volume_id, volume.volume_context, reader, true);
    assert.equal(readFileSync(path.join(reader, 'index.html'), 'utf8'), 'written on node a');
    await assert.rejects(fs.writeFile(path.join(reader, 'x'), 'no'), { code: 'EROFS' });

    for (const target of [nodeA, nodeB, reader, nodeA]) {
      await csi.nodeUnpublishVolume({ volume_id: volume.volume_id, target_path: target });
      assert.equal(existsSync(target), false, `${target} removed`);
    }
    await csi.deleteVolume({ volume_id: volume.volume_id });
    assert.equal(await serverView('web-shared'), undefined);
  });

  for (const onDelete of ['delete', 'retain', 'archive'] as const) {
    it(`DeleteVolume with onDelete=${onDelete} acts on the server, and twice is fine`, async function () {
      const name = `pvc-ondelete-${onDelete}`;
      const { volume } = await create(name, { onDelete });
      assert.ok(volume);
      const target = path.join(dir, 'pods', name);
      await publish(volume.volume_id, volume.volume_context, target);
      mkdirSync(path.join(target, 'nested', 'deeper'), { recursive: true });
      writeFileSync(path.join(target, 'nested', 'deeper', 'data'), onDelete);
      await csi.nodeUnpublishVolume({ volume_id: volume.volume_id, target_path: target });
      await csi.deleteVolume({ volume_id: volume.volume_id });
      await csi.deleteVolume({ volume_id: volume.volume_id });
      const kept = await serverView(name);
      const archived = await serverView(`archived-${name}`);
      const expected = { delete: [false, false], retain: [true, false], archive: [false, true] }[onDelete];
      assert.deepEqual([kept !== undefined, archived !== undefined], expected, 'seen over NFS');
      assert.deepEqual(
        [
          existsSync(path.join(server.exportDir, name)),
          existsSync(path.join(server.exportDir, `archived-${name}`)),
        ],
        expected,
        'seen in the backing directory',
      );
      if (onDelete !== 'delete') {
        const where = onDelete === 'retain' ? name : `archived-${name}`;
        assert.equal(
          readFileSync(path.join(server.exportDir, where, 'nested', 'deeper', 'data'), 'utf8'),
          onDelete,
        );
      }
    });
  }

  it('a templated multi-level subDir is removed with its now-empty parent', async function () {
    const { volume } = await create('pvc-multi', {
      subDir: '${pvc.metadata.namespace}/${pvc.metadata.name}',
      'csi.storage.k8s.io/pvc/name': 'db',
      'csi.storage.k8s.io/pvc/namespace': 'team-multi',
    });
    assert.ok(await serverView('team-multi/db'));
    await csi.deleteVolume({ volume_id: volume!.volume_id });
    assert.equal(await serverView('team-multi'), undefined);
  });

  it('refuses unknown parameters and subDirs that escape the share, creating nothing', async function () {
    const before = await serverNames();
    await expectCode(create('pvc-bad-1', { fsType: 'ext4' }), status.INVALID_ARGUMENT, 'unknown parameter');
    await expectCode(create('pvc-bad-2', { subDir: '../outside' }), status.INVALID_ARGUMENT, '..');
    await expectCode(create('pvc-bad-3', { subDir: '/etc' }), status.INVALID_ARGUMENT, 'absolute');
    await expectCode(
      create('pvc-bad-4', { subDir: 'a/${pvc.metadata.name}', 'csi.storage.k8s.io/pvc/name': '..' }),
      status.INVALID_ARGUMENT,
      '.. from a template',
    );
    await expectCode(
      create('pvc-bad-5', {
        subDir: '${pvc.metadata.namespace}',
        'csi.storage.k8s.io/pvc/namespace': '/root',
      }),
      status.INVALID_ARGUMENT,
      'absolute from a template',
    );
    await expectCode(
      create(
        'pvc-bad-6',
        {},
        { volume_capabilities: [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] },
      ),
      status.INVALID_ARGUMENT,
      'block',
    );
    await expectCode(
      publish(
        'x#export#../..##',
        { server: server.host, share: server.share, subDir: '../..' },
        path.join(dir, 'pods', 'bad'),
      ),
      status.INVALID_ARGUMENT,
      'traversal at publish',
    );
    assert.deepEqual(await serverNames(), before);
  });

  it('a missing export is refused with a clear error', async function () {
    await expectCode(
      create('pvc-noexport', { share: '/no-such-export' }),
      status.PERMISSION_DENIED,
      'missing export',
    );
  });

  it('server down during CreateVolume: UNAVAILABLE, then the retry makes exactly one directory', async function () {
    await server.stopServer();
    try {
      await expectCode(create('pvc-retry', {}), status.UNAVAILABLE, 'server down');
    } finally {
      await server.startServer();
    }
    const first = await create('pvc-retry', {});
    const second = await create('pvc-retry', {});
    assert.equal(second.volume?.volume_id, first.volume?.volume_id);
    assert.deepEqual(
      (await serverNames()).filter((name) => name.startsWith('pvc-retry')),
      ['pvc-retry'],
    );
    await csi.deleteVolume({ volume_id: first.volume!.volume_id });
  });

  it('a hung server fails the call with UNAVAILABLE within the call deadline', async function () {
    server.freeze();
    const started = Date.now();
    try {
      await expectCode(create('pvc-hung', {}), status.UNAVAILABLE, 'hung server');
    } finally {
      server.thaw();
    }
    assert.ok(Date.now() - started < 8_000, `took ${Date.now() - started} ms`);
    const made = await create('pvc-hung', {});
    await csi.deleteVolume({ volume_id: made.volume!.volume_id });
  });

  it('static PVs: spec.csi volumeAttributes and in-tree spec.nfs publish without CreateVolume', async function () {
    mkdirSync(path.join(server.exportDir, 'static', 'site'), { recursive: true });
    writeFileSync(path.join(server.exportDir, 'static', 'site', 'hello'), 'static');
    const viaCsi = path.join(dir, 'pods', 'static-csi');
    await publish(
      'my-static-handle',
      { server: server.host, share: server.share, subDir: 'static/site' },
      viaCsi,
    );
    assert.equal(readFileSync(path.join(viaCsi, 'hello'), 'utf8'), 'static');
    const viaInTree = path.join(dir, 'pods', 'static-intree');
    await publish(
      'in-tree-pv',
      nfsSourceToVolumeContext({ server: server.host, path: server.share }),
      viaInTree,
    );
    assert.equal(readFileSync(path.join(viaInTree, 'static', 'site', 'hello'), 'utf8'), 'static');
    const stats = await csi.nodeGetVolumeStats({ volume_id: 'in-tree-pv', volume_path: viaInTree });
    assert.ok(stats.usage.length > 0);
    for (const target of [viaCsi, viaInTree])
      await csi.nodeUnpublishVolume({ volume_id: 'static', target_path: target });
    await csi.deleteVolume({ volume_id: 'my-static-handle' }); // not an id of ours: nothing happens
    assert.ok(existsSync(path.join(server.exportDir, 'static', 'site', 'hello')));
  });
});
