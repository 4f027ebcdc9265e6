// Two API servers (in this process) on one real etcd: an update naming a version its replica
// already has (wrote, read or watched) starts from that copy without reading etcd, and answers
// exactly what a fresh read would have: 409 for a stale version even where the stale copy would
// have refused the change or found nothing changed.
import assert from 'node:assert/strict';
import { startApiServer, type ApiServer } from '../../src/apiserver/index.js';
import { kindFor } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { RestClient } from '../../src/client/rest.js';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd.js';
import { eventually } from '../helpers/eventually.js';
import { etcdUnavailable, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { skipUnless } from '../helpers/skip.js';

const TOKEN = 'known-version-token';
const configMaps = kindFor('v1', 'ConfigMap')!;
const claims = kindFor('v1', 'PersistentVolumeClaim')!;

function configMap(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { n: '0' } };
}

describe('API servers on etcd: updates from the version a replica has at hand', function () {
  this.timeout(60_000);
  let etcd: EtcdServer | undefined;
  const stores: EtcdStore[] = [];
  const servers: ApiServer[] = [];
  let viaA: RestClient;
  let viaB: RestClient;

  before(async function () {
    const why = etcdUnavailable();
    skipUnless(this, why === undefined, why ?? '');
    etcd = await startEtcd();
    for (let i = 0; i < 2; i++) {
      const store = await openEtcdStore({ endpoints: [etcd.endpoint], compactionIntervalMs: 0 });
      stores.push(store);
      servers.push(await startApiServer({ store, token: TOKEN }));
    }
    [viaA, viaB] = servers.map((server) => new RestClient({ server: server.url, token: TOKEN })) as [
      RestClient,
      RestClient,
    ];
  });
  after(async function () {
    for (const server of servers) await server.close();
    for (const store of stores) await store.close();
    await etcd?.stop();
  });

  /** etcd's count of Range calls so far. */
  async function ranges(): Promise<number> {
    const text = await (await fetch(`${etcd!.endpoint}/metrics`)).text();
    const match = /^grpc_server_started_total\{[^}]*grpc_method="Range"[^}]*\} (\d+)$/m.exec(text);
    return Number(match?.[1] ?? 0);
  }

  it('writes from the version it wrote or watched without reading it, and reads what it has not seen', async function () {
    const created = await viaA.create(configMaps, configMap('known'));
    let before = await ranges();
    const second = await viaA.update(configMaps, { ...created, data: { n: '1' } });
    assert.equal(await ranges(), before, 'A wrote the version it was asked to update');
    assert.deepEqual(second['data'], { n: '1' });

    before = await ranges();
    const third = await viaB.update(configMaps, { ...second, data: { n: '2' } });
    assert.equal(await ranges(), before + 1, 'B had not seen that version: it read it');

    // a replica serving a watch sees the versions the other writes
    const watching = new AbortController();
    const seen: string[] = [];
    const stream = (async () => {
      const events = viaB.watch(configMaps, {
        namespace: 'default',
        resourceVersion: third.metadata.resourceVersion!,
        signal: watching.signal,
      });
      for await (const event of events) seen.push(event.object.metadata.resourceVersion!);
    })();
    const fourth = await viaA.update(configMaps, { ...third, data: { n: '3' } });
    await eventually('B watched the write', async () => seen.includes(fourth.metadata.resourceVersion!));
    before = await ranges();
    const fifth = await viaB.update(configMaps, { ...fourth, data: { n: '4' } });
    assert.equal(await ranges(), before, 'B watched the version it was asked to update');
    assert.deepEqual((await viaA.get(configMaps, 'default', 'known'))['data'], { n: '4' });
    assert.equal(fifth.metadata.uid, created.metadata.uid);
    watching.abort();
    await stream;
  });

  it('answers 409 for a stale version the replica still has, where the copy would refuse or see no change', async function () {
    const claim = await viaA.create<KubeObject>(claims, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'stale', namespace: 'default' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    await viaB.patch(claims, 'default', 'stale', { metadata: { labels: { changed: 'by-b' } } });
    const immutableChange = {
      ...claim,
      spec: { ...(claim['spec'] as object), accessModes: ['ReadWriteMany'] },
    } as KubeObject;
    await assert.rejects(viaA.update(claims, immutableChange), (err: Error & { code?: number }) => {
      assert.equal(err.code, 409, err.message);
      return true;
    });
    await assert.rejects(viaA.update(claims, claim), (err: Error & { code?: number }) => {
      assert.equal(
        err.code,
        409,
        `no change against the stale copy is still a stale version: ${err.message}`,
      );
      return true;
    });
    // against the current version the same immutable change is refused as invalid
    const current = await viaA.get(claims, 'default', 'stale');
    await assert.rejects(
      viaA.update(claims, { ...current, spec: immutableChange['spec'] }),
      (err: Error & { code?: number }) => err.code === 422,
    );
  });
});
