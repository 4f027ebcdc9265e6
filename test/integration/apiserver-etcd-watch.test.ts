// An API server on a real etcd streams each change as the stored bytes with the resourceVersion
// added (no parse and serialise per event): the events must be exactly what a read answers.
import assert from 'node:assert/strict';
import { startApiServer, type ApiServer } from '../../src/apiserver/index.js';
import { kindFor } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { RestClient } from '../../src/client/rest.js';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd.js';
import { etcdUnavailable, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { skipUnless } from '../helpers/skip.js';

const TOKEN = 'etcd-watch-token';
const configMaps = kindFor('v1', 'ConfigMap')!;

describe('API server on etcd: watch events from the stored bytes', function () {
  this.timeout(60_000);
  let etcd: EtcdServer | undefined;
  let store: EtcdStore | undefined;
  let server: ApiServer | undefined;
  let client: RestClient;

  before(async function () {
    const why = etcdUnavailable();
    skipUnless(this, why === undefined, why ?? '');
    etcd = await startEtcd();
    store = await openEtcdStore({ endpoints: [etcd.endpoint], compactionIntervalMs: 0 });
    server = await startApiServer({ store, token: TOKEN });
    client = new RestClient({ server: server.url, token: TOKEN });
  });
  after(async function () {
    await server?.close();
    await store?.close();
    await etcd?.stop();
  });

  it('sends ADDED and MODIFIED events equal to what a read of that version answers', async function () {
    const from = (await client.list(configMaps, { namespace: 'default' })).resourceVersion;
    const tricky = { 'a"b': 'quote', 'c\\d': 'backslash', e: '{"metadata":{}}', ü: '✓' };
    const created = await client.create(configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'watched', namespace: 'default', labels: { app: 'x' } },
      data: tricky,
    });
    const updated = await client.update(configMaps, {
      ...created,
      data: { ...tricky, n: '1' },
    });
    const watching = new AbortController();
    const seen: { type: string; object: KubeObject }[] = [];
    for await (const event of client.watch(configMaps, {
      namespace: 'default',
      resourceVersion: from,
      signal: watching.signal,
    })) {
      seen.push(event);
      if (seen.length === 2) watching.abort();
    }
    assert.deepEqual(
      seen.map((e) => e.type),
      ['ADDED', 'MODIFIED'],
    );
    assert.deepEqual(seen[0]!.object, created);
    assert.deepEqual(seen[1]!.object, updated);
    assert.deepEqual(seen[1]!.object, await client.get(configMaps, 'default', 'watched'));
  });

  it('still serves a Table watch (kubectl get -w) and a watch with a selector from parsed objects', async function () {
    const from = (await client.list(configMaps, { namespace: 'default' })).resourceVersion;
    const created = await client.create(configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'selected', namespace: 'default', labels: { pick: 'me' } },
    });
    const watching = new AbortController();
    for await (const event of client.watch(configMaps, {
      namespace: 'default',
      labelSelector: 'pick=me',
      resourceVersion: from,
      signal: watching.signal,
    })) {
      assert.equal(event.type, 'ADDED');
      assert.deepEqual(event.object, created);
      watching.abort();
    }
    const res = await fetch(
      `${server!.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${from}&timeoutSeconds=1`,
      {
        headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
      },
    );
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { object: { kind: string; rows: { cells: unknown[] }[] } });
    assert.equal(lines[0]!.object.kind, 'Table');
    assert.equal(lines[0]!.object.rows[0]!.cells[0], 'selected');
  });
});
