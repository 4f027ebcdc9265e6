// Writes for scheduling decisions. Every write is compare-and-swap on the resourceVersion the
// decision read, so two passes (or two schedulers) racing for one volume cannot both win: the
// loser gets a Conflict and decides again from fresher objects.
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { PersistentVolume, PersistentVolumeClaim, Pod, PodCondition } from '../api/types.js';
import type { Clock } from '../machinery/clock.js';
import { ANN_BOUND_BY_CONTROLLER, ANN_SELECTED_NODE, ANN_YES } from '../volume/annotations.js';
import type { ObjectStore } from '../store/types.js';
import type { VolumeAction } from './decide.js';

/** The part of machinery's EventRecorder the scheduler uses. */
export interface EventSink {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface SchedulerApplierDeps {
  store: ObjectStore;
  clock: Clock;
  /** Told about every object a write returned, so the next decision does not read an older copy. */
  onWritten?: (obj: KubeObject) => void;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The volume with its claimRef pointing at the claim, as Kubernetes' GetBindVolumeToClaim makes it. */
export function volumeBoundTo(volume: PersistentVolume, claim: PersistentVolumeClaim): PersistentVolume {
  const next = structuredClone(volume);
  next.spec.claimRef = {
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    namespace: claim.metadata.namespace ?? '',
    name: claim.metadata.name ?? '',
    ...(claim.metadata.uid !== undefined ? { uid: claim.metadata.uid } : {}),
  };
  next.metadata.annotations = { ...next.metadata.annotations, [ANN_BOUND_BY_CONTROLLER]: ANN_YES };
  return next;
}

export function claimWithSelectedNode(claim: PersistentVolumeClaim, node: string): PersistentVolumeClaim {
  const next = structuredClone(claim);
  next.metadata.annotations = { ...next.metadata.annotations, [ANN_SELECTED_NODE]: node };
  return next;
}

/** The pod's conditions with PodScheduled set; undefined when nothing would change. */
export interface ScheduledCondition {
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

export function withScheduledCondition(
  pod: Pod,
  condition: ScheduledCondition,
  now: Date,
): PodCondition[] | undefined {
  const conditions = pod.status?.conditions ?? [];
  const old = conditions.find((c) => c.type === 'PodScheduled');
  if (
    old &&
    old.status === condition.status &&
    old.reason === condition.reason &&
    old.message === condition.message
  ) {
    return undefined;
  }
  const lastTransitionTime = old && old.status === condition.status ? old.lastTransitionTime : timestamp(now);
  const next: PodCondition = {
    type: 'PodScheduled',
    ...condition,
    ...(lastTransitionTime ? { lastTransitionTime } : {}),
  };
  return [...conditions.filter((c) => c.type !== 'PodScheduled'), next];
}

export class SchedulerApplier {
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly onWritten: (obj: KubeObject) => void;

  constructor(deps: SchedulerApplierDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.onWritten = deps.onWritten ?? (() => undefined);
  }

  /** Performs the volume writes in order; stops at the first failure. */
  async applyVolumeActions(actions: readonly VolumeAction[]): Promise<void> {
    for (const action of actions) {
      if (action.type === 'bindVolume') {
        this.onWritten(await this.store.update(K.pv, volumeBoundTo(action.volume, action.claim)));
      } else {
        this.onWritten(await this.store.update(K.pvc, claimWithSelectedNode(action.claim, action.node)));
      }
    }
  }

  /** Sets spec.nodeName through pods/binding (compare-and-swap), then marks the pod scheduled. */
  async bindPod(pod: Pod, node: string): Promise<Pod> {
    const next = structuredClone(pod);
    next.spec.nodeName = node;
    const bound = await this.store.update(K.pod, next, { subresource: 'binding' });
    this.onWritten(bound);
    await this.setScheduledCondition(bound, { status: 'True' });
    return bound;
  }

  /** Records why the pod waits in its PodScheduled condition (best effort: the event says it too). */
  async markUnschedulable(pod: Pod, message: string): Promise<void> {
    await this.setScheduledCondition(pod, { status: 'False', reason: 'Unschedulable', message });
  }

  private async setScheduledCondition(pod: Pod, condition: ScheduledCondition): Promise<void> {
    const conditions = withScheduledCondition(pod, condition, this.clock.now());
    if (!conditions) return;
    const next: Pod = { ...pod, status: { ...pod.status, conditions } };
    try {
      this.onWritten(await this.store.update(K.pod, next, { subresource: 'status' }));
    } catch {
      // Someone else (the node agent) wrote the status first; the condition is informational.
    }
  }
}
