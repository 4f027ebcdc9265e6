// The API server over real HTTP against the real embedded store: status codes and Status shapes,
// compare-and-swap, the status subresource, patches, admission, tables and watch streams.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '../../src/apiserver/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';

const token = 'test-token-0123456789';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON is probed field by field
type JsonBody = any;

interface Reply {
  status: number;
  body: JsonBody;
}

describe('apiserver over HTTP', function () {
  let dir: string;
  let store: EmbeddedStore;
  let server: ApiServer;

  async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const init: RequestInit = {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await fetch(`${server.url}${path}`, init);
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  }

  const pvcPath = '/api/v1/namespaces/default/persistentvolumeclaims';
  function claim(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        storageClassName: '',
        ...extra,
      },
    };
  }

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-apiserver-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'store'), historyLimit: 20 });
    server = await startApiServer({ store, token, port: 0 });
  });
  after(async function () {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 401 Unauthorized without the bearer token, except for health checks', async function () {
    for (const headers of [{}, { authorization: 'Bearer wrong' }]) {
      const res = await fetch(`${server.url}/version`, { headers });
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok');
  });

  it('serves version and discovery documents', async function () {
    const version = await call('GET', '/version');
    assert.equal(version.body.major, '1');
    assert.equal(version.body.minor, '32');
    const core = await call('GET', '/api/v1');
    const names = core.body.resources.map((r: { name: string }) => r.name);
    assert.ok(names.includes('persistentvolumes') && names.includes('persistentvolumes/status'));
    const pvc = core.body.resources.find((r: { name: string }) => r.name === 'persistentvolumeclaims');
    assert.deepEqual(pvc.shortNames, ['pvc']);
    assert.equal(pvc.namespaced, true);
    const groups = await call('GET', '/apis');
    assert.deepEqual(groups.body.groups.map((g: { name: string }) => g.name).sort(), [
      'apps',
      'batch',
      'coordination.k8s.io',
      'rbac.authorization.k8s.io',
      'snapshot.storage.k8s.io',
      'storage.k8s.io',
    ]);
    const namespaces = await call('GET', '/api/v1/namespaces');
    assert.deepEqual(
      namespaces.body.items.map((n: { metadata: { name: string } }) => n.metadata.name).sort(),
      ['default', 'kube-node-lease', 'kube-public', 'kube-system'],
    );
  });

  it('answers unknown paths and objects with 404 Status objects', async function () {
    const path = await call('GET', '/api/v1/widgets');
    assert.equal(path.status, 404);
    assert.equal(path.body.reason, 'NotFound');
    assert.equal(path.body.message, 'the server could not find the requested resource');
    const obj = await call('GET', `${pvcPath}/missing`);
    assert.equal(obj.status, 404);
    assert.equal(obj.body.message, 'persistentvolumeclaims "missing" not found');
    assert.deepEqual(obj.body.details, { name: 'missing', group: '', kind: 'persistentvolumeclaims' });
    const ns = await call('POST', '/api/v1/namespaces/nope/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
    });
    assert.equal(ns.status, 404);
    assert.equal(ns.body.message, 'namespaces "nope" not found');
    // namespace admission comes before validation, as in Kubernetes: an invalid object gets the 404 too
    const invalid = await call('POST', '/api/v1/namespaces/nope/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'Not_A_Name' },
    });
    assert.equal(invalid.status, 404);
    assert.equal(invalid.body.message, 'namespaces "nope" not found');
    const dryRun = await call('POST', '/api/v1/namespaces/nope/configmaps?dryRun=All', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
    });
    assert.equal(dryRun.status, 404);
    assert.equal(dryRun.body.message, 'namespaces "nope" not found');
    const invalidHere = await call('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'Not_A_Name' },
    });
    assert.equal(invalidHere.status, 422);
    const method = await call('POST', '/api/v1');
    assert.equal(method.status, 405);
  });

  it('creates from YAML with admission: protection finalizer and the default class', async function () {
    const sc = await call('POST', '/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'example.com/p',
    });
    assert.equal(sc.status, 201);
    const yamlBody = [
      'apiVersion: v1',
      'kind: PersistentVolumeClaim',
      'metadata:',
      '  name: from-yaml',
      'spec:',
      '  accessModes: [ReadWriteOnce]',
      '  resources: {requests: {storage: 2Gi}}',
    ].join('\n');
    const created = await call('POST', pvcPath, yamlBody, { 'content-type': 'application/yaml' });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.metadata.finalizers, ['kubernetes.io/pvc-protection']);
    assert.equal(created.body.spec.storageClassName, 'standard');
    assert.ok(created.body.metadata.uid);
    const explicit = await call('POST', pvcPath, claim('no-class'));
    assert.equal(explicit.body.spec.storageClassName, '');
    const duplicate = await call('POST', pvcPath, claim('no-class'));
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.reason, 'AlreadyExists');
    const generated = await call('POST', pvcPath, { ...claim(''), metadata: { generateName: 'gen-' } });
    assert.equal(generated.status, 201);
    assert.match(generated.body.metadata.name, /^gen-[a-z0-9]{5}$/);
  });

  it('answers a write with the same bytes as a read of the object it stored', async function () {
    async function text(method: string, path: string, body?: unknown, type = 'application/json') {
      const init: RequestInit = {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': type },
      };
      if (body !== undefined) init.body = JSON.stringify(body);
      const res = await fetch(`${server.url}${path}`, init);
      return { status: res.status, text: await res.text() };
    }
    const path = '/api/v1/namespaces/default/configmaps';
    const created = await text('POST', path, {
      metadata: { name: 'same-bytes', labels: { app: 'bytes' } },
      data: { a: 'ünïcode \u2028 "quoted"' },
    });
    assert.equal(created.status, 201);
    assert.equal(created.text, (await text('GET', `${path}/same-bytes`)).text);
    assert.ok(created.text.endsWith('}\n'));
    const patched = await text(
      'PATCH',
      `${path}/same-bytes`,
      { data: { b: '2' } },
      'application/merge-patch+json',
    );
    assert.equal(patched.status, 200);
    assert.equal(patched.text, (await text('GET', `${path}/same-bytes`)).text);
    const pretty = await text('POST', `${path}?pretty=true`, { metadata: { name: 'same-bytes-2' } });
    assert.equal(pretty.status, 201);
    assert.equal(pretty.text, `${JSON.stringify(JSON.parse(pretty.text), null, 2)}\n`);
  });

  it('rejects invalid objects with 422 and causes naming the field', async function () {
    const res = await call('POST', pvcPath, claim('bad', { accessModes: ['ReadWriteSometimes'] }));
    assert.equal(res.status, 422);
    assert.equal(res.body.reason, 'Invalid');
    assert.match(res.body.message, /^PersistentVolumeClaim "bad" is invalid: spec\.accessModes\[0\]/);
    assert.equal(res.body.details.causes[0].field, 'spec.accessModes[0]');
    const cm = await call('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'Not_A_Name' },
    });
    assert.equal(cm.status, 422);
    assert.equal(cm.body.details.causes[0].field, 'metadata.name');
  });

  it('updates with compare-and-swap on resourceVersion: 409 Conflict on a stale version', async function () {
    const created = (await call('POST', pvcPath, claim('cas'))).body;
    const first = await call('PUT', `${pvcPath}/cas`, {
      ...created,
      metadata: { ...created.metadata, labels: { a: '1' } },
    });
    assert.equal(first.status, 200);
    assert.notEqual(first.body.metadata.resourceVersion, created.metadata.resourceVersion);
    const stale = await call('PUT', `${pvcPath}/cas`, {
      ...created,
      metadata: { ...created.metadata, labels: { a: '2' } },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    assert.match(stale.body.message, /^Operation cannot be fulfilled on persistentvolumeclaims "cas"/);
    const renamed = await call('PUT', `${pvcPath}/cas`, {
      ...first.body,
      metadata: { ...first.body.metadata, name: 'other' },
    });
    assert.equal(renamed.status, 400);
  });

  it('writes status only through the status subresource', async function () {
    const created = (await call('POST', pvcPath, claim('st'))).body;
    const viaMain = await call('PUT', `${pvcPath}/st`, { ...created, status: { phase: 'Bound' } });
    assert.equal(viaMain.body.status.phase, 'Pending');
    const viaStatus = await call('PUT', `${pvcPath}/st/status`, {
      ...viaMain.body,
      metadata: { ...viaMain.body.metadata, labels: { ignored: 'yes' } },
      spec: { ...viaMain.body.spec, volumeName: 'ignored' },
      status: { phase: 'Bound' },
    });
    assert.equal(viaStatus.status, 200);
    assert.equal(viaStatus.body.status.phase, 'Bound');
    assert.equal(viaStatus.body.spec.volumeName, undefined);
    assert.equal(viaStatus.body.metadata.labels, undefined);
    const patched = await call(
      'PATCH',
      `${pvcPath}/st/status`,
      { status: { phase: 'Lost' } },
      {
        'content-type': 'application/merge-patch+json',
      },
    );
    assert.equal(patched.body.status.phase, 'Lost');
  });

  it('lets a bound claim grow only when its class allows volume expansion (403 otherwise)', async function () {
    const merge = { 'content-type': 'application/merge-patch+json' };
    for (const [name, allow] of [
      ['grows', true],
      ['fixed', false],
    ] as const) {
      const scReply = await call('POST', '/apis/storage.k8s.io/v1/storageclasses', {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name },
        provisioner: 'example.com/csi',
        allowVolumeExpansion: allow,
      });
      assert.equal(scReply.status, 201);
      await call('POST', pvcPath, claim(`c-${name}`, { storageClassName: name }));
      await call('PATCH', `${pvcPath}/c-${name}/status`, { status: { phase: 'Bound' } }, merge);
    }
    const bigger = { spec: { resources: { requests: { storage: '2Gi' } } } };
    const allowed = await call('PATCH', `${pvcPath}/c-grows`, bigger, merge);
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.spec.resources.requests.storage, '2Gi');
    const refused = await call('PATCH', `${pvcPath}/c-fixed`, bigger, merge);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.reason, 'Forbidden');
    assert.equal(
      refused.body.message,
      'persistentvolumeclaims "c-fixed" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    );
    // the same size, or other updates, are not resizes
    const relabelled = await call('PATCH', `${pvcPath}/c-fixed`, { metadata: { labels: { a: 'b' } } }, merge);
    assert.equal(relabelled.status, 200);
    for (const name of ['grows', 'fixed'])
      await call('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${name}`);
  });

  it('applies merge, JSON and strategic merge patches, and refuses other media types', async function () {
    await call('POST', pvcPath, claim('p'));
    const merge = await call(
      'PATCH',
      `${pvcPath}/p`,
      { metadata: { labels: { a: '1', b: '2' } } },
      {
        'content-type': 'application/merge-patch+json',
      },
    );
    assert.deepEqual(merge.body.metadata.labels, { a: '1', b: '2' });
    const json = await call('PATCH', `${pvcPath}/p`, [{ op: 'remove', path: '/metadata/labels/a' }], {
      'content-type': 'application/json-patch+json',
    });
    assert.deepEqual(json.body.metadata.labels, { b: '2' });
    const strategic = await call(
      'PATCH',
      `${pvcPath}/p`,
      { metadata: { finalizers: ['example.com/keep'] } },
      {
        'content-type': 'application/strategic-merge-patch+json',
      },
    );
    assert.deepEqual(strategic.body.metadata.finalizers, [
      'kubernetes.io/pvc-protection',
      'example.com/keep',
    ]);
    const failedTest = await call(
      'PATCH',
      `${pvcPath}/p`,
      [{ op: 'test', path: '/metadata/name', value: 'q' }],
      {
        'content-type': 'application/json-patch+json',
      },
    );
    assert.equal(failedTest.status, 422);
    const unsupported = await call('PATCH', `${pvcPath}/p`, {}, { 'content-type': 'text/plain' });
    assert.equal(unsupported.status, 415);
    assert.equal(unsupported.body.reason, 'UnsupportedMediaType');
    const stale = await call(
      'PATCH',
      `${pvcPath}/p`,
      { metadata: { resourceVersion: '1', labels: { c: '3' } } },
      {
        'content-type': 'application/merge-patch+json',
      },
    );
    assert.equal(stale.status, 409);
    const immutable = await call(
      'PATCH',
      `${pvcPath}/p`,
      { spec: { accessModes: ['ReadWriteMany'] } },
      {
        'content-type': 'application/merge-patch+json',
      },
    );
    assert.equal(immutable.status, 422);
  });

  it("server-side apply creates, merges other managers' configurations, drops what a manager stops applying", async function () {
    const path = '/api/v1/namespaces/default/configmaps/applied?fieldManager=test';
    const headers = { 'content-type': 'application/apply-patch+yaml' };
    const first = await call(
      'PATCH',
      path,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: "1"\n',
      headers,
    );
    assert.equal(first.status, 201);
    const second = await call(
      'PATCH',
      path.replace('fieldManager=test', 'fieldManager=other'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  b: "2"\n',
      headers,
    );
    assert.equal(second.status, 200);
    assert.deepEqual(second.body.data, { a: '1', b: '2' });
    // the first manager no longer applies a: it goes; b belongs to the other manager
    const third = await call(
      'PATCH',
      path,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  c: "3"\n',
      headers,
    );
    assert.deepEqual(third.body.data, { b: '2', c: '3' });
    const noManager = await call('PATCH', '/api/v1/namespaces/default/configmaps/applied', '{}', headers);
    assert.equal(noManager.status, 422);
  });

  it('deletes: Status success, or the Terminating object while finalizers remain', async function () {
    await call('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'gone' },
    });
    const plain = await call('DELETE', '/api/v1/namespaces/default/configmaps/gone');
    assert.equal(plain.status, 200);
    assert.equal(plain.body.kind, 'Status');
    assert.equal(plain.body.status, 'Success');
    assert.equal(plain.body.details.name, 'gone');

    const created = (await call('POST', pvcPath, claim('held'))).body;
    const wrongUid = await call('DELETE', `${pvcPath}/held`, { preconditions: { uid: 'not-the-uid' } });
    assert.equal(wrongUid.status, 409);
    const held = await call('DELETE', `${pvcPath}/held`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      preconditions: { uid: created.metadata.uid },
    });
    assert.equal(held.status, 200);
    assert.equal(held.body.kind, 'PersistentVolumeClaim');
    assert.ok(held.body.metadata.deletionTimestamp);
    const released = await call(
      'PATCH',
      `${pvcPath}/held`,
      { metadata: { finalizers: null } },
      {
        'content-type': 'application/merge-patch+json',
      },
    );
    assert.equal(released.status, 200);
    assert.equal((await call('GET', `${pvcPath}/held`)).status, 404);
  });

  it('does not persist dry runs', async function () {
    const res = await call('POST', `${pvcPath}?dryRun=All`, claim('dry'));
    assert.equal(res.status, 201);
    assert.equal((await call('GET', `${pvcPath}/dry`)).status, 404);
  });

  it('answers with a Table when asked', async function () {
    const res = await call('GET', pvcPath, undefined, {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    assert.equal(res.body.kind, 'Table');
    assert.equal(res.body.columnDefinitions[0].name, 'Name');
    const row = res.body.rows.find((r: { cells: unknown[] }) => r.cells[0] === 'from-yaml');
    assert.deepEqual(row.cells.slice(0, 6), ['from-yaml', 'Pending', '', '', '', 'standard']);
    assert.equal(row.object.kind, 'PartialObjectMetadata');
    const pretty = await fetch(`${server.url}/version?pretty=true`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.match(await pretty.text(), /\n {2}"major": "1"/);
  });

  describe('watch', function () {
    async function readEvents(res: Response, count: number): Promise<JsonBody[]> {
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      const events: JsonBody[] = [];
      while (events.length < count) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, newline)));
          buffer = buffer.slice(newline + 1);
        }
      }
      await reader.cancel();
      return events;
    }

    it('streams changes after a list revision as JSON lines', async function () {
      const list = await call('GET', '/api/v1/namespaces/default/configmaps');
      const rv = list.body.metadata.resourceVersion;
      const res = await fetch(
        `${server.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`,
        {
          headers: { authorization: `Bearer ${token}` },
        },
      );
      assert.equal(res.status, 200);
      const eventsPromise = readEvents(res, 3);
      await call('POST', '/api/v1/namespaces/default/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'w' },
      });
      await call(
        'PATCH',
        '/api/v1/namespaces/default/configmaps/w',
        { data: { k: 'v' } },
        {
          'content-type': 'application/merge-patch+json',
        },
      );
      await call('DELETE', '/api/v1/namespaces/default/configmaps/w');
      const events = await eventsPromise;
      assert.deepEqual(
        events.map((e) => [e.type, e.object.metadata.name]),
        [
          ['ADDED', 'w'],
          ['MODIFIED', 'w'],
          ['DELETED', 'w'],
        ],
      );
    });

    it('ends the stream after timeoutSeconds', async function () {
      const started = Date.now();
      const res = await fetch(`${server.url}/api/v1/persistentvolumes?watch=true&timeoutSeconds=1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(await res.text(), '');
      assert.ok(Date.now() - started >= 900);
    });

    it('reports a compacted resourceVersion as an ERROR event with 410 Expired', async function () {
      for (let i = 0; i < 25; i++) {
        await call(
          'PATCH',
          `${pvcPath}/p`,
          { metadata: { labels: { n: String(i) } } },
          {
            'content-type': 'application/merge-patch+json',
          },
        );
      }
      const res = await fetch(`${server.url}${pvcPath}?watch=true&resourceVersion=2`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 200);
      const [event] = await readEvents(res, 1);
      assert.equal(event.type, 'ERROR');
      assert.equal(event.object.kind, 'Status');
      assert.equal(event.object.code, 410);
      assert.equal(event.object.reason, 'Expired');
    });

    it('sends Table rows when a watch asks for tables', async function () {
      const res = await fetch(`${server.url}/apis/storage.k8s.io/v1/storageclasses?watch=true`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
      });
      const [event] = await readEvents(res, 1);
      assert.equal(event.type, 'ADDED');
      assert.equal(event.object.kind, 'Table');
      assert.equal(event.object.rows[0].cells[0], 'standard (default)');
    });
  });
});
