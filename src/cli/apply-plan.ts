// Pure: what `berth apply` sends for one manifest. Like kubectl's client-side apply it keeps the
// applied manifest in the last-applied-configuration annotation and computes a three-way JSON
// merge patch: fields in the manifest that differ from the live object, plus nulls for fields
// that an earlier apply set and this manifest no longer has.
import type { KubeObject } from '../api/meta.js';
import { tryParseQuantity } from '../api/quantity.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Metadata the server owns: never compared, never patched. */
const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'managedFields',
  'selfLink',
];

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The manifest as apply treats it: no status, no server-owned metadata, no old annotation. */
export function appliedConfiguration(manifest: KubeObject): KubeObject {
  const { status: _status, ...rest } = manifest;
  const metadata: Json = { ...manifest.metadata };
  for (const key of SERVER_METADATA) delete metadata[key];
  if (manifest.metadata.annotations) {
    const annotations = { ...manifest.metadata.annotations };
    delete annotations[LAST_APPLIED_ANNOTATION];
    if (Object.keys(annotations).length > 0) metadata['annotations'] = annotations;
    else delete metadata['annotations'];
  }
  return { ...rest, metadata };
}

/** The object `apply` creates when nothing exists yet: the manifest plus its annotation. */
export function objectToCreate(manifest: KubeObject): KubeObject {
  const applied = appliedConfiguration(manifest);
  return {
    ...applied,
    metadata: {
      ...applied.metadata,
      annotations: { ...applied.metadata.annotations, [LAST_APPLIED_ANNOTATION]: JSON.stringify(applied) },
    },
  };
}

const NUMERIC_START = /^[+-]?\.?\d/;

/** Equal as quantities ("1024Mi" and a server-normalised "1Gi"); only for numeric-looking text. */
function quantityEqual(a: unknown, b: unknown): boolean {
  if (!NUMERIC_START.test(String(a)) || !NUMERIC_START.test(String(b))) return false;
  const qa = tryParseQuantity(a);
  const qb = tryParseQuantity(b);
  return qa !== undefined && qb !== undefined && qa.compare(qb) === 0;
}

/** Scalars compare by text, so `storage: 1` in YAML equals a live "1", or as quantities. */
function scalarEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const simple = (v: unknown): boolean =>
    typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  if (!simple(a) || !simple(b)) return false;
  return String(a) === String(b) || (typeof a !== 'boolean' && typeof b !== 'boolean' && quantityEqual(a, b));
}

/**
 * True when everything `desired` says is already true of `live`. Objects: every desired key
 * matches (live may carry more, e.g. server defaults). Arrays: same length, element-wise.
 */
export function containedIn(desired: unknown, live: unknown): boolean {
  if (isPlainObject(desired)) {
    if (!isPlainObject(live)) return false;
    return Object.entries(desired).every(([k, v]) =>
      v === null ? live[k] === undefined : containedIn(v, live[k]),
    );
  }
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) &&
      live.length === desired.length &&
      desired.every((v, i) => containedIn(v, live[i]))
    );
  }
  return scalarEqual(desired, live);
}

function threeWay(original: Json | undefined, desired: Json, live: Json | undefined): Json {
  const patch: Json = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = live?.[key];
    if (isPlainObject(want) && isPlainObject(have)) {
      const previous = original?.[key];
      const sub = threeWay(isPlainObject(previous) ? previous : undefined, want, have);
      if (Object.keys(sub).length > 0) patch[key] = sub;
    } else if (!containedIn(want, have)) {
      patch[key] = want;
    }
  }
  for (const key of Object.keys(original ?? {})) {
    if (!(key in desired) && live?.[key] !== undefined) patch[key] = null;
  }
  return patch;
}

function parseLastApplied(live: KubeObject): Json | undefined {
  const text = live.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  if (!text) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The merge patch that makes `live` match `manifest`, or undefined when it already does
 * (`unchanged`). The last-applied annotation alone never makes an object `configured`.
 */
export function planApply(manifest: KubeObject, live: KubeObject): Json | undefined {
  const desired = appliedConfiguration(manifest);
  const patch = threeWay(parseLastApplied(live), desired, live);
  if (Object.keys(patch).length === 0) return undefined;
  const metadata = isPlainObject(patch['metadata']) ? patch['metadata'] : {};
  const annotations = isPlainObject(metadata['annotations']) ? metadata['annotations'] : {};
  annotations[LAST_APPLIED_ANNOTATION] = JSON.stringify(desired);
  metadata['annotations'] = annotations;
  patch['metadata'] = metadata;
  return patch;
}
