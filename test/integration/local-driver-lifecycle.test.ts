// The local driver end to end on real loop devices: provision, stage (ext4, xfs, block), publish,
// write, grow online, enforce capacity, refuse deletes of staged volumes, survive restarts, and
// leave no loop device or mount behind.
import assert from 'node:assert/strict';
import { promises as fs, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../../src/csi/client.js';
import { status } from '../../src/csi/errors.js';
import type { PartialMessage, VolumeCapability } from '../../src/csi/types.js';
import { startLocalDriver } from '../../src/drivers/local/index.js';
import type { LocalDriverHandle } from '../../src/drivers/local/index.js';
import { expectCode } from '../conformance/csi-conformance.js';
import {
  canGrowExtOnline,
  hasCommand,
  loopsUnder,
  mountsUnder,
  realDiskUnavailable,
  sweepHost,
} from '../conformance/host.js';
import { skipUnless } from '../helpers/skip.js';

const MIB = 1024 * 1024;
const unavailable = realDiskUnavailable();

function mountCap(fsType = ''): PartialMessage<VolumeCapability> {
  return { mount: { fs_type: fsType, mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
}
const blockCap: PartialMessage<VolumeCapability> = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

async function filesystemBytes(dir: string): Promise<number> {
  const stats = await fs.statfs(dir);
  return stats.blocks * stats.bsize;
}

describe('local driver on real disks', function () {
  let dir: string;
  let driver: LocalDriverHandle | undefined;
  let client: CsiClient | undefined;
  const socket = () => path.join(dir, 'csi.sock');

  async function start(): Promise<CsiClient> {
    driver = await startLocalDriver({
      endpoint: socket(),
      nodeId: 'node-a',
      dataDir: path.join(dir, 'data'),
    });
    client = new CsiClient(driver.socketPath, { timeoutMs: 60_000 });
    return client;
  }
  async function stop(): Promise<void> {
    client?.close();
    client = undefined;
    await driver?.shutdown();
    driver = undefined;
  }

  before(function () {
    skipUnless(this, unavailable === undefined, unavailable ?? '');
  });

  beforeEach(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-local-e2e-'));
    mkdirSync(path.join(dir, 'pods'));
  });

  afterEach(async function () {
    if (!dir) return;
    await stop();
    const leftovers = { mounts: mountsUnder(dir), loops: loopsUnder(dir) };
    sweepHost(dir);
    rmSync(dir, { recursive: true, force: true });
    if (this.currentTest?.state === 'passed') {
      assert.deepEqual(leftovers, { mounts: [], loops: [] }, 'no loop device or mount left behind');
    }
  });

  async function provisionAndPublish(
    c: CsiClient,
    name: string,
    bytes: number,
    cap: PartialMessage<VolumeCapability>,
  ) {
    const volume = (
      await c.createVolume({
        name,
        capacity_range: { required_bytes: String(bytes) },
        volume_capabilities: [cap],
      })
    ).volume!;
    const staging = path.join(dir, 'staging', name);
    const target = path.join(dir, 'pods', name);
    await c.nodeStageVolume({
      volume_id: volume.volume_id,
      staging_target_path: staging,
      volume_capability: cap,
    });
    await c.nodePublishVolume({
      volume_id: volume.volume_id,
      staging_target_path: staging,
      target_path: target,
      volume_capability: cap,
    });
    return { id: volume.volume_id, staging, target };
  }

  async function teardown(c: CsiClient, v: { id: string; staging: string; target: string }) {
    await c.nodeUnpublishVolume({ volume_id: v.id, target_path: v.target });
    await c.nodeUnstageVolume({ volume_id: v.id, staging_target_path: v.staging });
    await c.deleteVolume({ volume_id: v.id });
  }

  for (const fsType of ['ext4', 'xfs'] as const) {
    // mkfs.xfs refuses filesystems below 300 MiB; the backing files are sparse either way.
    const [initial, grown] = fsType === 'xfs' ? [320 * MIB, 512 * MIB] : [64 * MIB, 160 * MIB];

    it(`${fsType}: provision, stage, publish, write, grow (online where the host allows), tear down`, async function () {
      skipUnless(this, hasCommand(`mkfs.${fsType}`), `needs mkfs.${fsType}`);
      if (fsType === 'xfs') skipUnless(this, hasCommand('xfs_growfs'), 'needs xfs_growfs');
      const c = await start();
      const cap = mountCap(fsType);
      const v = await provisionAndPublish(c, `grow-${fsType}`, initial, cap);
      const mount = mountsUnder(dir).includes(v.target);
      assert.ok(mount, 'target is a mount point');
      await fs.writeFile(path.join(v.target, 'before'), 'data before growing');
      const sizeBefore = await filesystemBytes(v.target);
      assert.ok(sizeBefore <= initial, `filesystem ${sizeBefore} fits in ${initial}`);

      const expanded = await c.controllerExpandVolume({
        volume_id: v.id,
        capacity_range: { required_bytes: String(grown) },
        volume_capability: cap,
      });
      assert.equal(expanded.node_expansion_required, true);
      assert.equal(Number(expanded.capacity_bytes), grown);
      const nodeExpand = c.nodeExpandVolume({
        volume_id: v.id,
        volume_path: v.target,
        staging_target_path: v.staging,
        capacity_range: { required_bytes: String(grown) },
        volume_capability: cap,
      });
      if (fsType === 'ext4' && !canGrowExtOnline) {
        // Online ext4 growth needs CAP_SYS_RESOURCE; without it the driver says so, and the next
        // stage grows the filesystem offline before mounting it.
        await expectCode(nodeExpand, status.FAILED_PRECONDITION, 'online ext4 grow without CAP_SYS_RESOURCE');
        await c.nodeUnpublishVolume({ volume_id: v.id, target_path: v.target });
        await c.nodeUnstageVolume({ volume_id: v.id, staging_target_path: v.staging });
        await c.nodeStageVolume({ volume_id: v.id, staging_target_path: v.staging, volume_capability: cap });
        await c.nodePublishVolume({
          volume_id: v.id,
          staging_target_path: v.staging,
          target_path: v.target,
          volume_capability: cap,
        });
      } else {
        assert.equal(Number((await nodeExpand).capacity_bytes), grown);
      }
      const sizeAfter = await filesystemBytes(v.target);
      assert.ok(
        sizeAfter > sizeBefore + (grown - initial) * 0.8,
        `filesystem grew: ${sizeBefore} -> ${sizeAfter}`,
      );
      const stats = await c.nodeGetVolumeStats({ volume_id: v.id, volume_path: v.target });
      assert.equal(Number(stats.usage.find((u) => u.unit === 'BYTES')?.total), sizeAfter);
      // More than the old size now fits.
      await fs.writeFile(path.join(v.target, 'big'), Buffer.alloc(initial, 1));
      assert.equal(await fs.readFile(path.join(v.target, 'before'), 'utf8'), 'data before growing');
      await teardown(c, v);
    });
  }

  it('enforces capacity: writing more than the volume holds fails with ENOSPC', async function () {
    const c = await start();
    const v = await provisionAndPublish(c, 'small', 16 * MIB, mountCap());
    await assert.rejects(fs.writeFile(path.join(v.target, 'too-big'), Buffer.alloc(32 * MIB, 7)), {
      code: 'ENOSPC',
    });
    await fs.rm(path.join(v.target, 'too-big'), { force: true });
    await teardown(c, v);
  });

  it('publishes a read-only view when asked', async function () {
    const c = await start();
    const cap = mountCap();
    const v = await provisionAndPublish(c, 'ro', 16 * MIB, cap);
    const readonlyTarget = path.join(dir, 'pods', 'ro-view');
    await c.nodePublishVolume({
      volume_id: v.id,
      staging_target_path: v.staging,
      target_path: readonlyTarget,
      volume_capability: cap,
      readonly: true,
    });
    await fs.writeFile(path.join(v.target, 'shared'), 'visible');
    assert.equal(await fs.readFile(path.join(readonlyTarget, 'shared'), 'utf8'), 'visible');
    await assert.rejects(fs.writeFile(path.join(readonlyTarget, 'nope'), 'x'), { code: 'EROFS' });
    await c.nodeUnpublishVolume({ volume_id: v.id, target_path: readonlyTarget });
    await teardown(c, v);
  });

  it('block access publishes the loop device itself, and grows without a node step', async function () {
    const c = await start();
    const v = await provisionAndPublish(c, 'raw', 32 * MIB, blockCap);
    assert.ok((await fs.stat(v.target)).isBlockDevice(), 'target is a block device');
    const handle = await fs.open(v.target, 'r+');
    try {
      await handle.write(Buffer.from('raw block data'), 0, 14, 0);
      const back = Buffer.alloc(14);
      await handle.read(back, 0, 14, 0);
      assert.equal(back.toString(), 'raw block data');
      assert.equal((await handle.read(Buffer.alloc(16), 0, 16, 32 * MIB)).bytesRead, 0, 'ends at 32 MiB');
    } finally {
      await handle.close();
    }
    const expanded = await c.controllerExpandVolume({
      volume_id: v.id,
      capacity_range: { required_bytes: String(48 * MIB) },
    });
    assert.equal(expanded.node_expansion_required, false);
    const stats = await c.nodeGetVolumeStats({ volume_id: v.id, volume_path: v.target });
    assert.equal(Number(stats.usage[0]?.total), 48 * MIB);
    const again = await fs.open(v.target, 'r');
    try {
      assert.equal(
        (await again.read(Buffer.alloc(16), 0, 16, 40 * MIB)).bytesRead,
        16,
        'device grew to 48 MiB',
      );
    } finally {
      await again.close();
    }
    await teardown(c, v);
  });

  it('refuses DeleteVolume while staged and NodeUnstage while published (FAILED_PRECONDITION)', async function () {
    const c = await start();
    const v = await provisionAndPublish(c, 'busy', 16 * MIB, mountCap());
    await expectCode(c.deleteVolume({ volume_id: v.id }), status.FAILED_PRECONDITION, 'delete while staged');
    await expectCode(
      c.nodeUnstageVolume({ volume_id: v.id, staging_target_path: v.staging }),
      status.FAILED_PRECONDITION,
      'unstage while published',
    );
    await c.nodeUnpublishVolume({ volume_id: v.id, target_path: v.target });
    await expectCode(
      c.deleteVolume({ volume_id: v.id }),
      status.FAILED_PRECONDITION,
      'delete while still staged',
    );
    await c.nodeUnstageVolume({ volume_id: v.id, staging_target_path: v.staging });
    await c.deleteVolume({ volume_id: v.id });
  });

  it('a restarted driver finds staged volumes: publish, unpublish and unstage after restart', async function () {
    let c = await start();
    const cap = mountCap();
    const id = (
      await c.createVolume({
        name: 'restart',
        capacity_range: { required_bytes: String(16 * MIB) },
        volume_capabilities: [cap],
      })
    ).volume!.volume_id;
    const staging = path.join(dir, 'staging', 'restart');
    await c.nodeStageVolume({ volume_id: id, staging_target_path: staging, volume_capability: cap });
    await fs.writeFile(path.join(staging, 'from-first-run'), 'one');
    const loopsBefore = loopsUnder(dir);
    await stop();

    c = await start();
    // Staging again after the restart reuses the attached loop device instead of attaching another.
    await c.nodeStageVolume({ volume_id: id, staging_target_path: staging, volume_capability: cap });
    assert.deepEqual(loopsUnder(dir), loopsBefore);
    const target = path.join(dir, 'pods', 'restart');
    await c.nodePublishVolume({
      volume_id: id,
      staging_target_path: staging,
      target_path: target,
      volume_capability: cap,
    });
    assert.equal(await fs.readFile(path.join(target, 'from-first-run'), 'utf8'), 'one');
    await stop();

    c = await start();
    await expectCode(c.deleteVolume({ volume_id: id }), status.FAILED_PRECONDITION);
    await c.nodeUnpublishVolume({ volume_id: id, target_path: target });
    await c.nodeUnstageVolume({ volume_id: id, staging_target_path: staging });
    assert.deepEqual(loopsUnder(dir), []);
    await c.deleteVolume({ volume_id: id });
    const list = await c.listVolumes({});
    assert.equal(list.entries.length, 0);
  });

  it('refuses volumes for other nodes and multi-node access', async function () {
    const c = await start();
    await expectCode(
      c.createVolume({
        name: 'elsewhere',
        volume_capabilities: [mountCap()],
        accessibility_requirements: {
          requisite: [{ segments: { 'topology.local.csi.berth.io/node': 'node-b' } }],
        },
      }),
      status.RESOURCE_EXHAUSTED,
    );
    await expectCode(
      c.createVolume({
        name: 'shared',
        volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }],
      }),
      status.INVALID_ARGUMENT,
    );
    const here = await c.createVolume({
      name: 'here',
      capacity_range: { required_bytes: String(MIB) },
      volume_capabilities: [mountCap()],
      accessibility_requirements: {
        requisite: [
          { segments: { 'topology.local.csi.berth.io/node': 'node-b' } },
          { segments: { 'topology.local.csi.berth.io/node': 'node-a' } },
        ],
      },
    });
    assert.deepEqual(here.volume?.accessible_topology, [
      { segments: { 'topology.local.csi.berth.io/node': 'node-a' } },
    ]);
    assert.equal(here.volume?.volume_id, 'node-a/here');
    await c.deleteVolume({ volume_id: 'node-a/here' });
  });
});
