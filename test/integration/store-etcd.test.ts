// The etcd store against a real etcd: the shared ObjectStore contract (each test under its own
// key prefix), plus what only a shared store has: two stores (two API servers) on one etcd,
// credentials created once, paging across a compaction, and a clear error when etcd is away.
import assert from 'node:assert/strict';
import net from 'node:net';
import { kindFor } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { encodedJsonOf } from '../../src/store/encoded-json.js';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd.js';
import type { WatchEvent } from '../../src/store/types.js';
import { describeStoreContract } from '../contract/store-contract.js';
import { describeWatchProgressContract } from '../contract/watch-progress-contract.js';
import { eventually } from '../helpers/eventually.js';
import { etcdUnavailable, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { skipUnless } from '../helpers/skip.js';

const HISTORY = 50;
const unavailable = etcdUnavailable();
const configMaps = kindFor('v1', 'ConfigMap')!;

function configMap(name: string, n = 0): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns' }, data: { n: String(n) } };
}

if (unavailable) {
  describe('ObjectStore contract: etcd', function () {
    it('runs against a real etcd', function () {
      skipUnless(this, false, unavailable);
    });
  });
} else {
  let etcd: EtcdServer;
  let prefixes = 0;
  before(async function () {
    this.timeout(30_000);
    etcd = await startEtcd();
  });
  after(async function () {
    await etcd?.stop();
  });

  describeStoreContract(
    'etcd',
    () =>
      openEtcdStore({
        endpoints: [etcd.endpoint],
        prefix: `/contract-${++prefixes}`,
        historyLimit: HISTORY,
        compactionIntervalMs: 0,
      }),
    undefined,
    { historyLimit: HISTORY },
  );

  describeWatchProgressContract('etcd', () =>
    openEtcdStore({ endpoints: [etcd.endpoint], prefix: `/progress-${++prefixes}`, compactionIntervalMs: 0 }),
  );

  describe('etcd store: shared by several API servers', function () {
    let a: EtcdStore;
    let b: EtcdStore;
    beforeEach(async function () {
      const prefix = `/shared-${++prefixes}`;
      a = await openEtcdStore({ endpoints: [etcd.endpoint], prefix, compactionIntervalMs: 0 });
      b = await openEtcdStore({ endpoints: [etcd.endpoint], prefix, compactionIntervalMs: 0 });
    });
    afterEach(async function () {
      await a.close();
      await b.close();
    });

    it('serves one store: writes of one are reads, conflicts and watch events of the other', async function () {
      const events: WatchEvent[] = [];
      const watch = await b.watch(configMaps, { resourceVersion: await b.currentRevision() }, (e) =>
        events.push(e),
      );
      const created = await a.create(configMaps, configMap('one'));
      assert.deepEqual(await b.get(configMaps, 'ns', 'one'), created);
      await b.patch(configMaps, 'ns', 'one', { data: { n: '2' } });
      await assert.rejects(a.update(configMaps, { ...created, data: { n: '3' } }), /has been modified/);
      await eventually('both events', async () => events.length >= 2);
      assert.deepEqual(
        events.map((e) => e.type),
        ['ADDED', 'MODIFIED'],
      );
      watch.stop();
    });

    it('keeps serving while watches come and go (a stopped watch is no etcd failure)', async function () {
      // an API server stops an etcd watch whenever a client's watch ends; etcd3 counted each
      // cancelled stream as a failure of the host and, after three, refused every call for 5 s
      for (let i = 0; i < 5; i++) {
        const watches = await Promise.all(
          [1, 2, 3, 4].map(async () =>
            a.watch(configMaps, { resourceVersion: await a.currentRevision() }, () => {}),
          ),
        );
        for (const watch of watches) watch.stop();
        await new Promise((resolve) => setTimeout(resolve, 20));
        await a.create(configMaps, configMap(`after-${i}`));
        assert.equal((await a.list(configMaps)).items.length, i + 1);
      }
    });

    it('decides on what etcd holds when its own last copy is stale (written by the other since)', async function () {
      const created = await a.create(configMaps, configMap('stale', 1)); // a remembers version 1
      const byB = await b.patch(configMaps, 'ns', 'stale', { data: { n: '2' } });
      // pinned to the version b wrote: not a conflict, although a's copy is older
      const pinned = await a.update(configMaps, { ...byB, data: { n: '3' } });
      assert.deepEqual(pinned['data'], { n: '3' });
      await b.patch(configMaps, 'ns', 'stale', { data: { n: '1' } });
      // unchanged against a's copy (n=3 is what a wrote), yet a change against etcd's n=1
      const again = await a.patch(configMaps, 'ns', 'stale', { data: { n: '3' } });
      assert.notEqual(again.metadata.resourceVersion, pinned.metadata.resourceVersion);
      assert.deepEqual((await b.get(configMaps, 'ns', 'stale'))['data'], { n: '3' });
      // pinned to a version that is gone: 409 still
      await assert.rejects(a.update(configMaps, { ...created, data: { n: '4' } }), /has been modified/);
      // deleted by b: a's copy does not bring it back
      await b.delete(configMaps, 'ns', 'stale');
      await assert.rejects(a.patch(configMaps, 'ns', 'stale', { data: { n: '5' } }), /not found/);
      await assert.rejects(b.get(configMaps, 'ns', 'stale'), /not found/);
    });

    it("gives a write's answer the JSON text of exactly what it wrote, for the API server to send", async function () {
      const created = await a.create(configMaps, configMap('text', 1));
      const updated = await a.update(configMaps, { ...created, data: { n: '2' } });
      const patched = await a.patch(configMaps, 'ns', 'text', { data: { n: '3' } });
      for (const written of [created, updated, patched]) {
        const json = encodedJsonOf(written);
        assert.ok(json !== undefined, 'recorded');
        assert.deepEqual(JSON.parse(json), written);
      }
      assert.deepEqual(JSON.parse(encodedJsonOf(patched)!), await b.get(configMaps, 'ns', 'text'));
    });

    it('keeps the first bootstrap value (credentials are created once)', async function () {
      assert.equal(await a.bootstrapValue('token', 'first'), 'first');
      assert.equal(await b.bootstrapValue('token', 'second'), 'first');
    });

    it('answers 410 Expired for a continue token whose revision was compacted', async function () {
      const compacting = await openEtcdStore({
        endpoints: [etcd.endpoint],
        prefix: `/compact-${++prefixes}`,
        historyLimit: 5,
        compactionIntervalMs: 0,
      });
      try {
        for (let i = 0; i < 4; i++) await compacting.create(configMaps, configMap(`c${i}`));
        const first = await compacting.list(configMaps, { limit: 2 });
        for (let i = 0; i < 20; i++)
          await compacting.patch(configMaps, 'ns', 'c0', { data: { n: String(i) } });
        await assert.rejects(
          compacting.list(configMaps, { limit: 2, continue: first.continue! }),
          (err: Error & { code?: number }) => {
            assert.equal(err.code, 410);
            assert.match(err.message, /continue parameter is too old/);
            return true;
          },
        );
        assert.ok(compacting.stats().compactedRevision > Number(first.resourceVersion));
      } finally {
        await compacting.close();
      }
    });

    it('goes on to the next endpoint when one cannot be reached, and serves from it', async function () {
      const store = await openEtcdStore({
        endpoints: ['http://127.0.0.1:1', etcd.endpoint],
        prefix: '/unreachable-first',
        compactionIntervalMs: 0,
      });
      try {
        const created = await store.create<KubeObject>(configMaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'reached', namespace: 'default' },
        });
        const read = await store.get(configMaps, 'default', 'reached');
        assert.equal(read.metadata?.resourceVersion, created.metadata?.resourceVersion);
      } finally {
        await store.close();
      }
    });

    it('goes on to the next endpoint when one accepts connections but never answers (a hung etcd), and serves from it', async function () {
      const silent = net.createServer((socket) => socket.on('error', () => undefined));
      const sockets: net.Socket[] = [];
      silent.on('connection', (socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as net.AddressInfo;
      try {
        const store = await openEtcdStore({
          endpoints: [`http://127.0.0.1:${port}`, etcd.endpoint],
          prefix: '/silent-first',
          compactionIntervalMs: 0,
          requestTimeoutMs: 1000,
        });
        try {
          const created = await store.create<KubeObject>(configMaps, configMap('reached'));
          const read = await store.get(configMaps, 'ns', 'reached');
          assert.equal(read.metadata?.resourceVersion, created.metadata?.resourceVersion);
        } finally {
          await store.close();
        }
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('leaves an endpoint that stops answering altogether (a partition: TCP stays open, silent) for the next one', async function () {
      // a proxy in front of etcd that can go silent: it keeps every socket open and forwards nothing
      let silent = false;
      const sockets: net.Socket[] = [];
      const target = new URL(etcd.endpoint);
      const proxy = net.createServer((client) => {
        const upstream = net.connect(Number(target.port), target.hostname);
        sockets.push(client, upstream);
        client.on('data', (data) => silent || upstream.write(data));
        upstream.on('data', (data) => silent || client.write(data));
        for (const socket of [client, upstream]) socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const { port } = proxy.address() as net.AddressInfo;
      const store = await openEtcdStore({
        endpoints: [`http://127.0.0.1:${port}`, etcd.endpoint],
        prefix: '/partitioned-first',
        compactionIntervalMs: 0,
        requestTimeoutMs: 1000,
      });
      try {
        const created = await store.create<KubeObject>(configMaps, configMap('before'));
        silent = true;
        // calls on the silent connection fail at their deadline; then the next endpoint serves
        const read = await eventually(
          'a read served by the next endpoint',
          () => store.get<KubeObject>(configMaps, 'ns', 'before'),
          20_000,
        );
        assert.equal(read.metadata?.resourceVersion, created.metadata?.resourceVersion);
        await store.create<KubeObject>(configMaps, configMap('after'));
      } finally {
        await store.close();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => proxy.close(resolve));
      }
    });

    it('answers 413, not 503 (send again), for an object larger than etcd takes', async function () {
      const store = await openEtcdStore({
        endpoints: [etcd.endpoint],
        prefix: '/too-large',
        compactionIntervalMs: 0,
      });
      try {
        // past etcd's default --max-request-bytes (1.5 MiB), then past its gRPC message limit (2 MiB)
        for (const bytes of [1_700_000, 3_000_000]) {
          const large = { ...configMap(`large-${bytes}`), data: { x: 'a'.repeat(bytes) } };
          await assert.rejects(store.create(configMaps, large), (err: Error & { code?: number }) => {
            assert.equal(err.code, 413, err.message);
            assert.match(err.message, /^etcd: /);
            return true;
          });
        }
        const fits = await store.create<KubeObject>(configMaps, {
          ...configMap('fits'),
          data: { x: 'a'.repeat(1_000_000) },
        });
        assert.equal(
          (await store.get<KubeObject>(configMaps, 'ns', 'fits')).metadata?.resourceVersion,
          fits.metadata?.resourceVersion,
        );
      } finally {
        await store.close();
      }
    });

    it('fails fast naming etcd when no etcd answers', async function () {
      await assert.rejects(
        openEtcdStore({ endpoints: ['http://127.0.0.1:1'], requestTimeoutMs: 2000 }),
        (err: Error & { code?: number }) => err.code === 503 && /^etcd: /.test(err.message),
      );
    });
  });
}
