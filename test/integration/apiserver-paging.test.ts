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
