// The one door every write goes through, whoever sends it (kubectl over REST, berth's own
// controllers and node agent through AdmittedStore): server-owned metadata stripped, admission,
// defaulting, validation with the update rules, dry run, then the store.
import { StatusError } from '../api/errors.js';
import { fieldError, invalidError } from '../api/field-errors.js';
import type { FieldValidation } from '../api/decode.js';
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { Pod } from '../api/types.js';
import { namespaceFinalizers } from '../api/namespace-lifecycle.js';
import { prepareCreate, prepareUpdate } from '../api/validate.js';
import { cloneJson } from '../api/clone-json.js';
import { deepEqual } from '../store/merge-patch.js';
import { checkNotStale, checkPreconditions } from '../store/object-rules.js';
import type { ObjectStore } from '../store/types.js';
import { admitCreate, admitUpdate, createWarnings, requireNamespace } from './admission.js';

export interface WriteContext {
  store: ObjectStore;
  now: () => Date;
}

export interface WriteRequestOptions {
  /** dryRun=All: everything but the store write. */
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Warnings for the response's Warning headers. */
  warnings?: string[];
  /** Sets metadata.managedFields on the object about to be written (API requests do). */
  track?: (prepared: KubeObject) => KubeObject;
}

export type Subresource = 'status' | 'binding' | 'finalize' | undefined;

const serverOwnedMetadata = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generation',
  'selfLink',
] as const;

function prepareOptions(options: WriteRequestOptions): Parameters<typeof prepareCreate>[1] {
  const out: Parameters<typeof prepareCreate>[1] = {};
  if (options.fieldValidation) out.fieldValidation = options.fieldValidation;
  if (options.warnings) out.warnings = options.warnings;
  return out;
}

/** A create: admission (namespace, default class, protection finalizers), defaults, validation. */
export async function createAdmitted(
  ctx: WriteContext,
  kind: KindInfo,
  input: KubeObject,
  options: WriteRequestOptions = {},
): Promise<KubeObject> {
  // a shallow copy is enough: decoding (prepareCreate) copies the whole object
  const obj: KubeObject = { ...input, metadata: { ...input.metadata } };
  for (const field of serverOwnedMetadata) delete obj.metadata[field];
  let prepared: KubeObject;
  try {
    prepared = prepareCreate(await admitCreate(ctx.store, kind, obj), prepareOptions(options));
  } catch (err) {
    // Kubernetes' namespace admission runs before the others and before validation: in a missing
    // namespace the answer is its 404, whatever else is wrong (read only on this failing path)
    await requireNamespace(ctx.store, kind, obj);
    throw err;
  }
  options.warnings?.push(...createWarnings(prepared));
  if (options.track) prepared = options.track(prepared);
  if (options.dryRun) {
    await requireNamespace(ctx.store, kind, prepared);
    return prepared;
  }
  return ctx.store.create(kind, prepared, { namespaceMustExist: true });
}

/** What an update may change: status only through /status, everything but status otherwise. */
function updateCandidate(
  kind: KindInfo,
  subresource: Subresource,
  obj: KubeObject,
  old: KubeObject,
): KubeObject {
  let candidate: KubeObject;
  if (subresource === 'status') {
    candidate = cloneJson(old);
    if (obj['status'] === undefined) delete candidate['status'];
    else candidate['status'] = obj['status'];
    if (obj.metadata.resourceVersion === undefined) delete candidate.metadata.resourceVersion;
    else candidate.metadata.resourceVersion = obj.metadata.resourceVersion;
  } else if (subresource === 'finalize') {
    // namespaces/finalize: spec.finalizers only, against the version the body names
    candidate = cloneJson(old);
    candidate['spec'] = { ...(old['spec'] ?? {}), finalizers: namespaceFinalizers(obj) };
    if (obj.metadata.resourceVersion === undefined) delete candidate.metadata.resourceVersion;
    else candidate.metadata.resourceVersion = obj.metadata.resourceVersion;
  } else {
    candidate = { ...obj };
    if (kind.hasStatus) {
      if (old['status'] === undefined) delete candidate['status'];
      else candidate['status'] = cloneJson(old['status']);
    }
  }
  // a uid in the body names the object the writer read: another one by that name is a conflict
  checkPreconditions(kind, old, obj.metadata.uid);
  // identity and lifecycle fields belong to the server
  const keep = ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const;
  const metadata: Record<string, unknown> = candidate.metadata;
  for (const field of keep) {
    if (old.metadata[field] === undefined) delete metadata[field];
    else metadata[field] = old.metadata[field];
  }
  return candidate;
}

function withoutResourceVersion(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/**
 * pods/binding: an unscheduled pod gets a node. Like a Binding object, only the node name is
 * taken from the request; the rest of the pod stays as stored.
 */
function boundPod(pod: KubeObject, old: KubeObject): KubeObject {
  const node = (pod as Pod).spec.nodeName ?? '';
  const before = (old as Pod).spec.nodeName ?? '';
  const name = old.metadata.name ?? '';
  if (before !== '') {
    throw new StatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${before}"`,
      { name, kind: 'pods/binding' },
    );
  }
  if (node === '') throw invalidError('Binding', name, [fieldError.required('target.name')]);
  return { ...cloneJson(old), spec: { ...(old as Pod).spec, nodeName: node } };
}

/**
 * An update (or status update, or binding) of `old`: the update rules of the kind, admission,
 * and a compare-and-swap write when the body names a resourceVersion. An update that changes
 * nothing writes nothing (no new resourceVersion, no watch event).
 */
export async function updateAdmitted(
  ctx: WriteContext,
  kind: KindInfo,
  subresource: Subresource,
  obj: KubeObject,
  old: KubeObject,
  options: WriteRequestOptions = {},
): Promise<KubeObject> {
  let prepared: KubeObject;
  if (subresource === 'binding') {
    prepared = boundPod(obj, old);
  } else {
    checkNotStale(kind, old, obj.metadata.resourceVersion);
    prepared = prepareUpdate(updateCandidate(kind, subresource, obj, old), old, prepareOptions(options));
    if (subresource === undefined) await admitUpdate(ctx.store, prepared, old);
  }
  if (options.track) prepared = options.track(prepared);
  const rv = prepared.metadata.resourceVersion;
  const sameVersion = rv === undefined || rv === old.metadata.resourceVersion;
  if (sameVersion && deepEqual(withoutResourceVersion(prepared), withoutResourceVersion(old))) return old;
  if (options.dryRun) return prepared;
  return ctx.store.update(
    kind,
    prepared,
    subresource === 'status' || subresource === 'finalize' ? { subresource } : undefined,
  );
}
