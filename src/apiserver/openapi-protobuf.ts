// The OpenAPI v2 document in the protobuf encoding kubectl asks for
// (application/com.github.proto-openapi.spec.v2@v1.0+protobuf): client-go decodes /openapi/v2
// only that way. The message and field numbers are those of the gnostic openapi.v2 package, for
// the subset berth publishes: schemas (type, format, description, required, properties, items,
// additionalProperties, vendor extensions) and PATCH operations with query parameters. Vendor
// extension values travel as YAML text; JSON is YAML. Pure.

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

type Json = Record<string, unknown>;

function isMap(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

const key = (field: number, wireType: 0 | 2): Buffer => varint(field * 8 + wireType);

function bytesField(field: number, payload: Buffer): Buffer {
  return Buffer.concat([key(field, 2), varint(payload.length), payload]);
}

function stringField(field: number, value: unknown): Buffer {
  return typeof value === 'string' && value !== ''
    ? bytesField(field, Buffer.from(value, 'utf8'))
    : Buffer.alloc(0);
}

function boolField(field: number, value: unknown): Buffer {
  return value === true ? Buffer.concat([key(field, 0), varint(1)]) : Buffer.alloc(0);
}

/** A `repeated Named*` entry: name = 1, value = 2. */
function named(field: number, name: string, value: Buffer): Buffer {
  return bytesField(field, Buffer.concat([stringField(1, name), bytesField(2, value)]));
}

function vendorExtensions(field: number, node: Json): Buffer[] {
  return Object.entries(node)
    .filter(([k]) => k.startsWith('x-'))
    .map(([k, v]) => named(field, k, stringField(2, JSON.stringify(v))));
}

function encodeSchema(schema: Json): Buffer {
  const parts: Buffer[] = [stringField(2, schema['format']), stringField(4, schema['description'])];
  if (Array.isArray(schema['required'])) for (const r of schema['required']) parts.push(stringField(19, r));
  const extra = schema['additionalProperties'];
  if (isMap(extra)) parts.push(bytesField(21, bytesField(1, encodeSchema(extra))));
  else if (typeof extra === 'boolean')
    parts.push(bytesField(21, Buffer.concat([key(2, 0), varint(extra ? 1 : 0)])));
  if (typeof schema['type'] === 'string') parts.push(bytesField(22, stringField(1, schema['type'])));
  if (isMap(schema['items'])) parts.push(bytesField(23, bytesField(1, encodeSchema(schema['items']))));
  if (isMap(schema['properties'])) {
    const entries = Object.entries(schema['properties']).map(([name, s]) =>
      named(1, name, encodeSchema(isMap(s) ? s : {})),
    );
    parts.push(bytesField(25, Buffer.concat(entries)));
  }
  parts.push(...vendorExtensions(31, schema));
  return Buffer.concat(parts);
}

function encodeQueryParameter(p: Json): Buffer {
  const query = Buffer.concat([
    stringField(2, p['in']),
    stringField(4, p['name']),
    stringField(6, p['type']),
    boolField(20, p['uniqueItems']),
  ]);
  // ParametersItem.parameter(1) -> Parameter.non_body_parameter(2) -> query_parameter_sub_schema(3)
  return bytesField(8, bytesField(1, bytesField(2, bytesField(3, query))));
}

function encodeOperation(op: Json): Buffer {
  const parts: Buffer[] = [stringField(5, op['operationId'])];
  if (Array.isArray(op['parameters']))
    for (const p of op['parameters']) if (isMap(p)) parts.push(encodeQueryParameter(p));
  if (isMap(op['responses'])) {
    const codes = Object.entries(op['responses']).map(([code, r]) =>
      named(1, code, bytesField(1, stringField(1, isMap(r) ? r['description'] : ''))),
    );
    parts.push(bytesField(9, Buffer.concat(codes)));
  }
  parts.push(...vendorExtensions(13, op));
  return Buffer.concat(parts);
}

const operationFields: Readonly<Record<string, number>> = { get: 2, put: 3, post: 4, delete: 5, patch: 8 };

function encodePathItem(item: Json): Buffer {
  return Buffer.concat(
    Object.entries(operationFields).map(([verb, field]) =>
      isMap(item[verb]) ? bytesField(field, encodeOperation(item[verb])) : Buffer.alloc(0),
    ),
  );
}

/** Encodes a Swagger 2.0 document (as openApiV2 builds it) as a gnostic openapi.v2.Document. */
export function encodeOpenApiV2(doc: Json): Buffer {
  const info = isMap(doc['info']) ? doc['info'] : {};
  const paths = isMap(doc['paths']) ? doc['paths'] : {};
  const definitions = isMap(doc['definitions']) ? doc['definitions'] : {};
  return Buffer.concat([
    stringField(1, doc['swagger']),
    bytesField(2, Buffer.concat([stringField(1, info['title']), stringField(2, info['version'])])),
    bytesField(
      8,
      Buffer.concat(
        Object.entries(paths).map(([p, item]) => named(2, p, encodePathItem(isMap(item) ? item : {}))),
      ),
    ),
    bytesField(
      9,
      Buffer.concat(
        Object.entries(definitions).map(([n, s]) => named(1, n, encodeSchema(isMap(s) ? s : {}))),
      ),
    ),
  ]);
}
