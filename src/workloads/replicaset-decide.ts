// One ReplicaSet sync, pure: the set and its namespace's pods in, the writes that bring the number
// of its active pods to spec.replicas out (at most BURST creations per sync, surplus pods deleted
// in deletion order), and its status as observed.
import type { Pod } from '../api/types.js';
import type { ReplicaSet, ReplicaSetStatus } from '../api/workload-types.js';
import { selectorMatches } from '../volume/match.js';
import { isPodReady } from './decide.js';
import {
  controlledBy,
  count,
  deletionOrder,
  isPodActive,
  isPodAvailable,
  podFromTemplate,
} from './owned-pods.js';
import type { WorkloadAction, WorkloadPlan } from './workload-actions.js';

/** Kubernetes' burstReplicas: pods created or deleted by one sync. */
export const BURST = 500;

export interface ReplicaSetState {
  set: ReplicaSet;
  pods: readonly Pod[];
  now: Date;
}

function statusOf(set: ReplicaSet, active: readonly Pod[], now: Date): ReplicaSetStatus {
  const minReady = count(set.spec.minReadySeconds, 0);
  const labels = set.spec.template.metadata?.labels ?? {};
  return {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) =>
      Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v),
    ).length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((p) => isPodAvailable(p, minReady, now)).length,
    ...(set.metadata.generation !== undefined ? { observedGeneration: set.metadata.generation } : {}),
  };
}

function statusChanged(old: ReplicaSetStatus | undefined, next: ReplicaSetStatus): boolean {
  return (Object.keys(next) as (keyof ReplicaSetStatus)[]).some((k) => (old ?? {})[k] !== next[k]);
}

export function decideReplicaSet(state: ReplicaSetState): WorkloadPlan {
  const { set, now } = state;
  if (set.metadata.deletionTimestamp) return { actions: [] };
  const replicas = count(set.spec.replicas, 1);
  const active = controlledBy(state.pods, set).filter(
    (p) => isPodActive(p) && selectorMatches(set.spec.selector, p.metadata.labels),
  );
  const actions: WorkloadAction[] = [];
  const diff = active.length - replicas;
  if (diff < 0) {
    for (let i = 0; i < Math.min(-diff, BURST); i++) {
      actions.push({
        type: 'create',
        kind: 'Pod',
        object: podFromTemplate(set, set.spec.template),
        event: { type: 'Normal', reason: 'SuccessfulCreate', message: (name) => `Created pod: ${name}` },
      });
    }
  } else if (diff > 0) {
    for (const pod of deletionOrder(active).slice(0, Math.min(diff, BURST))) {
      actions.push({
        type: 'delete',
        kind: 'Pod',
        object: pod,
        event: { type: 'Normal', reason: 'SuccessfulDelete', message: (name) => `Deleted pod: ${name}` },
      });
    }
  }
  const status = statusOf(set, active, now);
  if (statusChanged(set.status, status)) actions.push({ type: 'status', status: { ...status } });
  // A pod that is ready but not yet available becomes available by the clock alone.
  const minReady = count(set.spec.minReadySeconds, 0);
  const waiting = minReady > 0 && status.availableReplicas !== status.readyReplicas;
  return { actions, ...(waiting ? { requeueAfterMs: minReady * 1000 } : {}) };
}
