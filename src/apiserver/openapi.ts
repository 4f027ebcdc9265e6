// The OpenAPI documents kubectl reads. /openapi/v3 lists one document per group/version; each
// holds the served kinds' schemas (for `kubectl explain`) and one PATCH operation per kind that
// lists the fieldValidation query parameter, which tells kubectl the server validates fields
// itself. The PATCH operations declare no request body, so `kubectl apply` computes strategic
// merge patches from its own built-in types. /openapi/v2 carries the same schemas for kubectl's
// client-side validation (used for `kind: List` files); clients fetch it as protobuf.
import { createHash } from 'node:crypto';
import { kinds, type KindInfo } from '../api/kinds.js';
import { serverVersion } from './discovery.js';
import { encodeOpenApiV2 } from './openapi-protobuf.js';
import { groupVersionSchemas } from './openapi-schema.js';

function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function objectPath(k: KindInfo): string {
  const base = `/${groupVersionPath(k.group, k.version)}`;
  return k.namespaced ? `${base}/namespaces/{namespace}/${k.plural}/{name}` : `${base}/${k.plural}/{name}`;
}

const queryParameterNames = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

function patchOperation(k: KindInfo, parameters: unknown[]): Record<string, unknown> {
  return {
    operationId: `patch${k.kind}`,
    parameters,
    responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': 'patch',
    'x-kubernetes-group-version-kind': { group: k.group, version: k.version, kind: k.kind },
  };
}

/** The documents never change while the process runs: each is built once. */
const built = new Map<string, unknown>();
function once<T>(key: string, build: () => T): T {
  if (!built.has(key)) built.set(key, build());
  return built.get(key) as T;
}

export function openApiGroupVersion(group: string, version: string): Record<string, unknown> | undefined {
  return once(`v3:${group}/${version}`, () => buildGroupVersion(group, version));
}

function buildGroupVersion(group: string, version: string): Record<string, unknown> | undefined {
  const members = kinds.filter((k) => k.group === group && k.version === version);
  if (members.length === 0) return undefined;
  const parameters = queryParameterNames.map((name) => ({
    name,
    in: 'query',
    schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
  }));
  const paths = Object.fromEntries(
    members.map((k) => [objectPath(k), { patch: patchOperation(k, parameters) }]),
  );
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: serverVersion.gitVersion },
    paths,
    components: { schemas: groupVersionSchemas(group, version, 'v3') },
  };
}

function servedGroupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const k of kinds)
    seen.set(groupVersionPath(k.group, k.version), { group: k.group, version: k.version });
  return [...seen.values()];
}

/** The v3 discovery document: where each group/version's document is, with a content hash. */
export function openApiRoot(): Record<string, unknown> {
  return once('v3', buildRoot);
}

function buildRoot(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const { group, version } of servedGroupVersions()) {
    const gv = groupVersionPath(group, version);
    const hash = createHash('sha256')
      .update(JSON.stringify(openApiGroupVersion(group, version)))
      .digest('hex')
      .slice(0, 32)
      .toUpperCase();
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hash}` };
  }
  return { paths };
}

/** The single OpenAPI v2 (Swagger 2.0) document of every served kind. */
export function openApiV2(): Record<string, unknown> {
  return once('v2', buildV2);
}

/** openApiV2 in the protobuf encoding clients ask for. */
export function openApiV2Protobuf(): Buffer {
  return once('v2.pb', () => encodeOpenApiV2(openApiV2()));
}

function buildV2(): Record<string, unknown> {
  const parameters = queryParameterNames.map((name) => ({
    name,
    in: 'query',
    type: name === 'force' ? 'boolean' : 'string',
    uniqueItems: true,
  }));
  const paths = Object.fromEntries(
    kinds.map((k) => [objectPath(k), { patch: patchOperation(k, parameters) }]),
  );
  const definitions = Object.assign(
    {},
    ...servedGroupVersions().map(({ group, version }) => groupVersionSchemas(group, version, 'v2')),
  ) as Record<string, unknown>;
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: serverVersion.gitVersion },
    paths,
    definitions,
  };
}
