// List paging over HTTP: `limit` and `continue` as kubectl and client-go send them.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '../../src/apiserver/index.js';
import { kindFor } from '../../src/api/kinds.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';

const token = 'paging-token-0123456789';
const configMaps = kindFor('v1', 'ConfigMap')!;
const volumeSnapshotClasses = kindFor('snapshot.storage.k8s.io/v1', 'VolumeSnapshotClass')!;

interface ListBody {
  kind: string;
  metadata: { resourceVersion?: string; continue?: string };
  items?: Array<{ metadata: { name: string } }>;
  rows?: unknown[];
  message?: string;
}

describe('apiserver list paging', function () {
  let dir: string;
  let store: EmbeddedStore;
  let server: ApiServer;

  async function list(
    query: string,
    accept = 'application/json',
  ): Promise<{ status: number; body: ListBody }> {
    const res = await fetch(`${server.url}/api/v1/namespaces/default/configmaps?${query}`, {
      headers: { authorization: `Bearer ${token}`, accept },
    });
    return { status: res.status, body: (await res.json()) as ListBody };
  }

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-paging-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    server = await startApiServer({ store, token, port: 0 });
    for (let i = 0; i < 5; i++) {
      await store.create(configMaps, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm${i}`, namespace: 'default' },
      });
    }
  });
  after(async function () {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers pages of `limit` items with metadata.continue until the last', async function () {
    const names: string[] = [];
    let query = 'limit=2';
    const revisions = new Set<string>();
    for (;;) {
      const { status, body } = await list(query);
      assert.equal(status, 200);
      assert.equal(body.kind, 'ConfigMapList');
      names.push(...body.items!.map((i) => i.metadata.name));
      revisions.add(body.metadata.resourceVersion!);
      if (!body.metadata.continue) break;
      query = `limit=2&continue=${encodeURIComponent(body.metadata.continue)}`;
    }
    assert.deepEqual(names, ['cm0', 'cm1', 'cm2', 'cm3', 'cm4']);
    assert.equal(revisions.size, 1);
    // zero or negative means "no limit", as in Kubernetes
    assert.equal((await list('limit=0')).body.items!.length, 5);
    assert.equal((await list('limit=-4')).body.items!.length, 5);
  });

  it('answers a later page with what changed since the first (the page prepared ahead is not sent)', async function () {
    const first = await list('limit=2');
    // the server prepares the next page once it has answered this one
    await new Promise((resolve) => setTimeout(resolve, 50));
    const cm2 = await store.get(configMaps, 'default', 'cm2');
    await store.update(configMaps, { ...cm2, data: { seen: 'after the first page' } });
    const { body } = await list(`limit=2&continue=${encodeURIComponent(first.body.metadata.continue!)}`);
    const items = body.items as Array<{ metadata: { name: string }; data?: Record<string, string> }>;
    assert.deepEqual(
      items.map((i) => i.metadata.name),
      ['cm2', 'cm3'],
    );
    assert.equal(items[0]!.data?.['seen'], 'after the first page');
    assert.equal(body.metadata.resourceVersion, first.body.metadata.resourceVersion);
  });

  it("leaves apiVersion and kind out of a built-in kind's list items, as kube-apiserver does; a get and a watch event keep them", async function () {
    const get = (path: string, accept = 'application/json') =>
      fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept } });
    const items = async (path: string) =>
      ((await (await get(path)).json()) as { items: Record<string, unknown>[] }).items;
    for (const query of ['', '?limit=2', '?limit=2&pretty=true']) {
      const listed = await items(`/api/v1/namespaces/default/configmaps${query}`);
      assert.ok(listed.length > 0);
      for (const item of listed) {
        assert.equal(item['kind'], undefined, query);
        assert.equal(item['apiVersion'], undefined, query);
        assert.ok(item['metadata'], query);
      }
    }
    // the store's own objects are shared: a list leaves them whole
    assert.equal((await store.get(configMaps, 'default', 'cm0')).kind, 'ConfigMap');
    const one = (await (await get('/api/v1/namespaces/default/configmaps/cm0')).json()) as Record<
      string,
      unknown
    >;
    assert.equal(one['kind'], 'ConfigMap');
    assert.equal(one['apiVersion'], 'v1');
    // a Table's rows carry objects whole (includeObject=Object), as upstream converts each to its version
    const table = (await (
      await get(
        '/api/v1/namespaces/default/configmaps?includeObject=Object',
        'application/json;as=Table;v=v1;g=meta.k8s.io',
      )
    ).json()) as { rows: { object: Record<string, unknown> }[] };
    assert.equal(table.rows[0]!.object['kind'], 'ConfigMap');
    // a watch's events name the kind of their object
    const watch = await get(
      '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0&timeoutSeconds=1',
    );
    const first = JSON.parse((await watch.text()).split('\n')[0]!) as { object: Record<string, unknown> };
    assert.equal(first.object['kind'], 'ConfigMap');
    assert.equal(first.object['apiVersion'], 'v1');
  });

  it('answers a deletecollection with the list of what it deleted, its items without apiVersion and kind', async function () {
    await store.create(configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'doomed', namespace: 'default', labels: { doomed: 'yes' } },
    });
    const res = await fetch(`${server.url}/api/v1/namespaces/default/configmaps?labelSelector=doomed%3Dyes`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { kind: string; items: Record<string, unknown>[] };
    assert.equal(body.kind, 'ConfigMapList');
    assert.deepEqual(
      body.items.map((item) => [
        item['kind'],
        item['apiVersion'],
        (item['metadata'] as { name: string }).name,
      ]),
      [[undefined, undefined, 'doomed']],
    );
  });

  it('keeps apiVersion and kind on the items of a snapshot kind, a custom resource upstream', async function () {
    await store.create(volumeSnapshotClasses, {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: { name: 'paging-class' },
      driver: 'hostpath.csi.k8s.io',
      deletionPolicy: 'Delete',
    });
    const res = await fetch(`${server.url}/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as { items: Record<string, unknown>[] };
    assert.equal(body.items[0]!['kind'], 'VolumeSnapshotClass');
    assert.equal(body.items[0]!['apiVersion'], 'snapshot.storage.k8s.io/v1');
  });

  it('answers paged lists with pretty=true indented', async function () {
    const res = await fetch(`${server.url}/api/v1/namespaces/default/configmaps?limit=2&pretty=true`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const text = await res.text();
    assert.match(text, /^\{\n {2}"kind": "ConfigMapList"/);
    const next = JSON.parse(text) as ListBody;
    const again = await fetch(
      `${server.url}/api/v1/namespaces/default/configmaps?limit=2&pretty=true&continue=${encodeURIComponent(next.metadata.continue!)}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    assert.match(await again.text(), /^\{\n {2}"kind": "ConfigMapList"/);
  });

  it('pages Tables too (kubectl get sends limit=500)', async function () {
    const { body } = await list('limit=3', 'application/json;as=Table;v=v1;g=meta.k8s.io');
    assert.equal(body.kind, 'Table');
    assert.equal(body.rows!.length, 3);
    assert.ok(body.metadata.continue);
  });

  it('answers 400 naming a malformed limit or continue', async function () {
    const badLimit = await list('limit=lots');
    assert.equal(badLimit.status, 400);
    assert.match(badLimit.body.message!, /invalid limit "lots"/);
    const badToken = await list('limit=1&continue=%7Bnope');
    assert.equal(badToken.status, 400);
    assert.match(badToken.body.message!, /continue key is not valid/);
  });

  it("answers 400 naming a watch's malformed timeoutSeconds, before the stream starts", async function () {
    for (const value of ['abc', '1.5', '%00']) {
      const bad = await list(`watch=1&timeoutSeconds=${value}`);
      assert.equal(bad.status, 400, value);
      assert.match(bad.body.message!, /invalid timeoutSeconds ".*": must be an integer/);
    }
    const res = await fetch(`${server.url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    assert.equal((await res.text()).trim().split('\n').length, 5, 'the 5 ADDED events, then the stream ends');
  });
});
