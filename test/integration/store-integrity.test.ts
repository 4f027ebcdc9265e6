// Store integrity as an operator meets it: damage in the middle of the log or in a snapshot
// stops the start with the damage named and nothing changed; `berth store verify|repair`
// find and rebuild; failed writes (EIO) are not acknowledged and writes resume; backups are
// taken through the API while writes go on and restore into a new directory; the data
// directory is private.
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { kinds } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { ensureCredentials, startApiServer } from '../../src/apiserver/index.js';
import { runCli } from '../../src/cli/main.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { StoreDamagedError } from '../../src/store/recovery.js';
import { nodeStoreFs, type StoreFs } from '../../src/store/store-fs.js';

const configMaps = kinds.find((k) => k.kind === 'ConfigMap')!;
const namespaces = kinds.find((k) => k.kind === 'Namespace')!;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-integrity-'));
  dirs.push(dir);
  return dir;
}

after(function () {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function configMap(name: string, n = 0): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns' }, data: { n: String(n) } };
}

async function filled(dataDir: string, count: number, compactEvery?: number): Promise<void> {
  const store = await openEmbeddedStore({ dataDir, ...(compactEvery ? { compactEvery } : {}) });
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) =>
        store.create(configMaps, configMap(`c${i + j}`)),
      ),
    );
  }
  await store.close();
}

function fileOf(dataDir: string, prefix: string): string {
  return join(
    dataDir,
    readdirSync(dataDir).find((n) => n.startsWith(prefix))!,
  );
}

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = bytes[offset]! ^ 0x5a;
  writeFileSync(path, bytes);
}

function snapshotOfDir(dataDir: string): Map<string, string> {
  return new Map(readdirSync(dataDir).map((n) => [n, readFileSync(join(dataDir, n)).toString('base64')]));
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe('store integrity', function () {
  this.timeout(60_000);

  it('refuses to start on a flipped byte mid-log, naming file, offset, last good version and what follows; changes nothing', async function () {
    const dataDir = tempDir();
    await filled(dataDir, 1000);
    const segment = fileOf(dataDir, 'wal-');
    const middle = statSync(segment).size >> 1;
    flipByte(segment, middle);
    const before = snapshotOfDir(dataDir);

    await assert.rejects(openEmbeddedStore({ dataDir }), (err: Error) => {
      assert.ok(err instanceof StoreDamagedError, String(err));
      const damage = err.damage[0]!;
      assert.ok(damage.offset <= middle && middle < damage.offset + damage.bytes, JSON.stringify(damage));
      assert.ok(damage.lastGoodRevision > 400 && damage.lastGoodRevision < 600, JSON.stringify(damage));
      assert.equal(damage.lastGoodRevision + 1 + damage.validRecordsAfter, 1000);
      for (const part of [
        segment.slice(dataDir.length + 1),
        `at byte ${damage.offset}`,
        `last good resourceVersion ${damage.lastGoodRevision}`,
        `${damage.validRecordsAfter} valid record(s) follow`,
        `berth store repair --data-dir ${dataDir}`,
      ]) {
        assert.ok(err.message.includes(part), `${part} missing from: ${err.message}`);
      }
      return true;
    });
    const up = await cli(['up', '--data-dir', dataDir]);
    assert.equal(up.code, 1);
    assert.match(up.stderr, /is damaged and will not be opened/);
    assert.deepEqual(snapshotOfDir(dataDir), before, 'a refused start changes nothing');

    const verify = await cli(['store', 'verify', '--data-dir', dataDir]);
    assert.equal(verify.code, 1);
    assert.match(verify.stdout, /newest resourceVersion: 1000/);
    assert.match(verify.stdout, /configmaps\t999/);
    assert.match(verify.stdout, new RegExp(`at byte ${before.size > 0 ? '\\d+' : ''}.*unreadable bytes`));

    const repair = await cli(['store', 'repair', '--data-dir', dataDir]);
    assert.equal(repair.code, 0, repair.stderr);
    const lost = [...repair.stdout.matchAll(/^ {2}\/configmaps (ns\/c\d+)$/gm)].map((m) => m[1]);
    assert.equal(lost.length, 1, repair.stdout);
    const quarantined = readdirSync(join(dataDir, 'quarantine'));
    assert.equal(quarantined.length, 1);
    assert.deepEqual(
      readFileSync(join(dataDir, 'quarantine', quarantined[0]!, segment.slice(dataDir.length + 1))).toString(
        'base64',
      ),
      before.get(segment.slice(dataDir.length + 1)),
      'the damaged file is kept as it was',
    );

    assert.equal((await cli(['store', 'verify', '--data-dir', dataDir])).code, 0);
    const store = await openEmbeddedStore({ dataDir });
    try {
      const names = new Set((await store.list(configMaps)).items.map((o) => `ns/${o.metadata.name}`));
      for (let i = 0; i < 1000; i++) {
        assert.equal(names.has(`ns/c${i}`), !lost.includes(`ns/c${i}`), `c${i}`);
      }
      assert.equal(await store.currentRevision(), '1000', 'revisions never go backwards');
    } finally {
      await store.close();
    }
  });

  it('verify and repair refuse while berth holds the data directory', async function () {
    const dataDir = tempDir();
    const store = await openEmbeddedStore({ dataDir });
    try {
      for (const action of ['verify', 'repair']) {
        const result = await cli(['store', action, '--data-dir', dataDir]);
        assert.equal(result.code, 1);
        assert.match(result.stderr, new RegExp(`in use by process ${process.pid}: stop berth first`));
      }
    } finally {
      await store.close();
    }
  });

  it('drops a torn tail after a crash, but refuses a log cut short after a clean stop', async function () {
    const crashed = tempDir();
    await filled(crashed, 20);
    rmSync(join(crashed, 'clean-shutdown')); // what a crash leaves
    const segment = fileOf(crashed, 'wal-');
    const size = statSync(segment).size;
    const last = readFileSync(segment).lastIndexOf('\n', size - 2) + 1;
    truncateSync(segment, last + 30); // the first bytes of the last record only
    const logged: string[] = [];
    const store = await openEmbeddedStore({
      dataDir: crashed,
      log: (m, f) => logged.push(`${m} ${JSON.stringify(f)}`),
    });
    assert.equal((await store.list(configMaps)).items.length, 19);
    assert.equal(store.stats().droppedTailBytes, 30);
    await store.close();
    assert.ok(
      logged.some((l) => l.startsWith('store opened') && l.includes('"tornTailBytesDropped":30')),
      logged.join('\n'),
    );

    const stopped = tempDir();
    await filled(stopped, 20);
    truncateSync(fileOf(stopped, 'wal-'), last + 30);
    await assert.rejects(openEmbeddedStore({ dataDir: stopped }), (err: Error) => {
      assert.ok(err instanceof StoreDamagedError);
      const problems = err.damage.map((d) => d.problem).join('; ');
      assert.match(problems, /30 unreadable bytes/);
      assert.match(problems, /closed cleanly at \d+ bytes/);
      assert.match(problems, /closed cleanly at revision 20/);
      return true;
    });
  });

  it('never uses or deletes a damaged snapshot', async function () {
    const dataDir = tempDir();
    await filled(dataDir, 300, 100);
    const snapshot = fileOf(dataDir, 'snapshot-');
    flipByte(snapshot, statSync(snapshot).size >> 1);
    await assert.rejects(openEmbeddedStore({ dataDir }), /snapshot-\d+\.snap .*: snapshot/);
    assert.ok(statSync(snapshot).isFile());
    const repair = await cli(['store', 'repair', '--data-dir', dataDir]);
    assert.equal(repair.code, 0, repair.stderr);
    const lost = [...repair.stdout.matchAll(/^ {2}\/configmaps (ns\/c\d+)$/gm)].map((m) => m[1]);
    assert.equal(lost.length, 1, repair.stdout);
    // its only copy was the damaged snapshot entry: gone, not merely an older version
    assert.match(repair.stdout, /^of these, the rebuilt store holds no version at all of 1 /m);
    const store = await openEmbeddedStore({ dataDir });
    try {
      assert.equal((await store.list(configMaps)).items.length, 299);
    } finally {
      await store.close();
    }
  });

  it('answers a write whose fsync fails (EIO) with a 500, acknowledges nothing of it, and writes on', async function () {
    const dataDir = tempDir();
    let failNext = 0;
    const failing: StoreFs = {
      async open(path, flags, mode) {
        const handle = await nodeStoreFs.open(path, flags, mode);
        if (!path.endsWith('.log')) return handle;
        return new Proxy(handle, {
          get(target, prop: keyof FileHandle) {
            if (prop === 'datasync' && failNext > 0) {
              failNext--;
              return () =>
                Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
            }
            const value = target[prop];
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
      },
    };
    const store: EmbeddedStore = await openEmbeddedStore({ dataDir, fs: failing });
    await store.create(configMaps, configMap('before'));
    failNext = 1;
    await assert.rejects(store.create(configMaps, configMap('lost')), (err: unknown) => {
      assert.ok(isStatusError(err, 'InternalError') && err.code === 500, String(err));
      assert.match(err.message, /EIO/);
      return true;
    });
    await assert.rejects(store.get(configMaps, 'ns', 'lost'), (err: unknown) =>
      isStatusError(err, 'NotFound'),
    );
    const after = await store.create(configMaps, configMap('after'));
    assert.equal(after.metadata.resourceVersion, '2', 'the failed revision is handed out again');
    assert.equal(store.stats().failedWriteBatches, 1);
    await store.close();
    const reopened = await openEmbeddedStore({ dataDir });
    try {
      const names = (await reopened.list(configMaps)).items.map((o) => o.metadata.name);
      assert.deepEqual(names, ['after', 'before']);
    } finally {
      await reopened.close();
    }
  });

  it('makes the data directory 0700 and its store files 0600, saying so, also when they exist', async function () {
    const dataDir = join(tempDir(), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    await filled(dataDir, 3);
    chmodSync(dataDir, 0o755);
    chmodSync(fileOf(dataDir, 'wal-'), 0o644);
    writeFileSync(join(dataDir, 'apiserver.crt'), 'left by an older berth', { mode: 0o644 });
    mkdirSync(join(dataDir, 'nodes'), { mode: 0o755 });
    const logged: string[] = [];
    const store = await openEmbeddedStore({ dataDir, log: (m) => logged.push(m) });
    await store.close();
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    for (const name of readdirSync(dataDir).filter((n) => n !== 'nodes')) {
      assert.equal(statSync(join(dataDir, name)).mode & 0o777, 0o600, name);
    }
    assert.equal(statSync(join(dataDir, 'nodes')).mode & 0o777, 0o755, 'directories inside keep their modes');
    assert.ok(
      logged.some((l) => l.includes('had permissions 0755; changed to 0700')),
      logged.join('\n'),
    );
    assert.ok(
      logged.some((l) => l.includes('wal-') && l.includes('apiserver.crt (0644)')),
      logged.join('\n'),
    );
  });

  it('backs up through the API while writes go on (admin token only) and restores into a new directory', async function () {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const store = await openEmbeddedStore({ dataDir });
    const { token, tls } = await ensureCredentials(dataDir, 'https://127.0.0.1:0');
    const server = await startApiServer({ store, token, tls, backup: () => store.backup() });
    try {
      const { kubeconfigPath } = await ensureCredentials(dataDir, server.url);
      for (let i = 0; i < 100; i++) await store.create(configMaps, configMap(`b${i}`, i));
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) await store.create(configMaps, configMap(`during${i}`));
      })();
      const file = join(dir, 'backup.snap');
      const backup = await cli(['store', 'backup', '--kubeconfig', kubeconfigPath, '-o', file]);
      writing = false;
      await writer;
      assert.equal(backup.code, 0, backup.stderr);
      const match = /backup of (\d+) objects at resourceVersion (\d+)/.exec(backup.stdout);
      assert.ok(match, backup.stdout);
      assert.equal(statSync(file).mode & 0o777, 0o600);

      // over plain HTTP (berth's own clients): the token decides, and other stores have no backup
      const plain = await startApiServer({ store, token, backup: () => store.backup() });
      const without = await startApiServer({ store, token });
      try {
        const wrong = await fetch(`${plain.url}/berth/v1/backup`, { headers: { authorization: 'Bearer x' } });
        assert.equal(wrong.status, 401);
        const right = await fetch(`${plain.url}/berth/v1/backup`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(right.status, 200);
        assert.equal(right.headers.get('content-type'), 'application/octet-stream');
        const none = await fetch(`${without.url}/berth/v1/backup`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(none.status, 404);
      } finally {
        await plain.close();
        await without.close();
      }

      const restored = join(dir, 'restored');
      const restore = await cli(['store', 'restore', file, '--data-dir', restored]);
      assert.equal(restore.code, 0, restore.stderr);
      const again = await cli(['store', 'restore', file, '--data-dir', restored]);
      assert.equal(again.code, 1, 'restore never mixes into an existing directory');
      const copy = await openEmbeddedStore({ dataDir: restored });
      try {
        const items = (await copy.list(configMaps)).items;
        const builtIn = (await copy.list(namespaces)).items;
        assert.deepEqual(
          builtIn.map((n) => n.metadata.name).sort(),
          ['default', 'kube-node-lease', 'kube-public', 'kube-system'],
          'the built-in namespaces',
        );
        assert.equal(
          items.length + builtIn.length,
          Number(match[1]),
          'config maps and the built-in namespaces',
        );
        assert.equal(await copy.currentRevision(), match[2]);
        for (const item of items) assert.ok(Number(item.metadata.resourceVersion) <= Number(match[2]));
        assert.equal(items.filter((o) => o.metadata.name!.startsWith('b')).length, 100);
      } finally {
        await copy.close();
      }
    } finally {
      await server.close();
      await store.close();
    }
  });
});
