// RestStore against a real berth API server (HTTP, in this process, on a fresh embedded store per
// test): the shared ObjectStore contract where it applies over REST, plus what only a remote store
// has: several API servers (a dead one is skipped), paging, and 410 → onError.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '../../src/apiserver/index.js';
import { K, kindNamed } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { RestStore } from '../../src/machinery/rest-store.js';
import { Informer } from '../../src/machinery/informer.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import type { ObjectStore } from '../../src/store/types.js';
import { describeStoreContract } from '../contract/store-contract.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/ganesha.js';

const HISTORY = 50;
const TOKEN = 'contract-token';
const CONFIG_MAPS = kindNamed('ConfigMap');

interface Backend {
  dir: string;
  inner: EmbeddedStore;
  server: ApiServer;
}

const backends = new Map<ObjectStore, Backend>();

async function startBackend(historyLimit = HISTORY): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rest-'));
  const inner = await openEmbeddedStore({ dataDir: dir, historyLimit });
  const server = await startApiServer({ store: inner, token: TOKEN });
  // the contract writes into these namespaces; an API server wants them to exist
  for (const name of ['other', 'x'])
    await inner.create(K.namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return { dir, inner, server };
}

async function stopBackend(backend: Backend): Promise<void> {
  await backend.server.close();
  await backend.inner.close();
  rmSync(backend.dir, { recursive: true, force: true });
}

async function openRest(): Promise<ObjectStore> {
  const backend = await startBackend();
  const store = RestStore.connect({ servers: [backend.server.url], token: TOKEN });
  backends.set(store, backend);
  return store;
}

describeStoreContract(
  'REST (berth API server)',
  openRest,
  async (store) => {
    await store.close();
    const backend = backends.get(store);
    backends.delete(store);
    if (backend) await stopBackend(backend);
  },
  {
    historyLimit: HISTORY,
    watchExpiryReported: 'onError',
    fieldSelectors: 'field-labels',
    deleteAnswers: 'name-and-uid',
  },
);

describe('RestStore: several API servers, resumed watches, 410 → relist', function () {
  this.timeout(60_000);
  let backend: Backend;
  const extra: ApiServer[] = [];
  const stores: RestStore[] = [];
  const cm = (name: string, n = 0): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default' },
    data: { n: String(n) },
  });
  const connect = (servers: string[]): RestStore => {
    const store = RestStore.connect({ servers, token: TOKEN }, { baseBackoffMs: 50, requestTimeoutMs: 5000 });
    stores.push(store);
    return store;
  };

  beforeEach(async function () {
    backend = await startBackend(5);
  });
  afterEach(async function () {
    for (const store of stores.splice(0)) await store.close();
    for (const server of extra.splice(0)) await server.close();
    await stopBackend(backend);
  });

  it('skips a server that refuses connections, and names every server when none answers', async function () {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const store = connect([dead, backend.server.url]);
    const created = await store.create(CONFIG_MAPS, cm('a'));
    assert.deepEqual(await store.get(CONFIG_MAPS, 'default', 'a'), created);

    const nowhere = connect([dead, `http://127.0.0.1:${await freePort()}`]);
    const started = Date.now();
    await assert.rejects(nowhere.get(CONFIG_MAPS, 'default', 'a'), (err: Error & { code?: number }) => {
      assert.equal(err.code, 503);
      assert.match(err.message, /^no API server answered: http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
      assert.ok(err.message.includes(dead));
      return true;
    });
    // while both back off, a request fails at once instead of hammering them
    await assert.rejects(nowhere.get(CONFIG_MAPS, 'default', 'a'), /backing off/);
    assert.ok(Date.now() - started < 2000);
  });

  it('moves a watch to the next server when its server goes away, missing nothing', async function () {
    const second = await startApiServer({ store: backend.inner, token: TOKEN });
    extra.push(second);
    const store = connect([second.url, backend.server.url]);
    const seen: string[] = [];
    const start = await store.currentRevision();
    const watch = await store.watch(CONFIG_MAPS, { resourceVersion: start }, (e) =>
      seen.push(`${e.type}:${e.object.metadata.name}`),
    );
    await store.create(CONFIG_MAPS, cm('before'));
    await eventually('the first event', async () => seen.length === 1);
    await second.close(); // the watch's connection ends; the next write goes in meanwhile
    await backend.inner.create(CONFIG_MAPS, cm('while-moving'));
    await eventually('the event written while moving', async () => seen.length === 2, 10_000);
    assert.deepEqual(seen, ['ADDED:before', 'ADDED:while-moving']);
    watch.stop();
  });

  it('lets an informer relist when the server answers 410 to its resumed watch', async function () {
    const port = backend.server.port;
    const store = connect([backend.server.url]);
    const informer = new Informer({ store, kind: CONFIG_MAPS });
    informer.start();
    await informer.waitForSync();
    await store.create(CONFIG_MAPS, cm('first'));
    await eventually('first cached', async () => informer.get('default', 'first'));
    await backend.server.close();
    // more changes than the server's history (5) while the informer cannot watch
    for (let i = 0; i < 10; i++) await backend.inner.create(CONFIG_MAPS, cm(`gap-${i}`));
    await backend.inner.delete(CONFIG_MAPS, 'default', 'first');
    backend.server = await startApiServer({ store: backend.inner, token: TOKEN, port });
    await eventually('the relisted cache', async () => informer.list().length === 10, 20_000);
    assert.equal(informer.get('default', 'first'), undefined);
    await informer.stop();
  });

  /** The inner store, counting the API server's lists and watches of ConfigMaps. */
  function counted(): { store: ObjectStore; lists: () => number; watches: () => number } {
    let lists = 0;
    let watches = 0;
    const inner = backend.inner;
    const store: ObjectStore = Object.assign(Object.create(inner) as ObjectStore, {
      list: (...args: Parameters<ObjectStore['list']>) => {
        if (args[0] === CONFIG_MAPS) lists++;
        return inner.list(...args);
      },
      watch: (...args: Parameters<ObjectStore['watch']>) => {
        if (args[0] === CONFIG_MAPS) watches++;
        return inner.watch(...args);
      },
    });
    return { store, lists: () => lists, watches: () => watches };
  }

  for (const { title, intervalMs, relists } of [
    { title: 'resumes an informer from a bookmark without relisting', intervalMs: 100, relists: false },
    {
      title: 'relists an informer whose server sends no bookmarks (the control)',
      intervalMs: 0,
      relists: true,
    },
  ]) {
    it(`${title}, after more changes of another kind than the history keeps`, async function () {
      const counter = counted();
      const server = await startApiServer({
        store: counter.store,
        token: TOKEN,
        watchBookmarkIntervalMs: intervalMs,
      });
      extra.push(server);
      // watch connections of 3-6 s, each resumed from the last revision the informer saw
      const store = RestStore.connect(
        { servers: [server.url], token: TOKEN },
        { baseBackoffMs: 50, requestTimeoutMs: 5000, watchTimeoutSeconds: 3 },
      );
      stores.push(store);
      const informer = new Informer({ store, kind: CONFIG_MAPS, namespace: 'default' });
      informer.start();
      await informer.waitForSync();
      await store.create(CONFIG_MAPS, cm('first'));
      await eventually('first cached', async () => informer.get('default', 'first'));
      const listed = counter.lists();
      // twice the history (5) of writes the informer does not watch
      for (let i = 0; i < 10; i++)
        await backend.inner.create(K.secret, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `s-${i}`, namespace: 'default' },
        });
      const watched = counter.watches();
      await eventually('a resumed watch', async () => counter.watches() > watched, 20_000);
      await store.create(CONFIG_MAPS, cm('second'));
      await eventually('second cached', async () => informer.get('default', 'second'), 20_000);
      if (relists) assert.ok(counter.lists() > listed, 'the control relisted');
      else assert.equal(counter.lists(), listed, 'no relist');
      await informer.stop();
    });
  }
});
