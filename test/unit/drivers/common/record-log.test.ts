// The drivers' record log on a real file: what is acknowledged is read back after a reopen
// (including without a clean close, as after a crash), a torn last record is cut off, any other
// damage refuses to open and leaves the file alone, and rewriting keeps exactly the live records.
import assert from 'node:assert/strict';
import {
  appendFileSync,
  fdatasync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RecordLog } from '../../../../src/drivers/common/record-log.js';
import { encodeFrame } from '../../../../src/store/record-framing.js';
import { eventually } from '../../../helpers/eventually.js';

const realFdatasync = promisify(fdatasync);

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const waitFor = (what: string, condition: () => boolean) =>
  eventually(what, async () => condition(), 5_000, 5);

describe('drivers/common RecordLog', function () {
  let dir: string;
  let file: string;
  const open: RecordLog[] = [];
  const openLog = (options: Partial<Parameters<typeof RecordLog.open>[0]> = {}) => {
    const opened = RecordLog.open({ file, ...options });
    open.push(opened.log);
    return opened;
  };

  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-record-log-'));
    file = path.join(dir, 'records.log');
  });

  afterEach(async function () {
    await Promise.all(open.splice(0).map((log) => log.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads back puts and removals after a reopen, without a clean close', async function () {
    const { log, records } = openLog();
    assert.equal(records.size, 0);
    await log.put('a', { size: 1 });
    await log.put('b', { size: 2 });
    await log.put('a', { size: 3 });
    await log.remove('b');
    await log.remove('never-there');
    // a second reader while the first is still open: what resolved is in the file already
    const again = openLog();
    assert.deepEqual([...again.records], [['a', { size: 3 }]]);
    assert.equal(again.log.size, 1);
  });

  it('concurrent calls share flushes', async function () {
    const { log } = openLog();
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.put(`k${i}`, { i })));
    assert.ok(log.flushes < 50, `${log.flushes} flushes for 50 calls`);
    assert.equal(openLog().records.size, 50);
  });

  it('starts a batch while an earlier one syncs, and acknowledges batches in the order they were written', async function () {
    const gate = deferred();
    const syncs: number[] = [];
    const { log } = openLog({
      fdatasync: async (fd) => {
        syncs.push(fd);
        if (syncs.length === 1) await gate.promise; // the first flush is slow
        await realFdatasync(fd);
      },
    });
    const order: string[] = [];
    const first = log.put('a', { n: 1 }).then(() => order.push('a'));
    await waitFor('the first flush', () => syncs.length === 1);
    const second = log.put('b', { n: 2 }).then(() => order.push('b'));
    await waitFor('a second flush beside the first', () => syncs.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(order, [], 'b is on disk but waits for a, written before it');
    gate.resolve();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['a', 'b']);
    assert.deepEqual([...openLog().records.keys()], ['a', 'b']);
  });

  it('a failed flush fails its batch and every batch written after it; the file is cut back to what was acknowledged', async function () {
    const gate = deferred();
    let calls = 0;
    const { log } = openLog({
      fdatasync: async (fd) => {
        const call = ++calls;
        if (call === 1) await gate.promise;
        if (call === 2) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        await realFdatasync(fd);
      },
    });
    const settled = new Map<string, boolean>();
    const track = (key: string) =>
      log.put(key, { key }).then(
        () => settled.set(key, true),
        () => settled.set(key, false),
      );
    const a = track('a');
    await waitFor('the first flush', () => calls === 1);
    const b = track('b'); // its flush fails while a's is still in flight
    await waitFor('the failing flush', () => calls === 2);
    const c = track('c'); // written after b's frame, or after it was cut back
    gate.resolve();
    await Promise.all([a, b, c]);
    assert.equal(settled.get('a'), true);
    assert.equal(settled.get('b'), false);
    await log.put('d', { key: 'd' });
    const acknowledged = ['a', 'c', 'd'].filter((key) => settled.get(key) ?? key === 'd');
    assert.deepEqual([...openLog().records.keys()], acknowledged);
    const expectedBytes = acknowledged.reduce(
      (sum, key) => sum + encodeFrame({ k: key, v: { key } }).length,
      0,
    );
    assert.equal(statSync(file).size, expectedBytes, 'the refused frames are gone from the file');
  });

  it('cuts off a torn last record (a prefix of one frame) and says so', async function () {
    const { log } = openLog();
    await log.put('kept', { n: 1 });
    await log.close();
    const intact = statSync(file).size;
    const frame = encodeFrame({ k: 'torn', v: { n: 2 } });
    for (const cut of [1, 9, 14, frame.length - 2]) {
      appendFileSync(file, frame.subarray(0, cut));
      const warnings: unknown[] = [];
      const { records } = openLog({ warn: (message, fields) => warnings.push({ message, ...fields }) });
      assert.deepEqual([...records.keys()], ['kept'], `cut at ${cut}`);
      assert.equal(statSync(file).size, intact, `file cut back after a tear at ${cut}`);
      assert.equal(warnings.length, 1);
      await open.pop()!.close();
    }
  });

  it('refuses damage before the end, or a whole last frame with a bad checksum, and changes nothing', async function () {
    const { log } = openLog();
    await log.put('first', { n: 1 });
    await log.put('second', { n: 2 });
    await log.close();
    const original = readFileSync(file);

    const flipped = Buffer.from(original);
    flipped[20] = flipped[20]! ^ 0x01; // inside the first record's payload
    writeFileSync(file, flipped);
    assert.throws(() => openLog(), /records\.log is damaged at byte 0 of \d+ .*refusing to start/);
    assert.deepEqual(readFileSync(file), flipped, 'a refused file is left as it was');

    const badLast = Buffer.from(original);
    badLast[badLast.length - 3] = badLast[badLast.length - 3]! ^ 0x01; // the last record, complete
    writeFileSync(file, badLast);
    assert.throws(() => openLog(), /damaged at byte \d+/);

    writeFileSync(file, Buffer.concat([original, Buffer.alloc(64)])); // zeros are not a torn frame
    assert.throws(() => openLog(), /damaged/);

    writeFileSync(file, encodeFrame({ unkeyed: true }));
    assert.throws(() => openLog(), /record 0 is not a keyed record/);
  });

  it('rewrites a file that grew past its live records, keeping exactly them', async function () {
    const { log } = openLog({ compactAboveBytes: 2048 });
    for (let i = 0; i < 200; i++) {
      await Promise.all([log.put(`tmp${i}`, { i }), log.put(`keep${i % 5}`, { i })]);
      await log.remove(`tmp${i}`);
    }
    assert.ok(statSync(file).size < 4096, `file is ${statSync(file).size} bytes after rewrites`);
    const { records } = openLog();
    assert.deepEqual(
      [...records].sort(([a], [b]) => a.localeCompare(b)),
      [0, 1, 2, 3, 4].map((k) => [`keep${k}`, { i: 195 + k }]),
    );
  });

  it('refuses calls after close', async function () {
    const { log } = openLog();
    await log.close();
    await log.close();
    await assert.rejects(log.put('late', {}), /is closed/);
  });
});
