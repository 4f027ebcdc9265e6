import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readFileShared, sha256Elsewhere } from '../../../src/store/digest.js';
import { encodeSnapshot, readSnapshotFile, type Snapshot } from '../../../src/store/snapshot.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** About 10 MB of snapshot: large enough for the digest to go to a worker thread. */
function largeSnapshot(): Snapshot {
  const padding = 'x'.repeat(5000);
  const entries = Array.from({ length: 2000 }, (_, i) => ({
    kind: 'configmaps',
    key: `default/c${i}`,
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `c${i}`, namespace: 'default', resourceVersion: String(i + 1) },
      data: { padding },
    },
  }));
  return { revision: 2000, entries };
}

describe('store/digest', function () {
  let dir: string;
  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'berth-digest-'));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file into shared memory and hashes it on a worker, as on this thread', async function () {
    const file = path.join(dir, 'bytes');
    const content = Buffer.alloc(9 << 20, 'berth');
    await writeFile(file, content);
    const shared = await readFileShared(file);
    assert.ok(shared.buffer instanceof SharedArrayBuffer);
    assert.ok(shared.equals(content));
    assert.deepEqual(await sha256Elsewhere(shared), { sha256: sha256(content), onWorker: true });
    assert.deepEqual(await sha256Elsewhere(shared.subarray(7, 9 << 20)), {
      sha256: sha256(content.subarray(7, 9 << 20)),
      onWorker: true,
    });
    assert.deepEqual(await sha256Elsewhere(Buffer.from(content)), {
      sha256: sha256(content),
      onWorker: false,
    });
    assert.deepEqual(await sha256Elsewhere(Buffer.from('small')), {
      sha256: sha256(Buffer.from('small')),
      onWorker: false,
    });
  });

  it('reads a whole large snapshot file, and one with an object changed in place as damaged', async function () {
    const file = path.join(dir, 'snapshot');
    const bytes = encodeSnapshot(largeSnapshot());
    assert.ok(bytes.length > 8 << 20);
    await writeFile(file, bytes);
    const whole = await readSnapshotFile(file, 2000);
    assert.equal(whole.problem, undefined);
    assert.equal(whole.entries.length, 2000);

    const damaged = Buffer.from(await readFile(file));
    const at = damaged.indexOf('"resourceVersion":"1234"') + '"resourceVersion":"'.length;
    damaged[at] = '9'.charCodeAt(0);
    await writeFile(file, damaged);
    const read = await readSnapshotFile(file, 2000);
    assert.match(read.problem ?? '', /unreadable/);
    assert.equal(read.entries.length, 1999);
    assert.ok(!read.entries.some((e) => e.object.metadata.resourceVersion === '9234'));
  });
});
