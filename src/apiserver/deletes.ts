// DeleteOptions as the API server reads them (query parameters and/or a body) and what they do:
// dryRun, preconditions, propagationPolicy (the garbage collector's orphan and foreground
// finalizers) and, for pods, the grace period.
import type { StatusError } from '../api/errors.js';
import { badRequest } from '../api/errors.js';
import { fieldError, invalidError } from '../api/field-errors.js';
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import {
  deletionIsHeld,
  IMMORTAL_NAMESPACES,
  isNamespace,
  namespaceUndeletable,
} from '../api/namespace-lifecycle.js';
import type { Pod } from '../api/types.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER } from '../store/gc.js';
import { checkPreconditions, decideDelete } from '../store/object-rules.js';
import type { ObjectStore } from '../store/types.js';
import { cloneJson } from '../api/clone-json.js';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';
const policies: readonly PropagationPolicy[] = ['Orphan', 'Background', 'Foreground'];

export interface DeleteRequest {
  dryRun: boolean;
  propagationPolicy?: PropagationPolicy;
  preconditions: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalidOptions(field: string, value: unknown, detail: string): StatusError {
  return invalidError('DeleteOptions', '', [fieldError.invalid(field, value, detail)], 'meta.k8s.io');
}

/** Reads DeleteOptions from the query and a (possibly empty) body; the body wins where both speak. */
export function readDeleteOptions(query: URLSearchParams, body: unknown): DeleteRequest {
  const opts = isMap(body) ? body : {};
  if (body !== undefined && !isMap(body)) throw badRequest('the DeleteOptions body must be an object');
  const dryRunValues = Array.isArray(opts['dryRun']) ? opts['dryRun'] : query.getAll('dryRun');
  for (const v of dryRunValues) {
    if (v !== 'All') {
      throw invalidError('DeleteOptions', '', [fieldError.notSupported('dryRun', v, ['All'])], 'meta.k8s.io');
    }
  }
  const out: DeleteRequest = { dryRun: dryRunValues.length > 0, preconditions: {} };

  let policy = opts['propagationPolicy'] ?? query.get('propagationPolicy') ?? undefined;
  const orphan = opts['orphanDependents'] ?? query.get('orphanDependents') ?? undefined;
  if (policy === undefined && (orphan === true || orphan === 'true')) policy = 'Orphan';
  if (policy !== undefined) {
    if (!policies.includes(policy as PropagationPolicy)) {
      throw invalidError(
        'DeleteOptions',
        '',
        [fieldError.notSupported('propagationPolicy', policy, policies)],
        'meta.k8s.io',
      );
    }
    out.propagationPolicy = policy as PropagationPolicy;
  }

  const grace = opts['gracePeriodSeconds'] ?? query.get('gracePeriodSeconds') ?? undefined;
  if (grace !== undefined) {
    const n = typeof grace === 'string' && /^-?\d+$/.test(grace) ? Number(grace) : grace;
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      throw invalidOptions('gracePeriodSeconds', grace, 'must be an integer');
    }
    // Kubernetes reads a negative grace period as "now"
    out.gracePeriodSeconds = Math.max(0, n);
  }

  const pre = isMap(opts['preconditions']) ? opts['preconditions'] : {};
  if (typeof pre['uid'] === 'string' && pre['uid'] !== '') out.preconditions.uid = pre['uid'];
  if (typeof pre['resourceVersion'] === 'string' && pre['resourceVersion'] !== '') {
    out.preconditions.resourceVersion = pre['resourceVersion'];
  }
  return out;
}

/** A pod's grace period: the request's, else its own terminationGracePeriodSeconds; unscheduled pods go at once. */
export function podGracePeriod(pod: Pod, requested: number | undefined): number {
  if (!pod.spec.nodeName) return 0;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return 0;
  const own = pod.spec['terminationGracePeriodSeconds'];
  return requested ?? (typeof own === 'number' ? Math.max(0, own) : 30);
}

/** The finalizer a propagation policy adds while dependents are orphaned or deleted first. */
export function policyFinalizer(policy: PropagationPolicy | undefined): string | undefined {
  if (policy === 'Orphan') return ORPHAN_FINALIZER;
  if (policy === 'Foreground') return FOREGROUND_FINALIZER;
  return undefined;
}

export interface DeleteOutcome {
  /** The object as it was last stored (or would be, on a dry run). */
  object: KubeObject;
  /** True when the object is gone; false when finalizers keep it, marked for deletion. */
  removed: boolean;
}

/**
 * Deletes through the door: preconditions (409), the propagation policy's finalizer, the grace
 * period of pods, and a dry run that reports the outcome without writing.
 */
export async function deleteAdmitted(
  ctx: { store: ObjectStore; now: () => Date },
  kind: KindInfo,
  namespace: string | undefined,
  name: string,
  request: DeleteRequest,
): Promise<DeleteOutcome> {
  const stored = await ctx.store.get(kind, namespace, name);
  if (isNamespace(stored) && IMMORTAL_NAMESPACES.has(name)) throw namespaceUndeletable(name);
  checkPreconditions(kind, stored, request.preconditions.uid, request.preconditions.resourceVersion);
  const grace = kind.kind === 'Pod' ? podGracePeriod(stored as Pod, request.gracePeriodSeconds) : undefined;
  const finalizer = policyFinalizer(request.propagationPolicy);
  const finalizers = stored.metadata.finalizers ?? [];
  const adding =
    finalizer !== undefined && !finalizers.includes(finalizer) && !stored.metadata.deletionTimestamp;
  const kept = [...finalizers, ...(adding && finalizer ? [finalizer] : [])];
  if (request.dryRun) {
    const marked = cloneJson(stored);
    if (kept.length > 0) marked.metadata.finalizers = kept;
    if (!deletionIsHeld(marked)) return { object: stored, removed: true };
    const decided = decideDelete(kind, marked, grace !== undefined ? { gracePeriodSeconds: grace } : {}, {
      now: ctx.now(),
      newUid: () => '',
    });
    return { object: decided.object, removed: false };
  }
  let uid = stored.metadata.uid;
  if (adding) {
    const next = cloneJson(stored);
    next.metadata.finalizers = kept;
    uid = (await ctx.store.update(kind, next)).metadata.uid;
  }
  const options = { ...(uid ? { uid } : {}), ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}) };
  const last = await ctx.store.delete(kind, namespace, name, options);
  return { object: last, removed: !deletionIsHeld(last) };
}
