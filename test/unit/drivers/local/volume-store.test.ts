// The local driver's volume store on a real directory: volumes live in volumes.log, an
// acknowledged create is there for the next process even without a clean close, a volume's backing
// file is made at its first use (and found again by the next process), per-volume
// `<key>.json` files of older versions are moved into the log, and a record this version cannot
// read refuses to start.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordLog } from '../../../../src/drivers/common/record-log.js';
import { VOLUME_LOG, VolumeStore } from '../../../../src/drivers/local/volume-store.js';

const MIB = 1024n * 1024n;
const shape = { accessType: 'mount' as const, fsType: 'ext4' as const };

describe('local driver VolumeStore', function () {
  let dir: string;
  const stores: VolumeStore[] = [];
  const openStore = async () => {
    const store = new VolumeStore({ dataDir: dir, now: () => new Date('2026-01-02T03:04:05Z') });
    await store.init();
    stores.push(store);
    return store;
  };

  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-volume-store-'));
  });

  afterEach(async function () {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('an acknowledged create, grow and delete are what the next process reads, with no clean close', async function () {
    const store = await openStore();
    const a = await store.create({ key: 'pvc-a', name: 'pvc-a', capacityBytes: MIB, ...shape });
    await store.create({ key: 'pvc-b', name: 'pvc-b', capacityBytes: MIB, ...shape });
    await store.grow(a, 2n * MIB);
    assert.deepEqual(readdirSync(dir), [VOLUME_LOG], 'a create makes no backing file');
    await store.backingFile('pvc-b');
    await store.delete('pvc-b');
    assert.ok(store.isGone('pvc-b'));
    assert.equal(statSync(await store.backingFile('pvc-a')).size, Number(2n * MIB), 'made at the grown size');
    assert.ok(!existsSync(store.imagePath('pvc-b')));

    const next = await openStore();
    assert.deepEqual(await next.list(), [
      {
        key: 'pvc-a',
        name: 'pvc-a',
        capacityBytes: 2n * MIB,
        ...shape,
        createdAt: '2026-01-02T03:04:05.000Z',
      },
    ]);
    assert.equal(await next.get('pvc-b'), undefined);
    assert.ok(!next.isGone('pvc-b'), 'only removals of this process are remembered');
    assert.deepEqual(readdirSync(dir).sort(), ['pvc-a.img', VOLUME_LOG]);
    assert.ok(next.hasBackingFile('pvc-a'));
    await next.delete('pvc-a');
    assert.deepEqual(readdirSync(dir), [VOLUME_LOG], 'the next process removes the file it found');
  });

  it('a backing file is made once, sparse and zeroed, and grows with its volume', async function () {
    const store = await openStore();
    const v = await store.create({ key: 'v', name: 'v', capacityBytes: 4n * MIB, ...shape });
    assert.ok(!store.hasBackingFile('v'));
    const file = await store.backingFile('v');
    assert.equal(file, store.imagePath('v'));
    assert.ok(store.hasBackingFile('v'));
    writeFileSync(file, 'data', { flag: 'r+' });
    assert.equal(await store.backingFile('v'), file);
    const stat = statSync(file);
    assert.equal(stat.size, Number(4n * MIB), 'made once: the data written stays');
    assert.ok(stat.blocks * 512 < Number(MIB), 'sparse');
    await store.grow(v, 8n * MIB);
    assert.equal(statSync(file).size, Number(8n * MIB));
    await assert.rejects(store.backingFile('nothing'), /volume nothing does not exist/);
    assert.ok(!existsSync(store.imagePath('nothing')));
  });

  it('a leftover backing file (no record) is removed by a delete or a create of its key', async function () {
    writeFileSync(path.join(dir, 'leftover.img'), 'x');
    writeFileSync(path.join(dir, 'reused.img'), Buffer.alloc(4096, 9));
    const store = await openStore();
    await store.delete('leftover');
    assert.ok(!existsSync(path.join(dir, 'leftover.img')));
    await store.create({ key: 'reused', name: 'reused', capacityBytes: MIB, ...shape });
    assert.ok(!existsSync(path.join(dir, 'reused.img')), 'the old data is gone at create');
    const stat = statSync(await store.backingFile('reused'));
    assert.equal(stat.size, Number(MIB));
    assert.equal(stat.blocks, 0, 'a new, empty file');
  });

  it('a copy cut short is removed by a delete of its key', async function () {
    const store = await openStore();
    writeFileSync(store.copyTarget('clone'), 'half a copy');
    await store.delete('clone');
    assert.ok(!existsSync(store.imagePath('clone')));
  });

  it('moves the per-volume metadata files of older versions into the log', async function () {
    mkdirSync(dir, { recursive: true });
    const legacy = (name: string, bytes: bigint) =>
      JSON.stringify(
        { version: 1, name, capacityBytes: String(bytes), ...shape, createdAt: '2025-05-05T00:00:00.000Z' },
        null,
        2,
      );
    writeFileSync(path.join(dir, 'old-a.json'), legacy('old-a', MIB));
    writeFileSync(path.join(dir, 'old-a.img'), '');
    writeFileSync(
      path.join(dir, '_0123456789abcdef0123456789abcdef01234567.json'),
      legacy('a/long name', 3n * MIB),
    );
    writeFileSync(path.join(dir, 'torn.json'), '{"version":1,"na'); // a create the old version never acknowledged
    writeFileSync(path.join(dir, '.old-a.json.tmp'), legacy('old-a', 5n * MIB)); // a grow it never finished

    const store = await openStore();
    assert.deepEqual(
      (await store.list()).map((v) => [v.key, v.name, v.capacityBytes]),
      [
        ['_0123456789abcdef0123456789abcdef01234567', 'a/long name', 3n * MIB],
        ['old-a', 'old-a', MIB],
      ],
    );
    assert.deepEqual(readdirSync(dir).sort(), ['old-a.img', VOLUME_LOG]);
    await store.close();

    // a metadata file left beside the log by a crash during the move: the log's record wins
    writeFileSync(path.join(dir, 'old-a.json'), legacy('old-a', 7n * MIB));
    const next = await openStore();
    assert.equal((await next.get('old-a'))?.capacityBytes, MIB);
    assert.ok(!existsSync(path.join(dir, 'old-a.json')));
  });

  it('refuses to start on a record it cannot read, and on a damaged log', async function () {
    const { log } = RecordLog.open({ file: path.join(dir, VOLUME_LOG) });
    await log.put('future', { version: 2, name: 'future' });
    await log.close();
    await assert.rejects(
      openStore(),
      /the record of volume future is not one this version can read; refusing to start/,
    );

    writeFileSync(path.join(dir, VOLUME_LOG), 'not a log at all\n');
    await assert.rejects(openStore(), /volumes\.log is damaged at byte 0/);
  });
});
