// The words the scheduler uses: Kubernetes' filter reasons (verbatim where upstream has them) and
// its FailedScheduling message, "0/N nodes are available: <count> <reason>, ...", reasons
// sorted as strings the way the scheduler framework's FitError prints them.

export const SCHEDULER_NAME = 'default-scheduler';

export const EVENT_FAILED_SCHEDULING = 'FailedScheduling';
export const EVENT_SCHEDULED = 'Scheduled';

/** VolumeBinding plugin reasons (upstream ErrReason*). */
export const REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const REASON_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const REASON_NOT_ENOUGH_SPACE = 'node(s) did not have enough free storage';
export const REASON_PV_NOT_EXIST =
  'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';

/** VolumeRestrictions plugin: another scheduled pod already uses a ReadWriteOncePod claim of this pod. */
export const REASON_RWOP_CONFLICT =
  'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';

/** Node filters that run before volume binding. */
export const REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_NOT_READY = 'node(s) were not ready';
export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';

/** TaintToleration plugin: the node has a NoSchedule/NoExecute taint the pod does not tolerate. */
export function untoleratedTaintReason(key: string, value: string | undefined): string {
  return `node(s) had untolerated taint {${key}: ${value ?? ''}}`;
}

/** PreFilter messages: the pod cannot be placed on any node until its claims change. */
export const MSG_UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';

export function claimNotFoundMessage(name: string): string {
  return `persistentvolumeclaim "${name}" not found`;
}

export function claimLostMessage(name: string, volumeName: string): string {
  return `persistentvolumeclaim "${name}" bound to non-existent persistentvolume "${volumeName}"`;
}

export function claimDeletingMessage(name: string): string {
  return `persistentvolumeclaim "${name}" is being deleted`;
}

/**
 * The FailedScheduling message. `preFilter` is a reason that applied to every node at once;
 * otherwise every node's reasons are counted, and the counts printed in string order.
 */
export function fitErrorMessage(
  nodeCount: number,
  nodeReasons: ReadonlyMap<string, readonly string[]>,
  preFilter?: string,
): string {
  if (nodeCount === 0 && preFilter === undefined) return 'no nodes available to schedule pods';
  let message = `0/${nodeCount} nodes are available:`;
  if (preFilter !== undefined) message += ` ${preFilter}.`;
  const histogram = new Map<string, number>();
  for (const reasons of nodeReasons.values()) {
    for (const reason of reasons) histogram.set(reason, (histogram.get(reason) ?? 0) + 1);
  }
  const counted = [...histogram].map(([reason, count]) => `${count} ${reason}`).sort();
  if (counted.length > 0) message += ` ${counted.join(', ')}.`;
  return message;
}

/** For a pod that arrived with spec.nodeName: why its volumes cannot be provided on that node. */
export function assignedNodeMessage(node: string, reasons: readonly string[]): string {
  return `volumes of the pod cannot be provided on its assigned node "${node}": ${reasons.join(', ')}`;
}
