// How a node's health is told, shared by the node agent (which heartbeats), the node lifecycle
// controller (which judges the heartbeat) and the attach/detach controller (which detaches from
// unhealthy nodes): the kube-node-lease Lease, the Ready condition and the node taints, with
// Kubernetes' names and defaults.
import type { Node, Toleration } from '../api/types.js';

/** Where each node's heartbeat Lease lives (named after the node). */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** kubelet's --node-lease-duration-seconds default; it renews every quarter of it. */
export const NODE_LEASE_DURATION_SECONDS = 40;
export const NODE_LEASE_RENEW_MS = (NODE_LEASE_DURATION_SECONDS * 1000) / 4;
/** kube-controller-manager --node-monitor-grace-period default. */
export const DEFAULT_NODE_MONITOR_GRACE_MS = 40_000;

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
/** Set by an administrator once a node is known to be shut down (non-graceful node shutdown). */
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
  timeAdded?: string;
}

export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

/** RFC 3339 with whole seconds (metav1.Time). */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with microseconds (metav1.MicroTime, as Lease times are). */
export function microTime(d: Date): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

/** Node status and spec are not schema-checked: read only the entries that are objects. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function nodeConditions(node: Node | undefined): NodeCondition[] {
  const conditions: unknown = node?.status?.conditions;
  return Array.isArray(conditions) ? (conditions.filter(isRecord) as unknown as NodeCondition[]) : [];
}

export function readyCondition(node: Node | undefined): NodeCondition | undefined {
  return nodeConditions(node).find((c) => c.type === 'Ready');
}

/** Healthy as the attach/detach controller means it: the Ready condition is True. */
export function isNodeReady(node: Node | undefined): boolean {
  return readyCondition(node)?.status === 'True';
}

export function nodeTaints(node: Node | undefined): Taint[] {
  const taints = (node?.spec as { taints?: unknown } | undefined)?.taints;
  return Array.isArray(taints) ? (taints.filter(isRecord) as unknown as Taint[]) : [];
}

/** Kubernetes checks the out-of-service taint by key, whatever its effect. */
export function hasOutOfServiceTaint(node: Node | undefined): boolean {
  return nodeTaints(node).some((t) => t.key === TAINT_OUT_OF_SERVICE);
}

/**
 * Whether one of the pod's tolerations tolerates the taint, as Kubernetes matches them: an empty
 * effect matches every effect; an empty key with operator Exists matches every key; Exists ignores
 * the value, Equal (the default) compares it.
 */
export function toleratesTaint(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false;
    if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false;
    if (t.operator === 'Exists') return true;
    return (t.value ?? '') === (taint.value ?? '');
  });
}

/** The first NoSchedule/NoExecute taint of the node the pod does not tolerate (PreferNoSchedule never blocks). */
export function untoleratedTaint(
  node: Node,
  tolerations: readonly Toleration[] | undefined,
): Taint | undefined {
  return nodeTaints(node).find(
    (taint) =>
      (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !toleratesTaint(tolerations, taint),
  );
}
