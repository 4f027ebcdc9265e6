// The real kubectl reading berth's OpenAPI documents: client-side validation of `kind: List`
// files (OpenAPI v2, fetched as protobuf), `kubectl explain` (OpenAPI v3) with the descriptions
// the zod schemas carry, and the documents as raw HTTP answers.
import assert from 'node:assert/strict';
import { skipUnless } from '../helpers/skip.js';
import { kubectlAvailable, startKubectlServer, type KubectlServer } from '../helpers/kubectl-server.js';

describe('kubectl and the OpenAPI documents', function () {
  this.timeout(60_000);
  let k: KubectlServer;

  before(async function () {
    skipUnless(this, kubectlAvailable, 'kubectl is not installed');
    k = await startKubectlServer('berth-openapi-');
  });
  after(async () => k?.close());

  const claim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'listed' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };
  const list = (items: object[]): object => ({ apiVersion: 'v1', kind: 'List', items });

  it('applies a kind: List with default (strict) validation', async () => {
    const path = await k.manifest('list.yaml', [
      list([
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1' }, data: { a: 'b' } },
        claim,
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'pod1' },
          spec: {
            containers: [
              { name: 'c', image: 'busybox', command: ['sleep', '1000'], resources: { limits: { cpu: 1 } } },
            ],
            volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'listed' } }],
          },
        },
        {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: 'sc1' },
          provisioner: 'x.csi.example.com',
        },
      ]),
    ]);
    const out = await k.ok(['apply', '-f', path]);
    assert.match(out, /configmap\/cm1 created/);
    assert.match(out, /persistentvolumeclaim\/listed created/);
    assert.match(out, /pod\/pod1 created/);
    assert.match(out, /storageclass.storage.k8s.io\/sc1 created/);
    const again = await k.ok(['apply', '-f', path]);
    assert.match(again, /persistentvolumeclaim\/listed unchanged/);
  });

  it('applies single objects and creates with the default validation', async () => {
    const path = await k.manifest('one.yaml', [{ ...claim, metadata: { name: 'single' } }]);
    assert.match(await k.ok(['apply', '-f', path]), /persistentvolumeclaim\/single created/);
    assert.match(
      await k.ok(['apply', '-f', path, '--server-side']),
      /persistentvolumeclaim\/single serverside-applied/,
    );
  });

  it('rejects an unknown field inside a List on the client, naming the field', async () => {
    const path = await k.manifest('bad-list.yaml', [
      list([{ ...claim, metadata: { name: 'never' }, spec: { ...claim.spec, bogus: 1 } }]),
    ]);
    const run = await k.kubectl(['apply', '-f', path]);
    assert.notEqual(run.exitCode, 0);
    assert.match(run.stderr, /unknown field "bogus"/);
    assert.equal((await k.kubectl(['get', 'pvc', 'never'])).exitCode, 1);
  });

  it('kubectl explain prints the description written in the zod schema', async () => {
    const out = await k.ok(['explain', 'pvc.spec.volumeName']);
    assert.match(out, /FIELD: volumeName <string>/);
    assert.match(out, /volumeName is the binding reference to the PersistentVolume backing\s+this\s+claim/);
    const sc = await k.ok(['explain', 'storageclass']);
    assert.match(sc, /provisioner\s+<string> -required-/);
    assert.match(await k.ok(['explain', 'pv.spec.claimRef']), /bi-directional binding/);
  });

  it('serves /openapi/v2 as JSON and as protobuf, and /openapi/v3 per group/version', async () => {
    const get = async (
      path: string,
      accept: string,
    ): Promise<{ status: number; type: string; body: Buffer }> => {
      const r = await k.raw('GET', path, { accept });
      return { status: r.status, type: r.contentType, body: r.body };
    };
    const json = await get('/openapi/v2', 'application/json');
    assert.equal(json.status, 200);
    const doc = JSON.parse(json.body.toString()) as { swagger: string; definitions: Record<string, unknown> };
    assert.equal(doc.swagger, '2.0');
    assert.ok(doc.definitions['io.k8s.api.apps.v1.StatefulSet']);
    const pb = await get('/openapi/v2', 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf');
    assert.equal(pb.status, 200);
    assert.equal(pb.type, 'application/octet-stream');
    assert.equal(pb.body.subarray(0, 5).toString('latin1'), '\x0a\x032.0');
    const root = JSON.parse((await get('/openapi/v3', 'application/json')).body.toString()) as {
      paths: Record<string, { serverRelativeURL: string }>;
    };
    const storage = await get(root.paths['apis/storage.k8s.io/v1']!.serverRelativeURL, 'application/json');
    const schemas = (
      JSON.parse(storage.body.toString()) as { components: { schemas: Record<string, unknown> } }
    ).components.schemas;
    assert.deepEqual(Object.keys(schemas).sort(), [
      'io.k8s.api.storage.v1.CSIDriver',
      'io.k8s.api.storage.v1.CSINode',
      'io.k8s.api.storage.v1.CSIStorageCapacity',
      'io.k8s.api.storage.v1.StorageClass',
      'io.k8s.api.storage.v1.VolumeAttachment',
    ]);
  });
});
