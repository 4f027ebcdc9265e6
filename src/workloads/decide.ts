// One StatefulSet sync, pure: the set, its pods and the namespace's claims in; the writes that
// move it one step towards spec.replicas out. OrderedReady creates ordinal n only once 0..n-1 are
// Running and removes the highest ordinal first, one at a time; Parallel does all at once. Claims
// outlive their pods (a recreated pod gets its old claim, so its old data) unless the retention
// policy says Delete.
import type { PersistentVolumeClaim, Pod, StatefulSet } from '../api/types.js';
import { selectorMatches } from '../volume/match.js';
import {
  buildClaims,
  buildPod,
  claimOrdinalOf,
  isOwnedBy,
  ordinalOf,
  referencesSet,
  retentionPolicy,
  setOwnerReference,
} from './identity.js';

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
}

export type StatefulSetAction =
  | { type: 'createClaim'; claim: PersistentVolumeClaim; podName: string }
  | { type: 'createPod'; pod: Pod }
  | { type: 'deletePod'; pod: Pod; why: 'scaleDown' | 'failed' }
  | { type: 'deleteClaim'; claim: PersistentVolumeClaim }
  /** The claim with its owner references changed to follow the retention policy. */
  | { type: 'updateClaim'; claim: PersistentVolumeClaim }
  | { type: 'updateStatus'; status: StatefulSetStatus };

export interface StatefulSetState {
  set: StatefulSet;
  /** Pods of the set's namespace that may be its (only those it controls are used). */
  pods: readonly Pod[];
  /** Claims of the set's namespace that may be its. */
  claims: readonly PersistentVolumeClaim[];
}

/** berth runs no containers: a pod is ready once it is Running (every volume published). */
export function isPodReady(pod: Pod): boolean {
  if (pod.metadata.deletionTimestamp || pod.status?.phase !== 'Running') return false;
  return !(pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'False');
}

function isPodFailed(pod: Pod): boolean {
  return pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
}

function computeStatus(
  set: StatefulSet,
  pods: ReadonlyMap<number, Pod>,
  replicas: number,
): StatefulSetStatus {
  let ready = 0;
  let current = 0;
  for (const [ordinal, pod] of pods) {
    if (isPodReady(pod)) ready++;
    if (ordinal < replicas && !pod.metadata.deletionTimestamp) current++;
  }
  return {
    ...(set.metadata.generation !== undefined ? { observedGeneration: set.metadata.generation } : {}),
    replicas: pods.size,
    readyReplicas: ready,
    currentReplicas: current,
    updatedReplicas: current,
    availableReplicas: ready,
  };
}

function statusChanged(set: StatefulSet, next: StatefulSetStatus): boolean {
  const old = set.status ?? {};
  return (Object.keys(next) as (keyof StatefulSetStatus)[]).some((k) => old[k] !== next[k]);
}

/** The claim with the set's owner reference present exactly when the policy wants it. */
function claimWithPolicyOwner(
  claim: PersistentVolumeClaim,
  set: StatefulSet,
): PersistentVolumeClaim | undefined {
  const wanted = retentionPolicy(set).whenDeleted === 'Delete';
  if (wanted === referencesSet(claim, set)) return undefined;
  const next = structuredClone(claim);
  const others = (next.metadata.ownerReferences ?? []).filter((r) => r.uid !== set.metadata.uid);
  const refs = wanted ? [...others, setOwnerReference(set, false)] : others;
  if (refs.length > 0) next.metadata.ownerReferences = refs;
  else delete next.metadata.ownerReferences;
  return next;
}

export function decideStatefulSet(state: StatefulSetState): StatefulSetAction[] {
  const { set } = state;
  // Deleting: the garbage collector removes pods (and claims the set owns).
  if (set.metadata.deletionTimestamp) return [];
  const replicas = Math.max(0, set.spec.replicas ?? 1);
  const ordered = (set.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
  const policy = retentionPolicy(set);

  const pods = new Map<number, Pod>();
  for (const pod of state.pods) {
    const ordinal = ordinalOf(set, pod.metadata.name ?? '');
    if (ordinal !== undefined && isOwnedBy(pod, set)) pods.set(ordinal, pod);
  }
  const claims = new Map(state.claims.map((c) => [c.metadata.name ?? '', c]));
  const actions: StatefulSetAction[] = [];

  const missingClaims = (ordinal: number, podName: string): StatefulSetAction[] =>
    buildClaims(set, ordinal)
      .filter((c) => !claims.has(c.metadata.name ?? ''))
      .map((claim) => ({ type: 'createClaim', claim, podName }));
  const claimsDeleting = (ordinal: number): boolean =>
    buildClaims(set, ordinal).some((c) => claims.get(c.metadata.name ?? '')?.metadata.deletionTimestamp);

  // Ordinals that should exist, lowest first.
  let blocked = false;
  for (let ordinal = 0; ordinal < replicas && !blocked; ordinal++) {
    const pod = pods.get(ordinal);
    if (!pod) {
      // A claim still being deleted (scale-down with Delete) must go before its name is reused.
      if (claimsDeleting(ordinal)) {
        blocked = ordered;
        continue;
      }
      const fresh = buildPod(set, ordinal);
      actions.push(...missingClaims(ordinal, fresh.metadata.name ?? ''));
      actions.push({ type: 'createPod', pod: fresh });
      blocked = ordered;
      continue;
    }
    if (pod.metadata.deletionTimestamp) {
      blocked = ordered;
      continue;
    }
    if (isPodFailed(pod)) {
      actions.push({ type: 'deletePod', pod, why: 'failed' });
      blocked = ordered;
      continue;
    }
    // Someone deleted a live pod's claim: recreate it so the pod can get a volume again.
    actions.push(...missingClaims(ordinal, pod.metadata.name ?? ''));
    if (ordered && !isPodReady(pod)) blocked = true;
  }

  // Ordinals beyond spec.replicas, highest first.
  const condemned = [...pods.entries()].filter(([o]) => o >= replicas).sort(([a], [b]) => b - a);
  if (!ordered) {
    for (const [, pod] of condemned) {
      if (!pod.metadata.deletionTimestamp) actions.push({ type: 'deletePod', pod, why: 'scaleDown' });
    }
  } else if (!blocked && condemned.length > 0 && !condemned.some(([, p]) => p.metadata.deletionTimestamp)) {
    const highest = condemned[0];
    if (highest) actions.push({ type: 'deletePod', pod: highest[1], why: 'scaleDown' });
  }

  // Claims follow the retention policy: owner references for whenDeleted, deletion for whenScaled.
  for (const claim of state.claims) {
    const ordinal = claimOrdinalOf(set, claim.metadata.name ?? '');
    if (ordinal === undefined || claim.metadata.deletionTimestamp) continue;
    if (!selectorMatches(set.spec.selector, claim.metadata.labels)) continue;
    if (ordinal >= replicas && policy.whenScaled === 'Delete') {
      if (!pods.has(ordinal)) actions.push({ type: 'deleteClaim', claim });
      continue;
    }
    const updated = claimWithPolicyOwner(claim, set);
    if (updated) actions.push({ type: 'updateClaim', claim: updated });
  }

  const status = computeStatus(set, pods, replicas);
  if (statusChanged(set, status)) actions.push({ type: 'updateStatus', status });
  return actions;
}
