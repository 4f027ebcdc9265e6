// Request paths of the Kubernetes REST API, parsed into what a handler needs. Pure: no IO.
import { kindByGroupPlural, type KindInfo } from '../api/kinds.js';

export type Route =
  | { type: 'health'; check: 'healthz' | 'readyz' | 'livez' }
  | { type: 'version' }
  | { type: 'coreVersions' } // /api
  | { type: 'groupList' } // /apis
  | { type: 'group'; group: string } // /apis/<group>
  | { type: 'resourceList'; group: string; version: string } // /api/v1, /apis/<g>/<v>
  | { type: 'openapiRoot'; version: 'v2' | 'v3' }
  | { type: 'openapiGroupVersion'; group: string; version: string }
  | { type: 'resource'; target: ResourceTarget }
  | { type: 'notFound' };

export interface ResourceTarget {
  kind: KindInfo;
  /** Absent for cluster-scoped kinds, and for namespaced kinds listed across all namespaces. */
  namespace?: string;
  /** Absent for collection requests (list, create, watch). */
  name?: string;
  subresource?: 'status';
}

function decodeSegments(path: string): string[] | undefined {
  try {
    return path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

export function parseRoute(pathname: string): Route {
  const segments = decodeSegments(pathname);
  if (!segments) return { type: 'notFound' };
  const [first, ...rest] = segments;
  switch (first) {
    case 'healthz':
    case 'readyz':
    case 'livez':
      return { type: 'health', check: first };
    case 'version':
      return rest.length === 0 ? { type: 'version' } : { type: 'notFound' };
    case 'openapi':
      return parseOpenApi(rest);
    case 'api':
      if (rest.length === 0) return { type: 'coreVersions' };
      return parseGroupVersionPath('', rest);
    case 'apis': {
      if (rest.length === 0) return { type: 'groupList' };
      const [group = '', ...afterGroup] = rest;
      if (afterGroup.length === 0) return { type: 'group', group };
      return parseGroupVersionPath(group, afterGroup);
    }
    case undefined:
    default:
      return { type: 'notFound' };
  }
}

function parseOpenApi(rest: string[]): Route {
  const [version, ...gvPath] = rest;
  if (version === 'v2' && gvPath.length === 0) return { type: 'openapiRoot', version: 'v2' };
  if (version !== 'v3') return { type: 'notFound' };
  if (gvPath.length === 0) return { type: 'openapiRoot', version: 'v3' };
  // /openapi/v3/api/v1 or /openapi/v3/apis/<group>/<version>
  if (gvPath[0] === 'api' && gvPath.length === 2) {
    return { type: 'openapiGroupVersion', group: '', version: gvPath[1] ?? '' };
  }
  if (gvPath[0] === 'apis' && gvPath.length === 3) {
    return { type: 'openapiGroupVersion', group: gvPath[1] ?? '', version: gvPath[2] ?? '' };
  }
  return { type: 'notFound' };
}

/** `rest` starts with the version: v1[/namespaces/<ns>]/<plural>[/<name>[/status]]. */
function parseGroupVersionPath(group: string, rest: string[]): Route {
  const [version = '', ...parts] = rest;
  if (parts.length === 0) return { type: 'resourceList', group, version };
  const withKind = (plural: string): KindInfo | undefined => {
    const info = kindByGroupPlural(group, plural);
    return info && info.version === version ? info : undefined;
  };
  // A namespaced path unless it names the namespace object itself (/namespaces/<name>[/status]).
  if (parts[0] === 'namespaces' && parts.length >= 3 && parts[2] !== 'status') {
    const [, namespace = '', plural = '', name, sub, ...extra] = parts;
    const info = withKind(plural);
    if (!info || !info.namespaced || extra.length > 0) return { type: 'notFound' };
    return targetRoute(info, name, sub, namespace);
  }
  const [plural = '', name, sub, ...extra] = parts;
  const info = withKind(plural);
  if (!info || extra.length > 0) return { type: 'notFound' };
  // A namespaced kind without a namespace is only a collection across all namespaces.
  if (info.namespaced && name !== undefined) return { type: 'notFound' };
  return targetRoute(info, name, sub, undefined);
}

function targetRoute(
  kind: KindInfo,
  name: string | undefined,
  sub: string | undefined,
  namespace: string | undefined,
): Route {
  if (sub !== undefined && (sub !== 'status' || !kind.hasStatus)) return { type: 'notFound' };
  const target: ResourceTarget = { kind };
  if (namespace !== undefined) target.namespace = namespace;
  if (name !== undefined) target.name = name;
  if (sub === 'status') target.subresource = 'status';
  return { type: 'resource', target };
}
