// Strategic merge patch, for the fields of the kinds berth serves. Like a JSON merge patch, except
// that lists which Kubernetes declares "merge" lists are merged element by element on their merge
// key (containers by name, volumeMounts by mountPath, ...), and the $patch / $retainKeys /
// $deleteFromPrimitiveList directives are honoured ($setElementOrder is accepted and ignored).
// Lists without a merge strategy are replaced, as upstream does. Pure.
import { PatchApplyError } from './json-patch.js';

type Json = Record<string, unknown>;

/** patchMergeKey by field name, from the upstream type definitions ("ports" is resolved per list). */
const mergeKeyByField: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  resourceClaims: 'name',
  schedulingGates: 'name',
  drivers: 'name', // CSINode.spec.drivers
  volumesAttached: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  conditions: 'type',
  addresses: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
};

/** Lists of scalars with patchStrategy "merge": merged as sets. */
export const mergedScalarLists: ReadonlySet<string> = new Set(['finalizers']);

const directivePrefixes = ['$setElementOrder/', '$deleteFromPrimitiveList/'];

function isMap(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The merge key of the list `field`, judged by its items (or, for schemas, the item's properties). */
export function mergeKeyFor(field: string, patchItems: readonly unknown[]): string | undefined {
  if (field === 'ports') {
    // container ports merge on containerPort, service ports on port
    return patchItems.some((i) => isMap(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  }
  return mergeKeyByField[field];
}

/** Applies a strategic merge patch to a copy of `original`. */
export function applyStrategicMergePatch(original: unknown, patch: unknown): unknown {
  if (!isMap(patch)) throw new PatchApplyError('a strategic merge patch must be a JSON object');
  const merged = mergeMaps(isMap(original) ? original : {}, patch);
  return merged ?? {};
}

/** Removes every directive from a value that is being inserted rather than merged. */
export function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value
      .filter((v) => !(isMap(v) && v['$patch'] !== undefined && Object.keys(v).length === 1))
      .map(stripDirectives);
  }
  if (!isMap(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$patch' || k === '$retainKeys' || directivePrefixes.some((p) => k.startsWith(p))) continue;
    if (v === null) continue;
    out[k] = stripDirectives(v);
  }
  return out;
}

/** Merges `patch` into `original`; undefined means "delete this map" ($patch: delete). */
function mergeMaps(original: Json, patch: Json): Json | undefined {
  const directive = patch['$patch'];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return stripDirectives(patch) as Json;
  if (directive !== undefined && directive !== 'merge') {
    throw new PatchApplyError(`unknown patch directive ${JSON.stringify(directive)}`);
  }
  const result: Json = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    const prefix = '$deleteFromPrimitiveList/';
    if (!key.startsWith(prefix)) continue;
    const field = key.slice(prefix.length);
    const current = result[field];
    if (Array.isArray(current) && Array.isArray(value)) {
      result[field] = current.filter((v) => !value.includes(v));
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || directivePrefixes.some((p) => key.startsWith(p)))
      continue;
    if (value === null) {
      delete result[key];
    } else if (isMap(value)) {
      const current = result[key];
      const merged = mergeMaps(isMap(current) ? current : {}, value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      result[key] = mergeLists(key, result[key], value);
    } else {
      result[key] = value;
    }
  }
  const retain = patch['$retainKeys'];
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  return result;
}

function mergeLists(field: string, original: unknown, patch: unknown[]): unknown[] {
  if (patch.some((i) => isMap(i) && i['$patch'] === 'replace')) {
    return stripDirectives(patch.filter((i) => !(isMap(i) && i['$patch'] === 'replace'))) as unknown[];
  }
  const current = Array.isArray(original) ? original : [];
  if (mergedScalarLists.has(field)) {
    const out = [...current];
    for (const item of patch) if (!out.includes(item)) out.push(item);
    return out;
  }
  const key = mergeKeyFor(field, patch);
  if (key === undefined || !patch.every(isMap)) return stripDirectives(patch) as unknown[];
  const out: unknown[] = [...current];
  for (const item of patch) {
    const index = out.findIndex((o) => isMap(o) && o[key] === item[key]);
    if (item['$patch'] === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    const existing = index >= 0 ? out[index] : undefined;
    const merged = mergeMaps(isMap(existing) ? existing : {}, item);
    if (merged === undefined) {
      if (index >= 0) out.splice(index, 1);
    } else if (index >= 0) {
      out[index] = merged;
    } else {
      out.push(merged);
    }
  }
  return out;
}
