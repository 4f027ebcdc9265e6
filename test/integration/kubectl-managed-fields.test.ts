// Server-side apply field ownership as the real kubectl sees it: metadata.managedFields after
// create, client-side apply, patch, label and server-side apply; conflicts (409) naming manager
// and field; --force-conflicts; fields dropped from an applied configuration are removed unless
// another manager owns them.
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { skipUnless } from '../helpers/skip.js';
import { kubectlAvailable, startKubectlServer, type KubectlServer } from '../helpers/kubectl-server.js';

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
}
interface Obj {
  metadata: { labels?: Record<string, string>; managedFields?: Entry[] };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

describe('kubectl and managedFields (server-side apply)', function () {
  this.timeout(60_000);
  let k: KubectlServer;

  before(async function () {
    skipUnless(this, kubectlAvailable, 'kubectl is not installed');
    k = await startKubectlServer('berth-ssa-');
  });
  after(async () => k?.close());

  async function getYaml(resource: string, name: string, showManaged = true): Promise<Obj> {
    const args = ['get', resource, name, '-o', 'yaml'];
    if (showManaged) args.push('--show-managed-fields');
    return parse(await k.ok(args)) as Obj;
  }
  const managers = (o: Obj): string[] =>
    (o.metadata.managedFields ?? []).map((e) => `${e.manager}/${e.operation}`);
  const configMap = (labels: Record<string, string>, data: Record<string, string>): object => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm', labels },
    data,
  });

  it('kubectl create records an Update entry in FieldsV1 that -o yaml hides by default', async () => {
    const path = await k.manifest('claim.yaml', [
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'c1', labels: { app: 'one' } },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ]);
    await k.ok(['create', '-f', path]);
    const claim = await getYaml('pvc', 'c1');
    const [entry] = claim.metadata.managedFields ?? [];
    assert.ok(entry);
    assert.equal(entry.manager, 'kubectl-create');
    assert.equal(entry.operation, 'Update');
    assert.equal(entry.apiVersion, 'v1');
    assert.equal(entry.fieldsType, 'FieldsV1');
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(entry.fieldsV1['f:spec'], {
      'f:accessModes': {},
      'f:resources': { 'f:requests': { '.': {}, 'f:storage': {} } },
      'f:volumeMode': {},
    });
    assert.deepEqual((entry.fieldsV1['f:metadata'] as Record<string, unknown>)['f:labels'], {
      '.': {},
      'f:app': {},
    });
    assert.equal((await getYaml('pvc', 'c1', false)).metadata.managedFields, undefined);
  });

  it('a status patch records an entry for the status subresource and keeps the others', async () => {
    const patch = JSON.stringify({ status: { conditions: [{ type: 'Resizing', status: 'True' }] } });
    await k.ok(['patch', 'pvc', 'c1', '--subresource=status', '--type=merge', '-p', patch]);
    const claim = await getYaml('pvc', 'c1');
    const entries = (claim.metadata.managedFields ?? []) as Array<Entry & { subresource?: string }>;
    assert.deepEqual(
      entries.map((e) => `${e.manager}/${e.operation}/${e.subresource ?? ''}`),
      ['kubectl-create/Update/', 'kubectl-patch/Update/status'],
    );
    assert.deepEqual(entries[1]?.fieldsV1, {
      'f:status': {
        'f:conditions': { '.': {}, 'k:{"type":"Resizing"}': { '.': {}, 'f:status': {}, 'f:type': {} } },
      },
    });
  });

  it('server-side apply records an Apply entry for the manager', async () => {
    const path = await k.manifest('cm.yaml', [configMap({ a: '1', b: '2' }, { x: '1', z: '2' })]);
    assert.match(await k.ok(['apply', '--server-side', '-f', path]), /configmap\/cm serverside-applied/);
    const cm = await getYaml('cm', 'cm');
    assert.deepEqual(managers(cm), ['kubectl/Apply']);
    assert.deepEqual(cm.metadata.managedFields?.[0]?.fieldsV1, {
      'f:data': { 'f:x': {}, 'f:z': {} },
      'f:metadata': { 'f:labels': { 'f:a': {}, 'f:b': {} } },
    });
  });

  it('changing a field another manager owns is a conflict naming manager and field; nothing changes', async () => {
    await k.ok(['patch', 'cm', 'cm', '-p', '{"data":{"x":"patched"}}']);
    const before = await getYaml('cm', 'cm');
    assert.deepEqual(managers(before), ['kubectl/Apply', 'kubectl-patch/Update']);
    const path = await k.manifest('cm.yaml', [configMap({ a: '1', b: '2' }, { x: '1', z: '2' })]);
    const run = await k.kubectl(['apply', '--server-side', '-f', path]);
    assert.equal(run.exitCode, 1);
    assert.match(
      run.stderr,
      /Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: \.data\.x/,
    );
    assert.match(run.stderr, /--force-conflicts/);
    assert.deepEqual(await getYaml('cm', 'cm'), before);
  });

  it('answers the conflict as a 409 Status with FieldManagerConflict causes', async () => {
    const r = await k.raw(
      'PATCH',
      '/api/v1/namespaces/default/configmaps/cm?fieldManager=kubectl',
      { 'content-type': 'application/apply-patch+yaml' },
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {x: "other"}\n',
    );
    const status = JSON.parse(r.body.toString()) as Record<string, unknown>;
    assert.equal(r.status, 409);
    assert.equal(status['reason'], 'Conflict');
    assert.deepEqual((status['details'] as { causes: unknown[] }).causes, [
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-patch" using v1', field: '.data.x' },
    ]);
  });

  it('--force-conflicts takes the field over', async () => {
    const path = await k.manifest('cm.yaml', [configMap({ a: '1', b: '2' }, { x: '1', z: '2' })]);
    await k.ok(['apply', '--server-side', '--force-conflicts', '-f', path]);
    const cm = await getYaml('cm', 'cm');
    assert.equal(cm.data?.['x'], '1');
    assert.deepEqual(managers(cm), ['kubectl/Apply']);
  });

  it('fields dropped from the applied configuration are removed unless another manager owns them', async () => {
    await k.ok(['label', 'cm', 'cm', 'c=3']);
    await k.ok(['annotate', 'cm', 'cm', 'note=kept']);
    // another applier co-owns label a and data x
    const shared = await k.manifest('shared.yaml', [configMap({ a: '1' }, { x: '1' })]);
    await k.ok(['apply', '--server-side', '--field-manager', 'other', '-f', shared]);
    const path = await k.manifest('cm.yaml', [configMap({}, {})]);
    await k.ok(['apply', '--server-side', '-f', path]);
    const cm = await getYaml('cm', 'cm');
    assert.deepEqual(cm.metadata.labels, { a: '1', c: '3' });
    assert.deepEqual(cm.data, { x: '1' });
    assert.deepEqual(managers(cm).sort(), [
      'kubectl-annotate/Update',
      'kubectl-label/Update',
      'kubectl/Apply',
      'other/Apply',
    ]);
  });

  it('a later server-side apply takes over what client-side apply owned (kubectl migrates it)', async () => {
    const claim = (storage: string): object => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'csa' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
    });
    await k.ok(['apply', '-f', await k.manifest('csa.yaml', [claim('1Gi')])]);
    assert.deepEqual(managers(await getYaml('pvc', 'csa')), ['kubectl-client-side-apply/Update']);
    const ssa = await k.manifest('ssa.yaml', [claim('1Gi')]);
    await k.ok(['apply', '--server-side', '--field-manager', 'ssa', '-f', ssa]);
    assert.deepEqual(managers(await getYaml('pvc', 'csa')), ['ssa/Apply']);
  });

  it('a field kubectl create set conflicts with a server-side apply of another value', async () => {
    const claim = (storage: string): object => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'created' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
    });
    await k.ok(['create', '-f', await k.manifest('created.yaml', [claim('1Gi')])]);
    const run = await k.kubectl([
      'apply',
      '--server-side',
      '-f',
      await k.manifest('bigger.yaml', [claim('2Gi')]),
    ]);
    assert.equal(run.exitCode, 1);
    assert.match(
      run.stderr,
      /Apply failed with 1 conflict: conflict with "kubectl-create" using v1: \.spec\.resources\.requests\.storage/,
    );
  });

  it('hostile ownership input: a 400, a 422 or a reset, and never a crash', async () => {
    const path = '/api/v1/namespaces/default/configmaps/cm';
    const json = { 'content-type': 'application/json' };
    const apply = { 'content-type': 'application/apply-patch+yaml' };
    const current = JSON.parse((await k.raw('GET', path)).body.toString()) as Obj & Record<string, unknown>;
    // managedFields inside an applied configuration
    const withFields = await k.raw(
      'PATCH',
      `${path}?fieldManager=x`,
      apply,
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, managedFields: []}\n',
    );
    assert.equal(withFields.status, 400);
    assert.match(withFields.body.toString(), /metadata.managedFields must be nil/);
    // an overlong manager, force on a merge patch
    const long = await k.raw(
      'PATCH',
      `${path}?fieldManager=${'m'.repeat(200)}`,
      { 'content-type': 'application/merge-patch+json' },
      '{}',
    );
    assert.equal(long.status, 422);
    assert.match(long.body.toString(), /fieldManager: Too long/);
    const forced = await k.raw(
      'PATCH',
      `${path}?force=true`,
      { 'content-type': 'application/merge-patch+json' },
      '{}',
    );
    assert.equal(forced.status, 422);
    // malformed and deeply nested fieldsV1 written by a client reset ownership to the writer's
    let deep: unknown = {};
    for (let i = 0; i < 500; i++) deep = { 'f:a': deep };
    for (const managedFields of [
      [{ manager: 'x', operation: 'Bogus', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }],
      [{ manager: 'x', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: deep }],
    ]) {
      const body = {
        ...current,
        metadata: { ...current.metadata, managedFields },
        data: { x: String(Math.random()) },
      };
      delete (body.metadata as Record<string, unknown>)['resourceVersion'];
      const r = await k.raw('PUT', `${path}?fieldManager=resetter`, json, JSON.stringify(body));
      assert.equal(r.status, 200, r.body.toString());
      const written = JSON.parse(r.body.toString()) as Obj;
      assert.deepEqual(managers(written), ['resetter/Update']);
    }
    // a JSON patch that empties managedFields clears them
    const cleared = await k.raw(
      'PATCH',
      path,
      { 'content-type': 'application/json-patch+json' },
      JSON.stringify([{ op: 'replace', path: '/metadata/managedFields', value: [] }]),
    );
    assert.equal(cleared.status, 200);
    assert.equal((JSON.parse(cleared.body.toString()) as Obj).metadata.managedFields, undefined);
  });
});
