// Request paths of the Kubernetes REST API, parsed into what a handler needs. Pure: no IO.
import { kindByGroupPlural, type KindInfo } from '../api/kinds.js';

export type Route =
  | { type: 'health'; check: 'healthz' | 'readyz' | 'livez' }
  | { type: 'version' }
  | { type: 'metrics' }
  | { type: 'coreVersions' } // /api
  | { type: 'groupList' } // /apis
  | { type: 'group'; group: string } // /apis/<group>
  | { type: 'resourceList'; group: string; version: string } // /api/v1, /apis/<g>/<v>
  | { type: 'openapiRoot'; version: 'v2' | 'v3' }
  | { type: 'openapiGroupVersion'; group: string; version: string }
  | { type: 'resource'; target: ResourceTarget }
  | { type: 'invalidPath'; message: string }
  | { type: 'notFound' };

export interface ResourceTarget {
  kind: KindInfo;
  /** Absent for cluster-scoped kinds, and for namespaced kinds listed across all namespaces. */
  namespace?: string;
  /** Absent for collection requests (list, create, watch). */
  name?: string;
  subresource?: 'status' | 'binding' | 'finalize';
}

/**
 * Why a decoded path segment cannot name anything (apimachinery's IsValidPathSegmentName): dot
 * segments would be normalised away, '/' and '%' only reach here encoded (once or twice).
 */
export function pathSegmentProblem(segment: string): string | undefined {
  if (segment === '.' || segment === '..') return `may not be '${segment}'`;
  if (segment.includes('/')) return "may not contain '/'";
  if (segment.includes('%')) return "may not contain '%'";
  return undefined;
}

type Segments = { ok: string[] } | { invalid: string };

/** Splits the raw (still percent-encoded) path, decoding each segment once after the split. */
function decodeSegments(rawPath: string): Segments {
  const ok: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    // without a '%' there is nothing to decode (decodeURIComponent would answer `raw` itself)
    let segment = raw;
    if (raw.includes('%')) {
      try {
        segment = decodeURIComponent(raw);
      } catch {
        return { invalid: `invalid path segment ${JSON.stringify(raw)}: malformed percent-encoding` };
      }
    }
    const problem = pathSegmentProblem(segment);
    if (problem) return { invalid: `invalid path segment ${JSON.stringify(segment)}: ${problem}` };
    ok.push(segment);
  }
  return { ok };
}

/**
 * The route of a request path as it arrived on the wire (before any decoding or dot-segment
 * normalisation, which would let `%2e%2e` climb to the parent object).
 */
export function parseRoute(rawPath: string): Route {
  const decoded = decodeSegments(rawPath);
  if ('invalid' in decoded) return { type: 'invalidPath', message: decoded.invalid };
  const segments = decoded.ok;
  const [first, ...rest] = segments;
  switch (first) {
    case 'healthz':
    case 'readyz':
    case 'livez':
      return { type: 'health', check: first };
    case 'version':
      return rest.length === 0 ? { type: 'version' } : { type: 'notFound' };
    case 'metrics':
      return rest.length === 0 ? { type: 'metrics' } : { type: 'notFound' };
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

/** `rest` starts with the version: v1[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]. */
function parseGroupVersionPath(group: string, rest: string[]): Route {
  const [version = '', ...parts] = rest;
  if (parts.length === 0) return { type: 'resourceList', group, version };
  const withKind = (plural: string): KindInfo | undefined => {
    const info = kindByGroupPlural(group, plural);
    return info && info.version === version ? info : undefined;
  };
  // A namespaced path unless it names the namespace object itself (/namespaces/<name>[/status|/finalize]).
  const namespaceItself = parts.length === 3 && (parts[2] === 'status' || parts[2] === 'finalize');
  if (parts[0] === 'namespaces' && parts.length >= 3 && !namespaceItself) {
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
  const status = sub === 'status' && kind.hasStatus;
  const binding = sub === 'binding' && kind.kind === 'Pod' && kind.group === '';
  const finalize = sub === 'finalize' && kind.kind === 'Namespace' && kind.group === '';
  if (sub !== undefined && !status && !binding && !finalize) return { type: 'notFound' };
  const target: ResourceTarget = { kind };
  if (namespace !== undefined) target.namespace = namespace;
  if (name !== undefined) target.name = name;
  if (sub === 'status' || sub === 'binding' || sub === 'finalize') target.subresource = sub;
  return { type: 'resource', target };
}
