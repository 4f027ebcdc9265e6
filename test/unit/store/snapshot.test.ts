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
});
