// Watch bookmarks over HTTP, as Kubernetes sends them: only to a watch that set
// allowWatchBookmarks (read as Kubernetes reads a query boolean: absent, "false" or "0" is off,
// anything else on), periodically and 2 s before the stream's timeout, with an object of only
// kind, apiVersion and metadata.resourceVersion, at a revision past every event sent before it and
// past the changes the watch does not see.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindFor } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';

const token = 'bookmark-test-token';
const INTERVAL_MS = 100;
const configMaps = kindFor('v1', 'ConfigMap')!;
const secrets = kindFor('v1', 'Secret')!;

interface Line {
  type: string;
  object: KubeObject & Record<string, unknown>;
}

/** Reads a watch stream's events until `done` says so or `ms` pass; then closes it. */
async function readUntil(res: Response, done: (lines: Line[]) => boolean, ms: number): Promise<Line[]> {
  const lines: Line[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let rest = '';
  const deadline = setTimeout(() => void reader.cancel(), ms);
  try {
    for (;;) {
      const { done: ended, value } = await reader.read();
      if (ended) break;
      const parts = (rest + decoder.decode(value, { stream: true })).split('\n');
      rest = parts.pop()!;
      for (const part of parts) lines.push(JSON.parse(part) as Line);
      if (done(lines)) break;
    }
  } catch {
    // cancelled at the deadline
  } finally {
    clearTimeout(deadline);
    await reader.cancel().catch(() => undefined);
  }
  return lines;
}

const bookmarksOf = (lines: Line[]): Line[] => lines.filter((l) => l.type === 'BOOKMARK');

describe('watch bookmarks over HTTP', function () {
  this.timeout(30_000);
  let dir: string;
  let store: EmbeddedStore;
  let server: ApiServer;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-bookmarks-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    server = await startApiServer({ store, token, port: 0, watchBookmarkIntervalMs: INTERVAL_MS });
    for (const name of ['a', 'b'])
      await store.create(kindFor('v1', 'Namespace')!, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name },
      });
  });
  after(async function () {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const watch = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  const configMap = (namespace: string, name: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
  });

  it('sends a bookmark past the events sent and the changes the watch does not see', async function () {
    const from = await store.currentRevision();
    const res = await watch(
      `/api/v1/namespaces/a/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=${from}`,
    );
    assert.equal(res.status, 200);
    const mine = await store.create(configMaps, configMap('a', 'mine'));
    await store.create(configMaps, configMap('b', 'not-mine'));
    const last = await store.create<KubeObject>(secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'a' },
    });
    const lines = await readUntil(
      res,
      (seen) =>
        bookmarksOf(seen).some((b) => b.object.metadata.resourceVersion === last.metadata.resourceVersion),
      10_000,
    );
    assert.deepEqual(
      lines.filter((l) => l.type !== 'BOOKMARK'),
      [{ type: 'ADDED', object: mine }],
    );
    const bookmark = bookmarksOf(lines).at(-1)!;
    assert.deepEqual(bookmark.object, {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { resourceVersion: last.metadata.resourceVersion },
    });
    // revisions on the stream never go back, and no bookmark repeats one already sent
    const revisions = lines.map((l) => Number(l.object.metadata.resourceVersion));
    for (let i = 1; i < revisions.length; i++)
      assert.ok(revisions[i]! > revisions[i - 1]!, revisions.join(', '));
  });

  it('names the API group in a bookmark of a group kind', async function () {
    const res = await watch('/apis/storage.k8s.io/v1/storageclasses?watch=true&allowWatchBookmarks=1');
    const lines = await readUntil(res, (seen) => bookmarksOf(seen).length > 0, 10_000);
    const [bookmark] = bookmarksOf(lines);
    assert.equal(bookmark?.object.apiVersion, 'storage.k8s.io/v1');
    assert.equal(bookmark?.object.kind, 'StorageClass');
  });

  for (const value of ['garbage', '', 'TRUE']) {
    it(`reads allowWatchBookmarks=${value || '(empty)'} as true, as Kubernetes does`, async function () {
      await store.create(secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { generateName: 's-', namespace: 'a' },
      });
      const res = await watch(
        `/api/v1/namespaces/a/configmaps?watch=true&allowWatchBookmarks=${value}&resourceVersion=1`,
      );
      assert.equal(res.status, 200);
      const lines = await readUntil(res, (seen) => bookmarksOf(seen).length > 0, 10_000);
      assert.equal(bookmarksOf(lines).length, 1);
    });
  }

  for (const query of [
    'allowWatchBookmarks=false',
    'allowWatchBookmarks=0',
    'allowWatchBookmarks=FALSE',
    '',
  ]) {
    it(`sends no bookmark for ${query || 'a watch that did not ask'}`, async function () {
      await store.create(secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { generateName: 's-', namespace: 'a' },
      });
      const res = await watch(`/api/v1/namespaces/a/configmaps?watch=true&resourceVersion=1&${query}`);
      // ten intervals: a watch that asked would have had one after the first
      const lines = await readUntil(res, () => false, INTERVAL_MS * 10);
      assert.deepEqual(bookmarksOf(lines), []);
    });
  }

  it('sends none on a Table watch (kubectl get -w)', async function () {
    const res = await watch('/api/v1/namespaces/a/configmaps?watch=true&allowWatchBookmarks=true', {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    const lines = await readUntil(res, () => false, INTERVAL_MS * 10);
    assert.deepEqual(bookmarksOf(lines), []);
  });
});

describe('watch bookmarks before the timeout', function () {
  this.timeout(30_000);

  it('sends one 2 s before the stream times out, although the interval is a minute', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'berth-bookmarks-'));
    const store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    const server = await startApiServer({ store, token, port: 0 });
    try {
      const started = Date.now();
      const res = await fetch(
        `${server.url}/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=3`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      const lines = await readUntil(res, () => false, 20_000);
      assert.deepEqual(
        lines.map((l) => l.type),
        ['BOOKMARK'],
      );
      assert.equal(lines[0]!.object.metadata.resourceVersion, await store.currentRevision());
      assert.ok(Date.now() - started >= 2900, 'the stream ran until its timeout');
    } finally {
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
