// A minimal OpenAPI v3 description: one PATCH operation per kind, tagged with its
// group/version/kind and listing the fieldValidation query parameter. That is what kubectl reads
// to decide that the server validates fields itself (so `kubectl create/apply` need no client-side
// schema). The operations carry no request body, so `kubectl apply` computes strategic merge
// patches from its own built-in types. /openapi/v2 is not served (404), which kubectl tolerates.
import { createHash } from 'node:crypto';
import { kinds, type KindInfo } from '../api/kinds.js';
import { serverVersion } from './discovery.js';

function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function objectPath(k: KindInfo): string {
  const base = `/${groupVersionPath(k.group, k.version)}`;
  return k.namespaced ? `${base}/namespaces/{namespace}/${k.plural}/{name}` : `${base}/${k.plural}/{name}`;
}

const queryParameters = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

export function openApiGroupVersion(group: string, version: string): Record<string, unknown> | undefined {
  const members = kinds.filter((k) => k.group === group && k.version === version);
  if (members.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const k of members) {
    paths[objectPath(k)] = {
      patch: {
        operationId: `patch${k.kind}`,
        parameters: queryParameters,
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: k.group, version: k.version, kind: k.kind },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: serverVersion.gitVersion },
    paths,
    components: { schemas: {} },
  };
}

export function openApiRoot(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const k of kinds) {
    const gv = groupVersionPath(k.group, k.version);
    if (seen.has(gv)) continue;
    seen.add(gv);
    const hash = createHash('sha256')
      .update(JSON.stringify(openApiGroupVersion(k.group, k.version)))
      .digest('hex')
      .slice(0, 32)
      .toUpperCase();
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hash}` };
  }
  return { paths };
}
