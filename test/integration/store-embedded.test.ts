// The embedded store: the shared contract, plus durability (reopen, torn tails, compaction,
// the data-directory lock, and a SIGKILL crash test against a real child process).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kinds } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { DataDirLockedError } from '../../src/store/lock.js';
import { nodeStoreFs, type StoreFs } from '../../src/store/store-fs.js';
import { describeStoreContract } from '../contract/store-contract.js';
import { describeWatchProgressContract } from '../contract/watch-progress-contract.js';

const HISTORY = 50;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-'));
  dirs.push(dir);
  return dir;
}

after(function () {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describeStoreContract(
  'embedded',
  () => openEmbeddedStore({ dataDir: tempDir(), historyLimit: HISTORY }),
  undefined,
  {
    historyLimit: HISTORY,
  },
);

describeWatchProgressContract('embedded', () =>
  openEmbeddedStore({ dataDir: tempDir(), historyLimit: HISTORY }),
);

const configMaps = kinds.find((k) => k.kind === 'ConfigMap')!;

function configMap(name: string, n = 0): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns' }, data: { n: String(n) } };
}

describe('embedded store durability', function () {
  it('keeps every object, revision and deletion across close and reopen', async function () {
    const dataDir = tempDir();
    let store = await openEmbeddedStore({ dataDir });
    for (let i = 0; i < 20; i++) await store.create(configMaps, configMap(`c${i}`, i));
    await store.patch(configMaps, 'ns', 'c3', { data: { n: 'patched' } });
    await store.delete(configMaps, 'ns', 'c4');
    const before = await store.list(configMaps);
    await store.close();

    store = await openEmbeddedStore({ dataDir });
    try {
      const after = await store.list(configMaps);
      assert.deepEqual(after, before);
      assert.equal(store.stats().recoveredRecords, 22);
      // history survives a reopen: a watch can resume from before it
      const events: string[] = [];
      const w = await store.watch(configMaps, { resourceVersion: '20' }, (e) => events.push(e.type));
      await new Promise((resolve) => setTimeout(resolve, 20));
      w.stop();
      assert.deepEqual(events, ['MODIFIED', 'DELETED']);
      const next = await store.create(configMaps, configMap('new'));
      assert.equal(next.metadata.resourceVersion, String(Number(before.resourceVersion) + 1));
    } finally {
      await store.close();
    }
  });

  it('hands read-only callers its own objects, frozen, and everyone else copies', async function () {
    const store = await openEmbeddedStore({ dataDir: tempDir() });
    try {
      await store.create(configMaps, configMap('shared', 1));
      const [first] = (await store.list(configMaps, { readOnly: true })).items;
      const [again] = (await store.list(configMaps, { readOnly: true })).items;
      assert.equal(first, again, 'one object for every read-only caller, no copy each');
      assert.ok(Object.isFrozen(first) && Object.isFrozen(first!['data']));
      assert.equal(Reflect.set(first!['data'] as object, 'n', 'changed'), false);
      const [copy] = (await store.list(configMaps)).items;
      assert.notEqual(copy, first);
      (copy!['data'] as Record<string, string>)['n'] = 'mine';
      const changes: KubeObject[] = [];
      const w = await store.watch(configMaps, { resourceVersion: '0', readOnly: true }, (e) =>
        changes.push(e.object),
      );
      await store.patch(configMaps, 'ns', 'shared', { data: { n: '2' } });
      await new Promise((resolve) => setTimeout(resolve, 20));
      w.stop();
      assert.equal(changes[0], first);
      assert.ok(Object.isFrozen(changes[1]!['data']));
      assert.deepEqual((await store.get(configMaps, 'ns', 'shared'))['data'], { n: '2' });
    } finally {
      await store.close();
    }
  });

  it('refuses a second opener of the same data directory, naming it and the holder PID', async function () {
    const dataDir = tempDir();
    const store = await openEmbeddedStore({ dataDir });
    try {
      await assert.rejects(openEmbeddedStore({ dataDir }), (err: Error) => {
        assert.ok(err instanceof DataDirLockedError);
        assert.ok(err.message.includes(dataDir) && err.message.includes(String(process.pid)), err.message);
        return true;
      });
    } finally {
      await store.close();
    }
    const again = await openEmbeddedStore({ dataDir });
    await again.close();
  });

  it('takes over a lock left by a process that no longer exists', async function () {
    const dataDir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid;
    writeFileSync(join(dataDir, 'LOCK'), `${dead}\n`);
    const store = await openEmbeddedStore({ dataDir });
    await store.close();
  });

  it('drops a torn record at the log tail on reopen and keeps appending after it', async function () {
    const dataDir = tempDir();
    let store = await openEmbeddedStore({ dataDir });
    for (let i = 0; i < 5; i++) await store.create(configMaps, configMap(`t${i}`));
    await store.close();
    const segment = join(
      dataDir,
      readdirSync(dataDir).find((n) => n.startsWith('wal-'))!,
    );
    const intact = readFileSync(segment);
    // the first half of one more record, as a crash in the middle of a write leaves it
    const lastRecord = intact.subarray(intact.lastIndexOf('\n', intact.length - 2) + 1);
    appendFileSync(segment, lastRecord.subarray(0, lastRecord.length >> 1));
    rmSync(join(dataDir, 'clean-shutdown')); // as a crash leaves it: no clean-shutdown marker

    store = await openEmbeddedStore({ dataDir });
    try {
      assert.ok(store.stats().droppedTailBytes > 0);
      assert.equal((await store.list(configMaps)).items.length, 5);
      await store.create(configMaps, configMap('after'));
    } finally {
      await store.close();
    }
    store = await openEmbeddedStore({ dataDir });
    try {
      assert.equal((await store.list(configMaps)).items.length, 6);
      assert.equal(store.stats().droppedTailBytes, 0);
    } finally {
      await store.close();
    }
  });

  it('compacts into a snapshot, removes old segments, and reopens from snapshot plus log', async function () {
    const dataDir = tempDir();
    let store = await openEmbeddedStore({ dataDir, compactEvery: 50 });
    for (let i = 0; i < 60; i++) await store.create(configMaps, configMap(`s${i}`));
    for (let i = 0; i < 60; i++) await store.patch(configMaps, 'ns', `s${i}`, { data: { n: 'x' } });
    for (let i = 0; i < 10; i++) await store.delete(configMaps, 'ns', `s${i}`);
    const before = await store.list(configMaps);
    await store.close();
    const files = readdirSync(dataDir);
    assert.ok(
      files.some((n) => n.startsWith('snapshot-')),
      files.join(' '),
    );
    assert.ok(files.filter((n) => n.startsWith('wal-')).length <= 2, files.join(' '));

    store = await openEmbeddedStore({ dataDir, compactEvery: 50 });
    try {
      assert.deepEqual(await store.list(configMaps), before);
      assert.ok(store.stats().snapshotRevision > 0);
      assert.ok(store.stats().recoveredRecords < 130);
    } finally {
      await store.close();
    }
  });

  it('a clean close after many writes leaves one snapshot, which the next open reads instead of the log', async function () {
    const dataDir = tempDir();
    let store = await openEmbeddedStore({ dataDir, compactOnClose: 100 });
    await Promise.all(Array.from({ length: 150 }, (_, i) => store.create(configMaps, configMap(`k${i}`))));
    for (let i = 0; i < 20; i++) await store.patch(configMaps, 'ns', `k${i}`, { data: { n: 'x' } });
    await store.delete(configMaps, 'ns', 'k149');
    const before = await store.list(configMaps);
    await store.close();
    const files = readdirSync(dataDir).sort();
    assert.deepEqual(
      files.filter((n) => /^(snapshot-|wal-|clean-shutdown)/.test(n)),
      ['clean-shutdown', `snapshot-${'171'.padStart(20, '0')}.snap`, `wal-${'172'.padStart(20, '0')}.log`],
    );
    assert.equal(readFileSync(join(dataDir, `wal-${'172'.padStart(20, '0')}.log`)).length, 0);

    store = await openEmbeddedStore({ dataDir, compactOnClose: 100 });
    try {
      assert.deepEqual(await store.list(configMaps), before);
      assert.equal(store.stats().recoveredRecords, 0);
      assert.equal(store.stats().snapshotRevision, 171);
      await store.create(configMaps, configMap('after'));
    } finally {
      await store.close(); // one record since the snapshot: below the threshold, the log stays
    }
    store = await openEmbeddedStore({ dataDir });
    try {
      assert.equal((await store.list(configMaps)).items.length, 150);
      assert.equal(store.stats().recoveredRecords, 1);
    } finally {
      await store.close();
    }
  });

  it('a clean close that cannot write its snapshot still closes cleanly, and nothing is lost', async function () {
    const dataDir = tempDir();
    const failingSnapshots: StoreFs = {
      open: (path, flags, mode) =>
        path.endsWith('.snap.tmp')
          ? Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }))
          : nodeStoreFs.open(path, flags, mode),
    };
    let store = await openEmbeddedStore({ dataDir, compactOnClose: 10, fs: failingSnapshots });
    for (let i = 0; i < 30; i++) await store.create(configMaps, configMap(`f${i}`));
    const before = await store.list(configMaps);
    await store.close();
    assert.ok(!readdirSync(dataDir).some((n) => n.startsWith('snapshot-')));
    store = await openEmbeddedStore({ dataDir });
    try {
      assert.deepEqual(await store.list(configMaps), before);
      assert.equal(store.stats().recoveredRecords, 30);
    } finally {
      await store.close();
    }
  });

  it('refuses to start when the snapshot a clean close wrote is missing or damaged', async function () {
    const dataDir = tempDir();
    const store = await openEmbeddedStore({ dataDir, compactOnClose: 10 });
    for (let i = 0; i < 30; i++) await store.create(configMaps, configMap(`m${i}`));
    await store.close();
    const snapshot = join(
      dataDir,
      readdirSync(dataDir).find((n) => n.startsWith('snapshot-'))!,
    );
    const bytes = readFileSync(snapshot);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x5a;
    writeFileSync(snapshot, bytes);
    await assert.rejects(openEmbeddedStore({ dataDir }), /snapshot-\d+\.snap .*: snapshot/);
    rmSync(snapshot);
    await assert.rejects(
      openEmbeddedStore({ dataDir }),
      /the log ends at revision 0, but it was closed cleanly at revision 30/,
    );
  });

  it('loses no acknowledged write when the process is SIGKILLed mid-stream, again and again', async function () {
    this.timeout(60_000);
    const dataDir = tempDir();
    const fixture = join(import.meta.dirname, 'fixtures', 'store-crash-writer.ts');
    const acked = new Map<string, { rv: number; n: number }>();
    let lines = 0;
    for (let run = 0; run < 5; run++) {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, String(run), '32'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let buffered = '';
      let stderr = '';
      let firstAck: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (firstAck = resolve));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const complete = buffered.lastIndexOf('\n');
        if (complete < 0) return;
        for (const line of buffered.slice(0, complete).split('\n')) {
          const [name, rv, n] = line.split(' ');
          const previous = acked.get(name!);
          assert.ok(!previous || previous.rv < Number(rv), `revisions of ${name} go backwards`);
          acked.set(name!, { rv: Number(rv), n: Number(n) });
          lines++;
        }
        buffered = buffered.slice(complete + 1);
        firstAck();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await Promise.race([started, exited]);
      assert.equal(child.exitCode, null, `writer exited early: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 300));
      child.kill('SIGKILL');
      await exited;
    }
    assert.ok(lines > 100, `only ${lines} acknowledged writes`);

    const store = await openEmbeddedStore({ dataDir });
    try {
      const { items, resourceVersion } = await store.list(configMaps, { namespace: 'crash' });
      const stored = new Map(items.map((i) => [i.metadata.name!, i]));
      const revisions = new Set<number>();
      for (const obj of items) {
        const rv = Number(obj.metadata.resourceVersion);
        assert.ok(rv <= Number(resourceVersion));
        assert.ok(!revisions.has(rv), `revision ${rv} used twice`);
        revisions.add(rv);
      }
      for (const [name, ack] of acked) {
        const obj = stored.get(name);
        assert.ok(obj, `acknowledged object ${name} is missing`);
        const n = Number((obj['data'] as { n: string }).n);
        assert.ok(n >= ack.n, `${name}: acknowledged write ${ack.n} lost, found ${n}`);
        if (n === ack.n) assert.equal(Number(obj.metadata.resourceVersion), ack.rv);
        else assert.ok(Number(obj.metadata.resourceVersion) > ack.rv);
      }
    } finally {
      await store.close();
    }
  });
});
