// Taint-based eviction (PURE), as Kubernetes' taint eviction controller decides it. A pod bound to
// a node with NoExecute taints is deleted at once if one of the taints is not tolerated; if every
// taint is tolerated, it is deleted after the smallest tolerationSeconds of the tolerations used
// (0 or less: at once; none set: never). The count starts when the eviction was first wanted: the
// earliest timeAdded of the node's NoExecute taints, or, for taints without one, when this
// controller first saw the pod under them (so a new leader keeps a taint's deadline).
// The API server gives every pod the default tolerations (not-ready and unreachable, NoExecute,
// 300 s: DefaultTolerationSeconds), so a pod leaves a node that stopped reporting after 5 min.
import type { Node, Pod, Toleration } from '../api/types.js';
import {
  hasOutOfServiceTaint,
  isNodeReady,
  nodeTaints,
  type Taint,
  toleratesTaint,
} from '../volume/node-health.js';

export type EvictionDecision =
  | { kind: 'Keep' }
  | { kind: 'Evict'; reason: string }
  | { kind: 'EvictLater'; atMs: number; startMs: number };

/** The smallest tolerationSeconds of the tolerations in use, in ms; undefined: tolerated forever. */
export function minTolerationMs(used: readonly Toleration[]): number | undefined {
  let min: number | undefined;
  for (const toleration of used) {
    const seconds = toleration.tolerationSeconds;
    if (seconds === undefined || seconds === null) continue;
    if (seconds <= 0) return 0;
    min = Math.min(min ?? Infinity, seconds * 1000);
  }
  return min;
}

function addedAtMs(taint: Taint): number | undefined {
  const ms = taint.timeAdded ? Date.parse(taint.timeAdded) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * What to do about `pod` at `nowMs` given its `node`; `firstSeenMs` is when this controller first
 * wanted to evict it (undefined: now).
 */
export function decideTaintEviction(
  pod: Pod,
  node: Node | undefined,
  nowMs: number,
  firstSeenMs?: number,
): EvictionDecision {
  if (!node || !pod.spec.nodeName || pod.metadata.deletionTimestamp) return { kind: 'Keep' };
  const taints = nodeTaints(node).filter((t) => t.effect === 'NoExecute');
  if (taints.length === 0) return { kind: 'Keep' };
  const tolerations = pod.spec.tolerations ?? [];
  const used = new Set<Toleration>();
  for (const taint of taints) {
    const matching = tolerations.filter((t) => toleratesTaint([t], taint));
    if (matching.length === 0) {
      return { kind: 'Evict', reason: `untolerated taint {${taint.key}: ${taint.value ?? ''}}` };
    }
    for (const t of matching) used.add(t);
  }
  const waitMs = minTolerationMs([...used]);
  if (waitMs === undefined) return { kind: 'Keep' };
  const startMs = Math.min(firstSeenMs ?? nowMs, ...taints.map((t) => addedAtMs(t) ?? Infinity));
  const atMs = startMs + waitMs;
  if (nowMs >= atMs) {
    return { kind: 'Evict', reason: `tolerated NoExecute taints for ${waitMs / 1000}s` };
  }
  return { kind: 'EvictLater', atMs, startMs };
}

/**
 * Kubernetes' pod garbage collector for non-graceful node shutdown (gcTerminating): a pod being
 * deleted on a node that is not Ready and carries the node.kubernetes.io/out-of-service taint will
 * never be confirmed by its node, so it is marked Failed and force-deleted (grace period 0); its
 * volumes can then be detached at once.
 */
export function isStrandedOnOutOfServiceNode(pod: Pod, node: Node | undefined): boolean {
  const phase = pod.status?.phase;
  if (!pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed') return false;
  return node !== undefined && !isNodeReady(node) && hasOutOfServiceTaint(node);
}
