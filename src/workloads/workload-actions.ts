// The writes the ReplicaSet, Deployment and Job controllers decide on. An event is recorded on
// the object being synced once its write succeeded; its message may name the created object,
// whose name the store picks (generateName).
import type { KubeObject } from '../api/meta.js';

export type WorkloadKind = 'Pod' | 'ReplicaSet';

export interface WorkloadEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  /** The message, given the name of the object written. */
  message: (name: string) => string;
}

export type WorkloadAction =
  | { type: 'create'; kind: WorkloadKind; object: KubeObject; event?: WorkloadEvent }
  | { type: 'delete'; kind: WorkloadKind; object: KubeObject; event?: WorkloadEvent }
  /** Compare-and-swap on the object's resourceVersion: a stale cache retries the sync. */
  | { type: 'update'; kind: WorkloadKind; object: KubeObject; event?: WorkloadEvent }
  | { type: 'status'; status: Record<string, unknown>; event?: WorkloadEvent };

export interface WorkloadPlan {
  actions: WorkloadAction[];
  /** Sync again after this long (a back-off or a minReadySeconds wait is running). */
  requeueAfterMs?: number;
}
