// Quantities are stored in their canonical form, as the API server's decoder leaves them:
// "1024Mi" is stored and shown as "1Gi", "0.5" as "500m". Values that do not parse are left as
// they are for validation to report.
import type { KubeObject } from './meta.js';
import { tryParseQuantity } from './quantity.js';

type Json = Record<string, unknown>;

function asMap(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Rewrites every parsable value of a resource list ({storage: "1024Mi"}) in canonical form. */
function canonicalList(list: unknown): void {
  const map = asMap(list);
  if (!map) return;
  for (const [name, value] of Object.entries(map)) {
    const quantity = tryParseQuantity(value);
    if (quantity) map[name] = quantity.toString();
  }
}

function canonicalResources(resources: unknown): void {
  const map = asMap(resources);
  canonicalList(map?.['requests']);
  canonicalList(map?.['limits']);
}

function canonicalClaimSpec(spec: unknown): void {
  canonicalResources(asMap(spec)?.['resources']);
}

function canonicalPodSpec(spec: unknown): void {
  const map = asMap(spec);
  for (const field of ['containers', 'initContainers']) {
    for (const container of asList(map?.[field])) canonicalResources(asMap(container)?.['resources']);
  }
  canonicalList(map?.['overhead']);
  for (const volume of asList(map?.['volumes'])) {
    const emptyDir = asMap(asMap(volume)?.['emptyDir']);
    const quantity = tryParseQuantity(emptyDir?.['sizeLimit']);
    if (emptyDir && quantity) emptyDir['sizeLimit'] = quantity.toString();
  }
}

/** Canonicalises the quantity fields of the kinds that have them, in place; returns the object. */
export function canonicalQuantities(obj: KubeObject): KubeObject {
  const spec = asMap(obj['spec']);
  const status = asMap(obj['status']);
  switch (obj.kind) {
    case 'PersistentVolumeClaim':
      canonicalClaimSpec(spec);
      canonicalList(status?.['capacity']);
      canonicalList(status?.['allocatedResources']);
      break;
    case 'PersistentVolume':
      canonicalList(spec?.['capacity']);
      break;
    case 'Pod':
      canonicalPodSpec(spec);
      break;
    case 'StatefulSet':
      for (const template of asList(spec?.['volumeClaimTemplates'])) {
        canonicalClaimSpec(asMap(template)?.['spec']);
      }
      canonicalPodSpec(asMap(spec?.['template'])?.['spec']);
      break;
    case 'Node':
      canonicalList(status?.['capacity']);
      canonicalList(status?.['allocatable']);
      break;
    case 'CSIStorageCapacity':
      for (const field of ['capacity', 'maximumVolumeSize']) {
        const quantity = tryParseQuantity(obj[field]);
        if (quantity) obj[field] = quantity.toString();
      }
      break;
    default:
      break;
  }
  return obj;
}
