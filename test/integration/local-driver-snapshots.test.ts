// The local driver's snapshots, restores and clones on real loop devices, ext4 and xfs: a file
// written through a mounted volume, snapshotted (frozen while mounted), changed, restored into a
// new volume that shows the old content; a clone of a volume in use; the hostile cases; and
// every delete order, with nothing left behind.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../../src/csi/client.js';
import { CsiError } from '../../src/csi/errors.js';
import { startLocalDriver, type LocalDriverHandle } from '../../src/drivers/local/index.js';
import { hasCommand, realDiskUnavailable, removeTestDir } from '../conformance/host.js';
import { skipUnless } from '../helpers/skip.js';

const GiB = 1n << 30n;

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CsiError, String(err));
    return err.codeName;
  }
  return 'OK';
}

for (const fsType of ['ext4', 'xfs'] as const) {
  describe(`local driver snapshots on ${fsType}`, function () {
    this.timeout(120_000);
    let dir: string;
    let driver: LocalDriverHandle;
    let client: CsiClient;
    const capability = { mount: { fs_type: fsType }, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } };

    before(async function () {
      const unavailable = realDiskUnavailable([`mkfs.${fsType}`, 'fsfreeze', 'cp']);
      skipUnless(
        this,
        unavailable === undefined && hasCommand(`mkfs.${fsType}`),
        unavailable ?? `needs mkfs.${fsType}`,
      );
      dir = mkdtempSync(path.join(os.tmpdir(), 'berth-local-snap-'));
      driver = await startLocalDriver({
        endpoint: `unix://${path.join(dir, 'csi.sock')}`,
        nodeId: 'snap-node',
        dataDir: path.join(dir, 'data'),
      });
      client = new CsiClient(driver.socketPath, { timeoutMs: 60_000 });
    });

    after(async function () {
      if (!driver) return;
      client.close();
      await driver.shutdown();
      assert.deepEqual(removeTestDir(dir), { mounts: [], loops: [] }, 'nothing left behind');
    });

    const create = async (name: string, bytes: bigint, source?: { snapshot?: string; volume?: string }) => {
      const answer = await client.createVolume({
        name,
        capacity_range: { required_bytes: bytes.toString() },
        volume_capabilities: [capability],
        ...(source?.snapshot
          ? { volume_content_source: { snapshot: { snapshot_id: source.snapshot } } }
          : {}),
        ...(source?.volume ? { volume_content_source: { volume: { volume_id: source.volume } } } : {}),
      });
      return answer.volume!.volume_id;
    };
    const mount = async (id: string, name: string) => {
      const staging = path.join(dir, 'staging', name);
      const target = path.join(dir, 'pods', name);
      mkdirSync(path.dirname(target), { recursive: true });
      await client.nodeStageVolume({
        volume_id: id,
        staging_target_path: staging,
        volume_capability: capability,
      });
      await client.nodePublishVolume({
        volume_id: id,
        staging_target_path: staging,
        target_path: target,
        volume_capability: capability,
      });
      return {
        target,
        async unmount() {
          await client.nodeUnpublishVolume({ volume_id: id, target_path: target });
          await client.nodeUnstageVolume({ volume_id: id, staging_target_path: staging });
        },
      };
    };

    it('snapshots a mounted volume, restores the old content, clones a volume in use', async () => {
      const source = await create('source', GiB);
      const used = await mount(source, 'source');
      writeFileSync(path.join(used.target, 'file'), 'before');
      const caps = await client.controllerGetCapabilities({});
      const types = caps.capabilities.map((c) => c.rpc?.type);
      for (const t of ['CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS', 'CLONE_VOLUME'])
        assert.ok(types.includes(t as never), t);

      const taken = (await client.createSnapshot({ name: 'snap-1', source_volume_id: source })).snapshot!;
      assert.equal(taken.source_volume_id, source);
      assert.equal(taken.ready_to_use, true);
      assert.equal(BigInt(taken.size_bytes), GiB);
      assert.ok(Number(taken.creation_time?.seconds) > 0);
      const again = (await client.createSnapshot({ name: 'snap-1', source_volume_id: source })).snapshot!;
      assert.equal(again.snapshot_id, taken.snapshot_id, 'a repeated create answers the same snapshot');

      writeFileSync(path.join(used.target, 'file'), 'after');
      const restored = await create('restored', 2n * GiB, { snapshot: taken.snapshot_id });
      const clone = await create('clone', GiB, { volume: source });
      const r = await mount(restored, 'restored');
      const c = await mount(clone, 'clone');
      assert.equal(readFileSync(path.join(r.target, 'file'), 'utf8'), 'before');
      // restored into twice the snapshot's size: the filesystem fills the larger volume
      const grown = statfsSync(r.target);
      assert.ok(grown.blocks * grown.bsize > 1.5 * Number(GiB), `${fsType} grown to the restored size`);
      assert.equal(readFileSync(path.join(c.target, 'file'), 'utf8'), 'after');
      // the copies are independent of each other and of the source
      writeFileSync(path.join(r.target, 'file'), 'restored');
      assert.equal(readFileSync(path.join(used.target, 'file'), 'utf8'), 'after');
      const listed = await client.listVolumes({});
      const restoredEntry = listed.entries.find((e) => e.volume?.volume_id === restored);
      assert.equal(restoredEntry?.volume?.content_source?.snapshot?.snapshot_id, taken.snapshot_id);
      await Promise.all([r.unmount(), c.unmount(), used.unmount()]);
      for (const id of [restored, clone, source]) await client.deleteVolume({ volume_id: id });
      await client.deleteSnapshot({ snapshot_id: taken.snapshot_id });
    });

    it('refuses what cannot be done, with the CSI codes', async () => {
      const source = await create('hostile-source', GiB);
      assert.equal(
        await code(client.createSnapshot({ name: 'x', source_volume_id: 'snap-node/missing' })),
        'NOT_FOUND',
      );
      assert.equal(
        await code(client.createSnapshot({ name: '', source_volume_id: source })),
        'INVALID_ARGUMENT',
      );
      assert.equal(
        await code(client.createSnapshot({ name: 'x', source_volume_id: '' })),
        'INVALID_ARGUMENT',
      );
      const snap = (await client.createSnapshot({ name: 'hostile', source_volume_id: source })).snapshot!;
      const other = await create('hostile-other', GiB);
      assert.equal(
        await code(client.createSnapshot({ name: 'hostile', source_volume_id: other })),
        'ALREADY_EXISTS',
      );
      assert.equal(await code(create('too-small', GiB / 2n, { snapshot: snap.snapshot_id })), 'OUT_OF_RANGE');
      assert.equal(
        await code(create('from-nothing', GiB, { snapshot: 'snap-node/snapshots/none' })),
        'NOT_FOUND',
      );
      assert.equal(await code(create('clone-of-nothing', GiB, { volume: 'snap-node/none' })), 'NOT_FOUND');
      const block = client.createVolume({
        name: 'as-block',
        capacity_range: { required_bytes: GiB.toString() },
        volume_capabilities: [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
        volume_content_source: { snapshot: { snapshot_id: snap.snapshot_id } },
      });
      assert.equal(await code(block), 'INVALID_ARGUMENT');
      // a restore under the same name with another source is another volume
      await create('twice', GiB, { snapshot: snap.snapshot_id });
      assert.equal(await create('twice', GiB, { snapshot: snap.snapshot_id }), 'snap-node/twice');
      assert.equal(await code(create('twice', GiB, { volume: source })), 'ALREADY_EXISTS');
      assert.equal(await create('twice', GiB), 'snap-node/twice', 'without a source the name decides');
      for (const id of ['snap-node/twice', other]) await client.deleteVolume({ volume_id: id });
      await client.deleteSnapshot({ snapshot_id: snap.snapshot_id });
      await client.deleteVolume({ volume_id: source });
    });

    it('lists snapshots by id, by source and in pages; deletes in every order', async () => {
      const a = await create('list-a', GiB);
      const b = await create('list-b', GiB);
      const names = ['p1', 'p2', 'p3'];
      for (const name of names) await client.createSnapshot({ name, source_volume_id: a });
      const fromB = (await client.createSnapshot({ name: 'p4', source_volume_id: b })).snapshot!;
      const bySource = await client.listSnapshots({ source_volume_id: a });
      assert.deepEqual(
        bySource.entries.map((e) => e.snapshot?.snapshot_id).sort(),
        names.map((n) => `snap-node/snapshots/${n}`),
      );
      const byId = await client.listSnapshots({ snapshot_id: fromB.snapshot_id });
      assert.deepEqual(
        byId.entries.map((e) => e.snapshot?.source_volume_id),
        [b],
      );
      assert.equal(
        (await client.listSnapshots({ snapshot_id: 'snap-node/snapshots/none' })).entries.length,
        0,
      );
      const seen: string[] = [];
      let token = '';
      do {
        const page = await client.listSnapshots({ max_entries: 3, starting_token: token });
        assert.ok(page.entries.length <= 3);
        seen.push(...page.entries.map((e) => e.snapshot!.snapshot_id));
        token = page.next_token;
      } while (token);
      assert.equal(new Set(seen).size, 4);
      assert.equal(await code(client.listSnapshots({ starting_token: 'bogus' })), 'ABORTED');

      // source before snapshot: the snapshot outlives its source and still restores
      await client.deleteVolume({ volume_id: b });
      const restored = await create('after-source-gone', GiB, { snapshot: fromB.snapshot_id });
      await client.deleteSnapshot({ snapshot_id: fromB.snapshot_id });
      await client.deleteSnapshot({ snapshot_id: fromB.snapshot_id }); // again: still OK
      // snapshot before source
      for (const name of names) await client.deleteSnapshot({ snapshot_id: `snap-node/snapshots/${name}` });
      await client.deleteVolume({ volume_id: a });
      await client.deleteVolume({ volume_id: restored });
      assert.equal((await client.listSnapshots({})).entries.length, 0);
      const data = path.join(dir, 'data');
      assert.deepEqual(
        readdirSync(data).filter((n) => n !== 'snapshots' && n !== 'volumes.log'),
        [],
        'no volume file left',
      );
      assert.deepEqual(readdirSync(path.join(data, 'snapshots')), [], 'no snapshot file left');
    });
  });
}
