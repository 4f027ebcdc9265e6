// Decoding of the Kubernetes protobuf request encoding, for the few kinds that kubectl's typed
// commands send that way (`kubectl create namespace|configmap|secret|serviceaccount`). The body is
// "k8s\0" + runtime.Unknown{typeMeta, raw}, and raw is the object in the field numbers of
// upstream's generated.proto. Responses stay JSON, which those clients also accept. Pure.
import { StatusError } from '../api/errors.js';

type Json = Record<string, unknown>;
type Scalar = 'string' | 'bytes' | 'int' | 'bool' | 'time' | 'stringMap' | 'bytesMap';
interface FieldSpec {
  name: string;
  type: Scalar | MessageSchema;
  repeated?: boolean;
}
type MessageSchema = Readonly<Record<number, FieldSpec>>;

const typeMeta: MessageSchema = {
  1: { name: 'apiVersion', type: 'string' },
  2: { name: 'kind', type: 'string' },
};
const unknownEnvelope: MessageSchema = {
  1: { name: 'typeMeta', type: typeMeta },
  2: { name: 'raw', type: 'bytes' },
  3: { name: 'contentEncoding', type: 'string' },
  4: { name: 'contentType', type: 'string' },
};
const ownerReference: MessageSchema = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};
const objectMeta: MessageSchema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: 'time' },
  11: { name: 'labels', type: 'stringMap' },
  12: { name: 'annotations', type: 'stringMap' },
  13: { name: 'ownerReferences', type: ownerReference, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};
const objectReference: MessageSchema = {
  1: { name: 'kind', type: 'string' },
  2: { name: 'namespace', type: 'string' },
  3: { name: 'name', type: 'string' },
};
const localReference: MessageSchema = { 1: { name: 'name', type: 'string' } };

const objectSchemas: Readonly<Record<string, MessageSchema>> = {
  Namespace: {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
    3: { name: 'status', type: { 1: { name: 'phase', type: 'string' } } },
  },
  ConfigMap: {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'data', type: 'stringMap' },
    3: { name: 'binaryData', type: 'bytesMap' },
    4: { name: 'immutable', type: 'bool' },
  },
  Secret: {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'data', type: 'bytesMap' },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: 'stringMap' },
    5: { name: 'immutable', type: 'bool' },
  },
  ServiceAccount: {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'secrets', type: objectReference, repeated: true },
    3: { name: 'imagePullSecrets', type: localReference, repeated: true },
    4: { name: 'automountServiceAccountToken', type: 'bool' },
  },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

function malformed(what: string): StatusError {
  return new StatusError(400, 'BadRequest', `malformed protobuf body: ${what}`);
}

class Reader {
  private pos = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) throw malformed('truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw malformed('varint too long');
  }
  bytes(): Buffer {
    const length = Number(this.varint());
    if (this.pos + length > this.buf.length) throw malformed('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 2) this.bytes();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 5) this.pos += 4;
    else throw malformed(`wire type ${wireType}`);
  }
}

function decodeMessage(buf: Buffer, schema: MessageSchema): Json {
  const out: Json = {};
  const reader = new Reader(buf);
  while (!reader.done) {
    const tag = Number(reader.varint());
    const field = schema[tag >> 3];
    const wireType = tag & 7;
    if (!field) {
      reader.skip(wireType);
      continue;
    }
    const value = decodeField(reader, field, wireType);
    // client-go writes every string field, empty ones too; their JSON form (omitempty) leaves
    // them out, so `generateName: ""` must not be stored
    if (value === '' && field.type === 'string' && !field.repeated) continue;
    if (field.type === 'stringMap' || field.type === 'bytesMap') {
      const [key, entry] = value as [string, unknown];
      out[field.name] = { ...(out[field.name] ?? {}), [key]: entry };
    } else if (field.repeated) {
      out[field.name] = [...((out[field.name] as unknown[] | undefined) ?? []), value];
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

function decodeField(reader: Reader, field: FieldSpec, wireType: number): unknown {
  const { type } = field;
  if (typeof type === 'object') return decodeMessage(reader.bytes(), type);
  switch (type) {
    case 'string':
      return reader.bytes().toString('utf8');
    case 'bytes':
      return Buffer.from(reader.bytes());
    case 'int':
      return Number(BigInt.asIntN(64, reader.varint()));
    case 'bool':
      return reader.varint() !== 0n;
    case 'time': {
      const time = decodeMessage(reader.bytes(), { 1: { name: 's', type: 'int' } });
      return new Date(Number(time['s'] ?? 0) * 1000).toISOString().replace('.000Z', 'Z');
    }
    case 'stringMap':
    case 'bytesMap': {
      if (wireType !== 2) throw malformed(`map field ${field.name}`);
      const entry = decodeMessage(reader.bytes(), {
        1: { name: 'key', type: 'string' },
        2: { name: 'value', type: type === 'stringMap' ? 'string' : 'bytes' },
      });
      const value = entry['value'];
      return [entry['key'] ?? '', Buffer.isBuffer(value) ? value.toString('base64') : (value ?? '')];
    }
  }
}

/** The JSON form of a protobuf-encoded object; 415 for kinds berth cannot decode. */
export function decodeProtobufObject(body: Buffer): Json {
  if (!body.subarray(0, 4).equals(MAGIC)) throw malformed('missing the k8s envelope');
  const envelope = decodeMessage(body.subarray(4), unknownEnvelope);
  const meta = (envelope['typeMeta'] ?? {}) as Json;
  const kind = typeof meta['kind'] === 'string' ? meta['kind'] : '';
  const schema = objectSchemas[kind];
  const raw = envelope['raw'];
  if (!schema || !Buffer.isBuffer(raw)) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `protobuf bodies are accepted for ${Object.keys(objectSchemas).join(', ')} only; send ${kind || 'this object'} as application/json`,
    );
  }
  return { apiVersion: meta['apiVersion'], kind, ...decodeMessage(raw, schema) };
}
