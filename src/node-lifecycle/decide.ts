// The node lifecycle controller's decision (PURE), as Kubernetes' node lifecycle controller judges
// node health. A node is probed by its heartbeats: the Ready condition's lastHeartbeatTime and the
// renewTime of its Lease in kube-node-lease. Whenever either changes, the probe time becomes the
// controller's own now (so clock skew between hosts does not matter). A node not probed within the
// grace period (--node-monitor-grace-period, 40 s; 60 s for a node that never posted a status) has
// its conditions set to Unknown ("Kubelet stopped posting node status."). Taints follow the Ready
// condition: Unknown -> node.kubernetes.io/unreachable, False -> node.kubernetes.io/not-ready, each
// with NoSchedule and NoExecute; True removes them. Recovery is the node agent posting Ready=True.
import type { Lease, Node } from '../api/types.js';
import {
  type NodeCondition,
  nodeConditions,
  nodeTaints,
  rfc3339,
  type Taint,
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
} from '../volume/node-health.js';

/** kube-controller-manager's --node-startup-grace-period default. */
export const DEFAULT_NODE_STARTUP_GRACE_MS = 60_000;

/** The conditions Kubernetes sets to Unknown when the kubelet goes quiet (Ready is added if missing). */
const WATCHED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

/** What the controller last saw of a node's heartbeats, and when (its own clock). */
export interface NodeProbe {
  heartbeat: string | undefined;
  leaseRenew: string | undefined;
  probeAtMs: number;
}

export interface HealthTiming {
  gracePeriodMs: number;
  startupGracePeriodMs: number;
}

export type NodeLifecycleAction =
  { kind: 'SetConditions'; conditions: NodeCondition[] } | { kind: 'SetTaints'; taints: Taint[] };

export interface NodeDecision {
  probe: NodeProbe;
  actions: NodeLifecycleAction[];
  /** When to look again if nothing changes (the grace period running out); undefined: no need. */
  recheckAfterMs: number | undefined;
}

/** The probe after seeing `node` and its `lease` at `nowMs`: moved only by a new heartbeat. */
export function observeNode(
  previous: NodeProbe | undefined,
  node: Node,
  lease: Lease | undefined,
  nowMs: number,
): NodeProbe {
  const heartbeat = nodeConditions(node).find((c) => c.type === 'Ready')?.lastHeartbeatTime;
  const leaseRenew = lease?.spec.renewTime;
  const changed =
    previous === undefined || previous.heartbeat !== heartbeat || previous.leaseRenew !== leaseRenew;
  return { heartbeat, leaseRenew, probeAtMs: changed ? nowMs : previous.probeAtMs };
}

/** The node's conditions once its heartbeat is overdue; undefined when nothing changes. */
function staleConditions(node: Node, now: Date): NodeCondition[] | undefined {
  const conditions = nodeConditions(node);
  const byType = new Map(conditions.map((c) => [c.type, c]));
  const nowText = rfc3339(now);
  let changed = false;
  const next = conditions.map((c) => {
    if (!WATCHED_CONDITIONS.includes(c.type) || c.status === 'Unknown') return c;
    changed = true;
    return {
      ...c,
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      lastTransitionTime: nowText,
    };
  });
  if (!byType.has('Ready')) {
    changed = true;
    next.push({
      type: 'Ready',
      status: 'Unknown',
      reason: 'NodeStatusNeverUpdated',
      message: 'Kubelet never posted node status.',
      lastHeartbeatTime: node.metadata.creationTimestamp ?? nowText,
      lastTransitionTime: nowText,
    });
  }
  return changed ? next : undefined;
}

/** The taint key the Ready status calls for (none for True or no condition). */
function readinessTaintKey(ready: NodeCondition | undefined): string | undefined {
  if (ready?.status === 'Unknown') return TAINT_UNREACHABLE;
  if (ready?.status === 'False') return TAINT_NOT_READY;
  return undefined;
}

/** The node's taints with the readiness taints matching `ready`; undefined when they already do. */
export function taintsFor(node: Node, ready: NodeCondition | undefined, now: Date): Taint[] | undefined {
  const current = nodeTaints(node);
  const key = readinessTaintKey(ready);
  const managed = (t: Taint) => t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY;
  const wanted: Taint[] = key
    ? [
        { key, effect: 'NoSchedule' },
        { key, effect: 'NoExecute', timeAdded: rfc3339(now) },
      ]
    : [];
  const kept = wanted.map((w) => current.find((t) => t.key === w.key && t.effect === w.effect) ?? w);
  const next = [...current.filter((t) => !managed(t)), ...kept];
  const same =
    next.length === current.length &&
    next.every((t) => current.some((c) => c.key === t.key && c.effect === t.effect));
  return same ? undefined : next;
}

/** What to do about one node at `now`, given what was last seen of its heartbeats. */
export function decideNode(
  node: Node,
  lease: Lease | undefined,
  previous: NodeProbe | undefined,
  now: Date,
  timing: HealthTiming,
): NodeDecision {
  const nowMs = now.getTime();
  const probe = observeNode(previous, node, lease, nowMs);
  const neverPosted = !nodeConditions(node).some((c) => c.type === 'Ready');
  const grace = neverPosted ? timing.startupGracePeriodMs : timing.gracePeriodMs;
  const overdue = nowMs > probe.probeAtMs + grace;
  const actions: NodeLifecycleAction[] = [];
  let conditions = nodeConditions(node);
  if (overdue) {
    const stale = staleConditions(node, now);
    if (stale) {
      actions.push({ kind: 'SetConditions', conditions: stale });
      conditions = stale;
    }
  }
  const taints = taintsFor(
    node,
    conditions.find((c) => c.type === 'Ready'),
    now,
  );
  if (taints) actions.push({ kind: 'SetTaints', taints });
  // +1: look just after the deadline, not on it
  const recheckAfterMs = overdue ? undefined : probe.probeAtMs + grace - nowMs + 1;
  return { probe, actions, recheckAfterMs };
}
