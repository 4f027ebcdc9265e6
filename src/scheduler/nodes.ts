// Node filters that come before volumes, in the order of the scheduler's filter plugins
// (NodeUnschedulable, TaintToleration, NodeAffinity), with readiness kept as a filter of its own
// for nodes no lifecycle controller taints. The first failing filter is the node's reason. Pure.
import type { Node, Pod } from '../api/types.js';
import { LABEL_HOSTNAME } from '../volume/annotations.js';
import type { NodeInfo } from '../volume/match.js';
import { isNodeReady, toleratesTaint, untoleratedTaint } from '../volume/node-health.js';
import { nodeSelectorMatches } from '../volume/match.js';
import {
  REASON_NODE_AFFINITY,
  REASON_NOT_READY,
  REASON_UNSCHEDULABLE,
  untoleratedTaintReason,
} from './reasons.js';

/** Kubernetes' taint for spec.unschedulable; a pod that tolerates it may still go there. */
const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

export function nodeInfo(node: Node): NodeInfo {
  return { name: node.metadata.name ?? '', labels: node.metadata.labels ?? {} };
}

/** A node we know only by name still carries its hostname label, as every node does. */
export function nodeInfoByName(name: string, node: Node | undefined): NodeInfo {
  return node ? nodeInfo(node) : { name, labels: { [LABEL_HOSTNAME]: name } };
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
  const tolerations = pod.spec.tolerations;
  const cordoned = node.spec?.['unschedulable'] === true;
  if (cordoned && !toleratesTaint(tolerations, { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' })) {
    return REASON_UNSCHEDULABLE;
  }
  const taint = untoleratedTaint(node, tolerations);
  if (taint) return untoleratedTaintReason(taint.key, taint.value);
  if (!isNodeReady(node)) return REASON_NOT_READY;
  if (!podMatchesNode(pod, nodeInfo(node))) return REASON_NODE_AFFINITY;
  return undefined;
}
