import assert from 'node:assert/strict';
import { kinds } from '../../../src/api/kinds.js';
import { persistentVolumeClaim } from '../../../src/api/schemas.js';
import {
  openApiGroupVersion,
  openApiRoot,
  openApiV2,
  openApiV2Protobuf,
} from '../../../src/apiserver/openapi.js';
import { definitionName, kindSchema, type JsonSchema } from '../../../src/apiserver/openapi-schema.js';

function at(schema: JsonSchema, ...path: string[]): JsonSchema {
  let cur = schema;
  for (const p of path) {
    const next =
      p === '[]'
        ? cur['items']
        : p === '{}'
          ? cur['additionalProperties']
          : (cur['properties'] as JsonSchema | undefined)?.[p];
    assert.ok(next, `no ${p} in ${JSON.stringify(cur).slice(0, 200)}`);
    cur = next as JsonSchema;
  }
  return cur;
}

/** Protobuf fields of one message: field number -> raw values (length-delimited as Buffers). */
function fields(buf: Buffer): Map<number, (Buffer | number)[]> {
  const out = new Map<number, (Buffer | number)[]>();
  let pos = 0;
  const varint = (): number => {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos++] ?? 0;
      n += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return n;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    let value: Buffer | number;
    if (key % 8 === 2) {
      const length = varint();
      value = buf.subarray(pos, pos + length);
      pos += length;
    } else value = varint();
    out.set(Math.floor(key / 8), [...(out.get(Math.floor(key / 8)) ?? []), value]);
  }
  return out;
}

function message(m: Map<number, (Buffer | number)[]>, field: number): Buffer[] {
  return (m.get(field) ?? []).filter((v): v is Buffer => Buffer.isBuffer(v));
}

describe('OpenAPI generated from the zod schemas', () => {
  it('describes every served kind in v3 and v2, tagged with its group/version/kind', () => {
    const v2 = openApiV2()['definitions'] as Record<string, JsonSchema>;
    for (const k of kinds) {
      const gvk = [{ group: k.group, kind: k.kind, version: k.version }];
      const gv = openApiGroupVersion(k.group, k.version) as {
        components: { schemas: Record<string, JsonSchema> };
      };
      assert.deepEqual(
        gv.components.schemas[definitionName(k)]?.['x-kubernetes-group-version-kind'],
        gvk,
        k.kind,
      );
      assert.deepEqual(v2[definitionName(k)]?.['x-kubernetes-group-version-kind'], gvk, k.kind);
    }
    assert.equal(
      definitionName(kinds.find((k) => k.kind === 'StorageClass')!),
      'io.k8s.api.storage.v1.StorageClass',
    );
  });

  it('takes descriptions from the zod schema', () => {
    const claimKind = kinds.find((k) => k.kind === 'PersistentVolumeClaim')!;
    const zodDescription = persistentVolumeClaim.shape.spec.shape.volumeName.description;
    assert.ok(zodDescription);
    assert.equal(at(kindSchema(claimKind, 'v3'), 'spec', 'volumeName')['description'], zodDescription);
    assert.equal(at(kindSchema(claimKind, 'v2'), 'spec', 'volumeName')['description'], zodDescription);
  });

  const byKind = (kind: string, dialect: 'v2' | 'v3'): JsonSchema =>
    kindSchema(
      kinds.find((k) => k.kind === kind)!,
      dialect,
    );
  const cases: { name: string; schema: () => JsonSchema; path: string[]; expect: JsonSchema }[] = [
    {
      name: 'a quantity is an int-or-string',
      schema: () => byKind('PersistentVolumeClaim', 'v3'),
      path: ['spec', 'resources', 'requests'],
      expect: {
        type: 'object',
        additionalProperties: {
          'x-kubernetes-int-or-string': true,
          anyOf: [{ type: 'integer' }, { type: 'string' }],
        },
      },
    },
    {
      name: 'a string map',
      schema: () => byKind('StorageClass', 'v2'),
      path: ['parameters', '{}'],
      expect: { type: 'string' },
    },
    {
      name: 'a nullable timestamp is a string',
      schema: () => byKind('Lease', 'v3'),
      path: ['metadata', 'creationTimestamp'],
      expect: { type: 'string' },
    },
    {
      name: 'an integer',
      schema: () => byKind('Lease', 'v3'),
      path: ['spec', 'leaseDurationSeconds'],
      expect: { type: 'integer', format: 'int64' },
    },
    {
      name: 'a free-form status',
      schema: () => byKind('PersistentVolume', 'v3'),
      path: ['status'],
      expect: {
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
        description: at(byKind('PersistentVolume', 'v2'), 'status')['description'],
      },
    },
    {
      name: 'a loose struct in v2 is a free-form map (its validator rejects unlisted fields)',
      schema: () => byKind('Pod', 'v2'),
      path: ['spec'],
      expect: { type: 'object', additionalProperties: {} },
    },
    {
      name: 'finalizers are a merged set',
      schema: () => byKind('Secret', 'v3'),
      path: ['metadata', 'finalizers'],
      expect: {
        type: 'array',
        items: { type: 'string' },
        'x-kubernetes-list-type': 'set',
        'x-kubernetes-patch-strategy': 'merge',
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(at(c.schema(), ...c.path), c.expect));
  }

  it('marks keyed lists with their merge key and keeps loose structs open in v3', () => {
    const containers = at(byKind('Pod', 'v3'), 'spec', 'containers');
    assert.equal(containers['x-kubernetes-list-type'], 'map');
    assert.deepEqual(containers['x-kubernetes-list-map-keys'], ['name']);
    assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(at(byKind('Pod', 'v3'), 'spec')['x-kubernetes-preserve-unknown-fields'], true);
    assert.deepEqual(at(byKind('Pod', 'v3'), 'spec', 'containers', '[]')['required'], ['name']);
    const drivers = at(byKind('CSINode', 'v3'), 'spec', 'drivers');
    assert.deepEqual(drivers['x-kubernetes-list-map-keys'], ['name']);
  });

  it('lists each group/version document with a content hash and the fieldValidation parameter', () => {
    const paths = openApiRoot()['paths'] as Record<string, { serverRelativeURL: string }>;
    assert.deepEqual(Object.keys(paths).sort(), [
      'api/v1',
      'apis/apps/v1',
      'apis/batch/v1',
      'apis/coordination.k8s.io/v1',
      'apis/rbac.authorization.k8s.io/v1',
      'apis/snapshot.storage.k8s.io/v1',
      'apis/storage.k8s.io/v1',
    ]);
    assert.match(paths['api/v1']!.serverRelativeURL, /^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{32}$/);
    const doc = openApiGroupVersion('', 'v1') as {
      paths: Record<string, { patch: { parameters: { name: string }[] } }>;
    };
    const patch = doc.paths['/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}']?.patch;
    assert.ok(patch?.parameters.some((p) => p.name === 'fieldValidation'));
    assert.equal(openApiGroupVersion('nope.example.com', 'v1'), undefined);
  });

  it('encodes v2 as a gnostic protobuf Document', () => {
    const doc = fields(openApiV2Protobuf());
    assert.equal(message(doc, 1)[0]?.toString(), '2.0');
    const definitions = message(fields(message(doc, 9)[0]!), 1).map((named) => fields(named));
    assert.equal(definitions.length, kinds.length);
    const claim = definitions.find(
      (d) => message(d, 1)[0]?.toString() === 'io.k8s.api.core.v1.PersistentVolumeClaim',
    );
    assert.ok(claim);
    const schema = fields(message(claim, 2)[0]!);
    assert.equal(message(fields(message(schema, 22)[0]!), 1)[0]?.toString(), 'object'); // type
    const extensions = message(schema, 31).map((e) => fields(e));
    const gvk = extensions.find((e) => message(e, 1)[0]?.toString() === 'x-kubernetes-group-version-kind');
    assert.ok(gvk);
    const yaml = message(fields(message(gvk, 2)[0]!), 2)[0]?.toString() ?? '';
    assert.deepEqual(JSON.parse(yaml), [{ group: '', kind: 'PersistentVolumeClaim', version: 'v1' }]);
    const properties = message(fields(message(schema, 25)[0]!), 1).map((p) =>
      message(fields(p), 1)[0]?.toString(),
    );
    assert.deepEqual(properties, ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  });
});
