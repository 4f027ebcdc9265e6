// Node filters that come before volumes: readiness, spec.unschedulable, nodeSelector and required
// node affinity. Pure.
import type { Node, Pod } from '../api/types.js';
import { LABEL_HOSTNAME } from '../volume/annotations.js';
import type { NodeInfo } from '../volume/match.js';
import { nodeSelectorMatches } from '../volume/match.js';
import { REASON_NODE_AFFINITY, REASON_NOT_READY, REASON_UNSCHEDULABLE } from './reasons.js';

export function nodeInfo(node: Node): NodeInfo {
  return { name: node.metadata.name ?? '', labels: node.metadata.labels ?? {} };
}

/** A node we know only by name still carries its hostname label, as every node does. */
export function nodeInfoByName(name: string, node: Node | undefined): NodeInfo {
  return node ? nodeInfo(node) : { name, labels: { [LABEL_HOSTNAME]: name } };
}

export function isNodeReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Pod's nodeSelector (every pair) and required node affinity (any term). */
export function podMatchesNode(pod: Pod, node: NodeInfo): boolean {
  for (const [key, value] of Object.entries(pod.spec.nodeSelector ?? {})) {
    if (node.labels[key] !== value) return false;
  }
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return required ? nodeSelectorMatches(required, node) : true;
}

/** The first reason the node cannot take the pod before volumes are considered, if any. */
export function nodeFilterReason(pod: Pod, node: Node): string | undefined {
  if (node.spec?.['unschedulable'] === true) return REASON_UNSCHEDULABLE;
  if (!isNodeReady(node)) return REASON_NOT_READY;
  if (!podMatchesNode(pod, nodeInfo(node))) return REASON_NODE_AFFINITY;
  return undefined;
}
