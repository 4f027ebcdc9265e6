// One scheduling pass for one pod, pure: filter every node (readiness, selector, affinity,
// volumes), pick one, and say what to write. Binding happens in steps through the store, like
// Kubernetes' PreBind: static volumes get the claimRef, claims to provision get selected-node,
// and only when every claim is Bound does the pod get spec.nodeName. Each pass re-reads that
// state, so a claim whose selected-node a provisioner removed is simply placed again.
import type { PersistentVolume, PersistentVolumeClaim, Pod } from '../api/types.js';
import { ANN_SELECTED_NODE } from '../volume/annotations.js';
import { isVolumeBoundToClaim } from '../volume/match.js';
import { isPodTerminated } from '../volume/pods.js';
import { nodeFilterReason, nodeInfo, nodeInfoByName } from './nodes.js';
import { assignedNodeMessage, fitErrorMessage, REASON_RWOP_CONFLICT, SCHEDULER_NAME } from './reasons.js';
import type { SchedulerView } from './view.js';
import type { PodVolumes } from './volumes.js';
import { findPodVolumes, podClaims } from './volumes.js';

export type VolumeAction =
  /** Pre-bind a static volume to the claim; the PV controller completes the bind. */
  | { type: 'bindVolume'; volume: PersistentVolume; claim: PersistentVolumeClaim }
  /** Ask for provisioning on the node (volume.kubernetes.io/selected-node). */
  | { type: 'selectNode'; claim: PersistentVolumeClaim; node: string };

export type ScheduleDecision =
  /** Nothing for the scheduler to do with this pod. */
  | { outcome: 'ignore'; why: string }
  /** No node fits; `message` is the FailedScheduling text. */
  | { outcome: 'unschedulable'; message: string; nodeReasons: Map<string, string[]> }
  /**
   * `node` is chosen. Perform `actions`; when `bindPod` is true every claim is Bound and the pod
   * gets spec.nodeName now; otherwise wait for `waitingFor` claims to become Bound.
   */
  | {
      outcome: 'place';
      node: string;
      actions: VolumeAction[];
      waitingFor: string[];
      bindPod: boolean;
    };

function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function volumeActions(podVolumes: PodVolumes, node: string): VolumeAction[] {
  const actions: VolumeAction[] = [];
  for (const { claim, volume } of podVolumes.staticBindings) {
    // Already pre-bound by an earlier pass (or a user): the PV controller finishes it.
    if (!isVolumeBoundToClaim(volume, claim)) actions.push({ type: 'bindVolume', volume, claim });
  }
  for (const claim of podVolumes.provisions) {
    if (claim.metadata.annotations?.[ANN_SELECTED_NODE] !== node) {
      actions.push({ type: 'selectNode', claim, node });
    }
  }
  return actions;
}

/** Spread: fewest pods first, then name, so equal nodes are chosen the same way every time. */
function pickNode(candidates: readonly string[], view: SchedulerView): string | undefined {
  return [...candidates].sort(
    (a, b) => view.podCountOnNode(a) - view.podCountOnNode(b) || (a < b ? -1 : 1),
  )[0];
}

export function decideSchedule(pod: Pod, view: SchedulerView): ScheduleDecision {
  if (pod.metadata.deletionTimestamp) return { outcome: 'ignore', why: 'pod is being deleted' };
  if (isTerminal(pod)) return { outcome: 'ignore', why: 'pod has finished' };
  const schedulerName = pod.spec.schedulerName;
  if (schedulerName !== undefined && schedulerName !== SCHEDULER_NAME) {
    return { outcome: 'ignore', why: `pod is for scheduler ${schedulerName}` };
  }
  return pod.spec.nodeName ? decideAssigned(pod, pod.spec.nodeName, view) : decideUnassigned(pod, view);
}

function decideUnassigned(pod: Pod, view: SchedulerView): ScheduleDecision {
  const nodes = view.nodes();
  const claims = podClaims(pod, view);
  if (!claims.ok) {
    return {
      outcome: 'unschedulable',
      message: fitErrorMessage(nodes.length, new Map(), claims.message),
      nodeReasons: new Map(),
    };
  }
  const nodeReasons = new Map<string, string[]>();
  if (readWriteOncePodConflict(pod, [...claims.claims.bound, ...claims.claims.delayed], view)) {
    for (const node of nodes) nodeReasons.set(node.metadata.name ?? '', [REASON_RWOP_CONFLICT]);
    return { outcome: 'unschedulable', message: fitErrorMessage(nodes.length, nodeReasons), nodeReasons };
  }
  const feasible = new Map<string, PodVolumes>();
  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    const reason = nodeFilterReason(pod, node);
    if (reason) {
      nodeReasons.set(name, [reason]);
      continue;
    }
    const result = findPodVolumes(claims.claims, nodeInfo(node), view);
    if (result.reasons.length > 0) nodeReasons.set(name, result.reasons);
    else feasible.set(name, result.podVolumes);
  }
  const chosen = pickNode([...feasible.keys()], view);
  const podVolumes = chosen !== undefined ? feasible.get(chosen) : undefined;
  if (chosen === undefined || !podVolumes) {
    return { outcome: 'unschedulable', message: fitErrorMessage(nodes.length, nodeReasons), nodeReasons };
  }
  return placement(chosen, podVolumes, claims.claims.delayed, true);
}

/**
 * Kubernetes' VolumeRestrictions rule: a ReadWriteOncePod claim admits one pod. Another pod
 * already placed on a node (and not terminated) that uses one of this pod's RWOP claims makes
 * every node unfit until that pod is gone.
 */
function readWriteOncePodConflict(
  pod: Pod,
  claims: readonly PersistentVolumeClaim[],
  view: SchedulerView,
): boolean {
  return claims.some(
    (claim) =>
      (claim.spec.accessModes ?? []).includes('ReadWriteOncePod') &&
      view
        .podsUsingClaim(claim.metadata.namespace ?? '', claim.metadata.name ?? '')
        .some(
          (other) =>
            other.metadata.uid !== pod.metadata.uid && other.spec.nodeName && !isPodTerminated(other),
        ),
  );
}

/**
 * A pod that arrived with spec.nodeName: Kubernetes would leave its WaitForFirstConsumer claims
 * pending forever; berth binds or provisions them on that node.
 */
function decideAssigned(pod: Pod, nodeName: string, view: SchedulerView): ScheduleDecision {
  const claims = podClaims(pod, view);
  if (!claims.ok) return { outcome: 'ignore', why: claims.message };
  if (claims.claims.delayed.length === 0)
    return { outcome: 'ignore', why: 'pod is assigned and its claims are bound' };
  const node = nodeInfoByName(nodeName, view.node(nodeName));
  const result = findPodVolumes({ bound: [], delayed: claims.claims.delayed }, node, view);
  if (result.reasons.length > 0) {
    const nodeReasons = new Map([[nodeName, result.reasons]]);
    return { outcome: 'unschedulable', message: assignedNodeMessage(nodeName, result.reasons), nodeReasons };
  }
  return placement(nodeName, result.podVolumes, claims.claims.delayed, false);
}

function placement(
  node: string,
  podVolumes: PodVolumes,
  delayed: readonly PersistentVolumeClaim[],
  canBindPod: boolean,
): ScheduleDecision {
  // Delayed claims are unbound by definition: each one is still to be bound by the PV controller.
  const waitingFor = delayed.map((c) => c.metadata.name ?? '');
  return {
    outcome: 'place',
    node,
    actions: volumeActions(podVolumes, node),
    waitingFor,
    bindPod: canBindPod && waitingFor.length === 0,
  };
}
