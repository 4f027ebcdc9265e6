import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  encodeSnapshot,
  inspectSnapshot,
  snapshotBatches,
  writeSnapshot,
  type Snapshot,
} from '../../../src/store/snapshot.js';

function snapshotOf(count: number): Snapshot {
  const entries = Array.from({ length: count }, (_, i) => ({
    kind: i % 2 ? 'configmaps' : 'persistentvolumeclaims',
    // written out of order: the file holds them sorted by reference
    key: `default/n${(i * 7919) % count}`,
    object: {
      apiVersion: 'v1',
      kind: i % 2 ? 'ConfigMap' : 'PersistentVolumeClaim',
      metadata: { name: `n${(i * 7919) % count}`, namespace: 'default', resourceVersion: String(i + 1) },
    },
  }));
  return { revision: count, entries };
}

describe('store/snapshot', function () {
  it('encodes the same bytes in batches (one per turn of the event loop) as all at once', async function () {
    const snapshot = snapshotOf(1000);
    const batches: Buffer[][] = [];
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    for await (const batch of snapshotBatches(snapshot)) batches.push(batch);
    clearInterval(ticker);
    assert.ok(batches.length > 3, `${batches.length} batches`);
    assert.ok(turns > 0, 'timers ran between the batches');
    assert.ok(Buffer.concat(batches.flat()).equals(encodeSnapshot(snapshot)));
  });

  it('writes a snapshot file that reads back whole, every entry in reference order', async function () {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-snapshot-'));
    try {
      const snapshot = snapshotOf(700);
      const name = await writeSnapshot(dir, snapshot);
      const bytes = await readFile(path.join(dir, name));
      assert.ok(bytes.equals(encodeSnapshot(snapshot)));
      const read = inspectSnapshot(bytes, snapshot.revision);
      assert.equal(read.problem, undefined);
      assert.equal(read.entries.length, 700);
      const refs = read.entries.map((e) => `${e.kind} ${e.key}`);
      assert.deepEqual(refs, [...refs].sort());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('reads an object changed in place (a valid JSON edit) as damage: named in the index, not served', function () {
    const bytes = Buffer.from(encodeSnapshot(snapshotOf(50)));
    const at = bytes.indexOf('"resourceVersion":"17"');
    assert.ok(at > 0);
    bytes[at + '"resourceVersion":"'.length] = '9'.charCodeAt(0);
    const read = inspectSnapshot(bytes, 50);
    assert.match(read.problem ?? '', /unreadable/);
    assert.equal(read.entries.length, 49);
    assert.ok(!read.entries.some((e) => e.object.metadata.resourceVersion === '97'));
    const listed = new Set(read.indexRefs.flat());
    assert.equal(listed.size, 50, 'the index still names the object whose entry is damaged');
  });

  it('reads a whole snapshot followed by more bytes, or with its trailer changed, as damaged', function () {
    const whole = encodeSnapshot(snapshotOf(20));
    const appended = Buffer.concat([whole, whole.subarray(whole.lastIndexOf(10, whole.length - 2) + 1)]);
    assert.notEqual(inspectSnapshot(appended, 20).problem, undefined);
    const changedTrailer = Buffer.from(whole);
    const digest = changedTrailer.lastIndexOf('"sha256":"') + '"sha256":"'.length;
    changedTrailer[digest] = changedTrailer[digest] === 0x30 ? 0x31 : 0x30;
    assert.match(inspectSnapshot(changedTrailer, 20).problem ?? '', /unreadable|incomplete/);
    assert.equal(inspectSnapshot(whole, 20).problem, undefined);
  });
});
