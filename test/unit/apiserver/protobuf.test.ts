import assert from 'node:assert/strict';
import { decodeProtobufObject } from '../../../src/apiserver/protobuf.js';
import { StatusError } from '../../../src/api/errors.js';

// A minimal protobuf writer for building request bodies the way client-go encodes them.
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.from(out);
}
function bytesField(field: number, value: Buffer | string): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([varint((field << 3) | 2), varint(data.length), data]);
}
function boolField(field: number, value: boolean): Buffer {
  return Buffer.concat([varint(field << 3), varint(value ? 1 : 0)]);
}
function mapEntry(field: number, key: string, value: Buffer | string): Buffer {
  return bytesField(field, Buffer.concat([bytesField(1, key), bytesField(2, value)]));
}
function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  const typeMeta = Buffer.concat([bytesField(1, apiVersion), bytesField(2, kind)]);
  const unknown = Buffer.concat([
    bytesField(1, typeMeta),
    bytesField(2, raw),
    bytesField(3, ''),
    bytesField(4, ''),
  ]);
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), unknown]);
}

describe('protobuf request bodies', () => {
  it('decodes a Namespace with labels', () => {
    const meta = Buffer.concat([
      bytesField(1, 'team'),
      mapEntry(11, 'env', 'dev'),
      mapEntry(11, 'tier', 'x'),
    ]);
    const raw = Buffer.concat([
      bytesField(1, meta),
      bytesField(2, Buffer.alloc(0)),
      bytesField(3, Buffer.alloc(0)),
    ]);
    assert.deepEqual(decodeProtobufObject(envelope('v1', 'Namespace', raw)), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team', labels: { env: 'dev', tier: 'x' } },
      spec: {},
      status: {},
    });
  });

  it('leaves out empty strings, as their omitempty JSON form does (kubectl create namespace sends them)', () => {
    const meta = Buffer.concat([bytesField(1, 'team'), bytesField(2, ''), bytesField(3, '')]);
    const raw = Buffer.concat([bytesField(1, meta), bytesField(3, bytesField(1, ''))]);
    assert.deepEqual(decodeProtobufObject(envelope('v1', 'Namespace', raw)), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team' },
      status: {},
    });
  });

  it('decodes a Secret: byte maps become base64 as in JSON', () => {
    const raw = Buffer.concat([
      bytesField(1, Buffer.concat([bytesField(1, 's'), bytesField(3, 'ns')])),
      mapEntry(2, 'pw', Buffer.from('hunter2')),
      bytesField(3, 'Opaque'),
      boolField(5, true),
    ]);
    assert.deepEqual(decodeProtobufObject(envelope('v1', 'Secret', raw)), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'ns' },
      data: { pw: Buffer.from('hunter2').toString('base64') },
      type: 'Opaque',
      immutable: true,
    });
  });

  it('refuses kinds it has no field table for with 415, and garbage with 400', () => {
    assert.throws(
      () => decodeProtobufObject(envelope('apps/v1', 'Deployment', Buffer.alloc(0))),
      (err: unknown) => err instanceof StatusError && err.code === 415,
    );
    assert.throws(
      () => decodeProtobufObject(Buffer.from('{"kind":"Namespace"}')),
      (err: unknown) => err instanceof StatusError && err.code === 400,
    );
  });
});
