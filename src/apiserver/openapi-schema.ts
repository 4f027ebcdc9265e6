// OpenAPI schemas of the served kinds, generated from the zod schemas that decoding and
// validation use (src/api/schemas.ts is the one source of truth; descriptions come from its
// .describe() calls). z.toJSONSchema gives JSON Schema; this module translates it into the
// dialect Kubernetes publishes: int-or-string instead of anyOf, preserve-unknown-fields for loose
// structs, list-type/patch extensions for keyed lists, and x-kubernetes-group-version-kind on
// each kind. OpenAPI v2 (read by kubectl's client-side validation) gets loose structs as free-form
// maps, because its validator reports every field a struct does not list as unknown. Pure.
import { z } from 'zod';
import { kinds, type KindInfo } from '../api/kinds.js';
import { companion, schemaByKind } from '../api/schemas.js';
import { mergedScalarLists, mergeKeyFor } from './strategic-merge.js';

export type JsonSchema = Record<string, unknown>;
export type OpenApiDialect = 'v2' | 'v3';

const javaPackageByGroup: Readonly<Record<string, string>> = {
  '': 'io.k8s.api.core',
  apps: 'io.k8s.api.apps',
  'storage.k8s.io': 'io.k8s.api.storage',
  'coordination.k8s.io': 'io.k8s.api.coordination',
};

/** The definition name upstream uses for a kind, e.g. io.k8s.api.core.v1.PersistentVolumeClaim. */
export function definitionName(k: KindInfo): string {
  const pkg = javaPackageByGroup[k.group] ?? k.group.split('.').reverse().join('.');
  return `${pkg}.${k.version}.${k.kind}`;
}

function isMap(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function zodSchemaOf(k: KindInfo): z.ZodType {
  return schemaByKind[k.kind] ?? companion;
}

/** A JSON Schema member of anyOf that only admits null. */
function isNullOnly(s: unknown): boolean {
  return (
    isMap(s) && (s['type'] === 'null' || (Array.isArray(s['enum']) && s['enum'].every((v) => v === null)))
  );
}

function translateUnion(members: unknown[], field: string | undefined, dialect: OpenApiDialect): JsonSchema {
  const nonNull = members.filter((m) => !isNullOnly(m));
  if (nonNull.length === 1) return translate(nonNull[0], field, dialect);
  const types = new Set(nonNull.map((m) => (isMap(m) ? m['type'] : undefined)));
  if (types.has('string') && (types.has('number') || types.has('integer'))) {
    // a quantity or an int-or-string: v2's validator takes a type-less schema as "anything"
    return dialect === 'v3'
      ? { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] }
      : { 'x-kubernetes-int-or-string': true };
  }
  return {};
}

function listExtensions(field: string | undefined, items: JsonSchema): JsonSchema {
  if (field === undefined) return {};
  const key = mergeKeyFor(field, [items['properties'] ?? {}]);
  if (key !== undefined) {
    return {
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': [key],
      'x-kubernetes-patch-merge-key': key,
      'x-kubernetes-patch-strategy': 'merge',
    };
  }
  if (mergedScalarLists.has(field)) {
    return { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' };
  }
  return {};
}

/** One JSON Schema node (from zod) in Kubernetes' OpenAPI dialect. `field` names the node. */
function translate(node: unknown, field: string | undefined, dialect: OpenApiDialect): JsonSchema {
  if (!isMap(node)) return {};
  const out: JsonSchema = {};
  const description = node['description'];
  const withDescription = (s: JsonSchema): JsonSchema =>
    typeof description === 'string' ? { description, ...s } : s;
  if (Array.isArray(node['anyOf'])) return withDescription(translateUnion(node['anyOf'], field, dialect));
  const type = node['type'];
  switch (type) {
    case 'string':
    case 'boolean':
      out['type'] = type;
      break;
    case 'integer':
      out['type'] = 'integer';
      out['format'] = 'int64';
      break;
    case 'number':
      out['type'] = 'number';
      break;
    case 'array': {
      const items = translate(node['items'], undefined, dialect);
      Object.assign(out, { type: 'array', items }, listExtensions(field, items));
      break;
    }
    case 'object':
      Object.assign(out, translateObject(node, dialect));
      break;
    default:
      break; // anything
  }
  return withDescription(out);
}

function translateObject(node: JsonSchema, dialect: OpenApiDialect): JsonSchema {
  const properties = isMap(node['properties']) ? node['properties'] : {};
  const names = Object.keys(properties);
  const extra = node['additionalProperties'];
  const loose = extra === undefined || isMap(extra);
  if (names.length === 0) {
    // a map (record) or a free-form object
    const values = isMap(extra) ? translate(extra, undefined, dialect) : {};
    if (Object.keys(values).length === 0) {
      return dialect === 'v3'
        ? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
        : { type: 'object', additionalProperties: {} };
    }
    return { type: 'object', additionalProperties: values };
  }
  if (loose && dialect === 'v2') return { type: 'object', additionalProperties: {} };
  const out: JsonSchema = { type: 'object' };
  out['properties'] = Object.fromEntries(names.map((n) => [n, translate(properties[n], n, dialect)]));
  const required = Array.isArray(node['required'])
    ? node['required'].filter((r) => r !== 'apiVersion' && r !== 'kind' && r !== 'metadata')
    : [];
  if (required.length > 0) out['required'] = required;
  if (loose) out['x-kubernetes-preserve-unknown-fields'] = true;
  return out;
}

/** The schema of one served kind, tagged with its group/version/kind. */
export function kindSchema(k: KindInfo, dialect: OpenApiDialect): JsonSchema {
  const raw = z.toJSONSchema(zodSchemaOf(k), {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  const schema = translate(raw, undefined, dialect);
  const metaProperties = isMap(schema['properties']) ? schema['properties'] : undefined;
  if (metaProperties) {
    // every kind documents its envelope, also those v2 shows as free-form maps
    metaProperties['apiVersion'] = {
      ...(metaProperties['apiVersion'] as JsonSchema),
      ...envelopeDocs.apiVersion,
    };
    metaProperties['kind'] = { ...(metaProperties['kind'] as JsonSchema), ...envelopeDocs.kind };
  }
  return {
    ...schema,
    'x-kubernetes-group-version-kind': [{ group: k.group, kind: k.kind, version: k.version }],
  };
}

const envelopeDocs = {
  apiVersion: {
    description:
      'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.',
  },
  kind: {
    description:
      'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase.',
  },
} as const;

/** Schemas of every served kind in one group/version, by definition name. */
export function groupVersionSchemas(group: string, version: string, dialect: OpenApiDialect): JsonSchema {
  const members = kinds.filter((k) => k.group === group && k.version === version);
  return Object.fromEntries(members.map((k) => [definitionName(k), kindSchema(k, dialect)]));
}
