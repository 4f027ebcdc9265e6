// What each write does to an object, decided without IO: create defaults, update merging of
// spec/status and immutable metadata, generation bumps, finalizer-aware deletion. Any backend
// that sequences writes itself (embedded, etcd) calls these, so they all behave alike.
import { conflict, StatusError } from '../api/errors.js';
import { apiVersionOf, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import {
  deletionIsHeld,
  isNamespace,
  namespaceFinalizers,
  withTerminatingPhase,
} from '../api/namespace-lifecycle.js';
import { withFields } from '../api/with-fields.js';
import type { DeleteOptions, WriteOptions } from './types.js';
import { cloneJson } from '../api/clone-json.js';
import { deepEqual } from './merge-patch.js';

export interface RuleContext {
  now: Date;
  newUid: () => string;
}

/** RFC 3339 with whole seconds, as Kubernetes writes metav1.Time. */
export function rfc3339Seconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `generateName` plus five random lowercase alphanumerics. */
export function generatedName(prefix: string, random: () => number = Math.random): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += SUFFIX_ALPHABET[Math.floor(random() * SUFFIX_ALPHABET.length)];
  return prefix + suffix;
}

export function resourceName(kind: KindInfo): string {
  return kind.group ? `${kind.plural}.${kind.group}` : kind.plural;
}

export function invalid(kind: KindInfo, name: string, field: string, message: string): StatusError {
  return new StatusError(422, 'Invalid', `${kind.kind} "${name}" is invalid: ${field}: ${message}`, {
    name,
    group: kind.group,
    kind: kind.kind,
    causes: [{ reason: 'FieldValueInvalid', message, field }],
  });
}

/**
 * The object to store for a create, before a revision is assigned. `name` is the final name
 * (the caller resolves generateName, retrying on collisions).
 */
export function decideCreate(kind: KindInfo, obj: KubeObject, name: string, ctx: RuleContext): KubeObject {
  const copy = cloneJson(obj);
  const meta = copy.metadata ?? {};
  if (!name) throw invalid(kind, '', 'metadata.name', 'Required value: name or generateName is required');
  if (kind.namespaced && !meta.namespace) {
    throw invalid(kind, name, 'metadata.namespace', 'Required value');
  }
  return {
    ...copy,
    apiVersion: obj.apiVersion || apiVersionOf(kind),
    kind: obj.kind || kind.kind,
    metadata: withFields(meta, {
      name,
      namespace: kind.namespaced ? meta.namespace : undefined,
      uid: ctx.newUid(),
      creationTimestamp: rfc3339Seconds(ctx.now),
      generation: 1,
      resourceVersion: undefined,
      deletionTimestamp: undefined,
      deletionGracePeriodSeconds: undefined,
    }),
  };
}

export type UpdateDecision =
  | { action: 'unchanged'; object: KubeObject }
  | { action: 'write'; object: KubeObject }
  | { action: 'remove'; object: KubeObject };

/** Everything but metadata and status: a change there bumps metadata.generation. */
function specPart(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

/** 409 Conflict unless the stored object has the given uid and resourceVersion (when given). */
export function checkPreconditions(
  kind: KindInfo,
  stored: KubeObject,
  uid?: string,
  resourceVersion?: string,
): void {
  const name = stored.metadata.name ?? '';
  if (uid && uid !== stored.metadata.uid) {
    throw conflict(
      kind.plural,
      name,
      `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${stored.metadata.uid}`,
      kind.group,
    );
  }
  if (resourceVersion && resourceVersion !== stored.metadata.resourceVersion) {
    throw conflict(
      kind.plural,
      name,
      `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${stored.metadata.resourceVersion}`,
      kind.group,
    );
  }
}

/**
 * 409 when an update names a resourceVersion other than the stored one. Checked before any rule
 * that compares with the stored object, as Kubernetes does: a writer with a stale copy learns to
 * re-read (a conflict), not that its change is invalid.
 */
export function checkNotStale(kind: KindInfo, stored: KubeObject, resourceVersion: string | undefined): void {
  if (resourceVersion && resourceVersion !== stored.metadata.resourceVersion) {
    throw conflict(
      kind.plural,
      stored.metadata.name ?? '',
      'the object has been modified; please apply your changes to the latest version and try again',
      kind.group,
    );
  }
}

/** An update or status update of `stored` with `incoming`; CAS when incoming carries a resourceVersion. */
export function decideUpdate(
  kind: KindInfo,
  stored: KubeObject,
  incoming: KubeObject,
  options: WriteOptions = {},
): UpdateDecision {
  const storedMeta = stored.metadata;
  const incomingMeta = incoming.metadata ?? {};
  checkNotStale(kind, stored, incomingMeta.resourceVersion);
  checkPreconditions(kind, stored, incomingMeta.uid, undefined);

  let next: KubeObject;
  if (options.subresource === 'status') {
    next = { ...stored, status: cloneJson(incoming['status']) };
    if (next['status'] === undefined) delete next['status'];
    // metadata stays as stored, but for the ownership the writer's managedFields record (as
    // upstream's status strategies reset metadata but the field manager's entries); a writer that
    // sends none (an informer's copy) leaves the stored ones
    const managedFields = incomingMeta['managedFields'];
    if (managedFields !== undefined && !deepEqual(managedFields, storedMeta['managedFields']))
      next.metadata = withFields(storedMeta, { managedFields: cloneJson(managedFields) });
  } else if (options.subresource === 'finalize') {
    next = withSpecFinalizers(stored, namespaceFinalizers(incoming));
  } else {
    const { status: _ignored, ...rest } = cloneJson(incoming);
    next = {
      ...(kind.hasStatus ? rest : cloneJson(incoming)),
      apiVersion: incoming.apiVersion || stored.apiVersion,
      kind: incoming.kind || stored.kind,
      metadata: withFields(cloneJson(incomingMeta), {
        // immutable, or owned by the store
        name: storedMeta.name,
        namespace: storedMeta.namespace,
        uid: storedMeta.uid,
        creationTimestamp: storedMeta.creationTimestamp,
        deletionTimestamp: storedMeta.deletionTimestamp,
        deletionGracePeriodSeconds: storedMeta.deletionGracePeriodSeconds,
        generation: storedMeta.generation,
        resourceVersion: storedMeta.resourceVersion,
        generateName: incomingMeta.generateName ?? storedMeta.generateName,
      }),
    };
    if (kind.hasStatus && stored['status'] !== undefined) next['status'] = stored['status'];
    // a namespace's spec.finalizers change only through /finalize
    if (isNamespace(stored)) next = withSpecFinalizers(next, namespaceFinalizers(stored));
    if (storedMeta.deletionTimestamp) rejectNewFinalizers(kind, stored, next);
    if (!deepEqual(specPart(next), specPart(stored))) {
      next.metadata.generation = (storedMeta.generation ?? 0) + 1;
    }
  }

  if (deepEqual(next, stored)) return { action: 'unchanged', object: stored };
  if (storedMeta.deletionTimestamp && !deletionIsHeld(next)) return { action: 'remove', object: next };
  return { action: 'write', object: next };
}

function rejectNewFinalizers(kind: KindInfo, stored: KubeObject, next: KubeObject): void {
  const old = new Set(stored.metadata.finalizers ?? []);
  const added = (next.metadata.finalizers ?? []).filter((f) => !old.has(f));
  if (added.length > 0) {
    throw invalid(
      kind,
      stored.metadata.name ?? '',
      'metadata.finalizers',
      `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
    );
  }
}

/** A copy of a namespace with these spec.finalizers (none: the field is left out). */
function withSpecFinalizers(namespace: KubeObject, finalizers: string[]): KubeObject {
  if (deepEqual(namespaceFinalizers(namespace), finalizers)) return namespace;
  const { finalizers: _old, ...spec } = (namespace['spec'] ?? {}) as Record<string, unknown>;
  return { ...namespace, spec: finalizers.length > 0 ? { ...spec, finalizers } : spec };
}

export type DeleteDecision =
  | { action: 'unchanged'; object: KubeObject }
  | { action: 'write'; object: KubeObject }
  | { action: 'remove'; object: KubeObject };

/**
 * A delete of an object already being deleted may only shorten its pending grace period, as
 * Kubernetes' BeforeDelete: the deletion time moves back by the difference (a pod evicted with 30 s
 * and then force-deleted with 0 s is deleted now). Anything else leaves it unchanged.
 */
function shortenedDeletion(stored: KubeObject, requested: number | undefined): DeleteDecision {
  const pending = stored.metadata.deletionGracePeriodSeconds;
  const at = Date.parse(stored.metadata.deletionTimestamp ?? '');
  if (requested === undefined || pending === undefined || requested >= pending || Number.isNaN(at))
    return { action: 'unchanged', object: stored };
  const deletionTimestamp = rfc3339Seconds(new Date(at + (requested - pending) * 1000));
  return {
    action: 'write',
    object: {
      ...stored,
      metadata: { ...stored.metadata, deletionTimestamp, deletionGracePeriodSeconds: requested },
    },
  };
}

/** A delete: removes the object, or marks it deleting while finalizers remain. */
export function decideDelete(
  kind: KindInfo,
  stored: KubeObject,
  options: DeleteOptions,
  ctx: RuleContext,
): DeleteDecision {
  checkPreconditions(kind, stored, options.uid, options.resourceVersion);
  if (!deletionIsHeld(stored)) return { action: 'remove', object: stored };
  const grace = options.gracePeriodSeconds ?? 0;
  if (stored.metadata.deletionTimestamp) return shortenedDeletion(stored, options.gracePeriodSeconds);
  // a grace period (pods) puts the deletion time that far ahead, as Kubernetes does
  return {
    action: 'write',
    object: {
      ...(isNamespace(stored) ? withTerminatingPhase(stored) : stored),
      metadata: {
        ...stored.metadata,
        deletionTimestamp: rfc3339Seconds(new Date(ctx.now.getTime() + grace * 1000)),
        deletionGracePeriodSeconds: grace,
        generation: (stored.metadata.generation ?? 0) + 1,
      },
    },
  };
}
