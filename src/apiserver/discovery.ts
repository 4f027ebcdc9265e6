// Discovery documents (/version, /api, /apis, resource lists), built from the kinds table.
// Legacy discovery only: kubectl asks for the aggregated form first and, on a plain
// application/json answer, falls back to these documents.
import { apiVersionOf, kinds, type KindInfo } from '../api/kinds.js';

export const serverVersion = { major: '1', minor: '32', gitVersion: 'v1.32.0-berth' } as const;

const collectionVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const statusVerbs = ['get', 'patch', 'update'];
/** Kinds that `kubectl get all` shows, as upstream puts them in the "all" category. */
const allCategory = new Set(['Pod', 'Service', 'StatefulSet', 'Deployment', 'DaemonSet']);

export function versionInfo(platform: string): Record<string, string> {
  return {
    ...serverVersion,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform,
  };
}

export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** The non-core groups, each with its (single) version. */
function groupVersions(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const k of kinds) {
    if (k.group === '') continue;
    const versions = groups.get(k.group) ?? [];
    if (!versions.includes(k.version)) versions.push(k.version);
    groups.set(k.group, versions);
  }
  return groups;
}

function groupDocument(group: string, versions: string[]): Record<string, unknown> {
  const entries = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: entries, preferredVersion: entries[0] };
}

export function groupList(): Record<string, unknown> {
  const groups = [...groupVersions()].map(([group, versions]) => groupDocument(group, versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(group: string): Record<string, unknown> | undefined {
  const versions = groupVersions().get(group);
  return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(group, versions) } : undefined;
}

export function kindsOf(group: string, version: string): KindInfo[] {
  return kinds.filter((k) => k.group === group && k.version === version);
}

export function resourceList(group: string, version: string): Record<string, unknown> | undefined {
  const members = kindsOf(group, version);
  if (members.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const k of members) {
    resources.push({
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: collectionVerbs,
      ...(k.shortNames.length > 0 ? { shortNames: [...k.shortNames] } : {}),
      ...(allCategory.has(k.kind) ? { categories: ['all'] } : {}),
    });
    if (k.hasStatus) {
      resources.push({
        name: `${k.plural}/status`,
        singularName: '',
        namespaced: k.namespaced,
        kind: k.kind,
        verbs: statusVerbs,
      });
    }
  }
  const groupVersion = members[0] ? apiVersionOf(members[0]) : version;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}
