// Rules about pods that several controllers share: when a pod no longer holds its volumes (the one
// rule the binder, attach/detach, the resizer and the node agent share), and which claims it uses.
import type { Pod } from '../api/types.js';

/**
 * Kubernetes' volume rule (pkg/volume/util IsPodTerminated): a pod in a terminal phase, or one being
 * deleted none of whose containers runs, or one force-deleted (gone at once in Kubernetes). berth's
 * node agent reports a deleted pod's containers terminated on its next pass; then it tears the volumes down (its finalizer keeps the pod until
 * they are unmounted) and attach/detach detaches once the node no longer reports them in use.
 */
export function isPodTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return true;
  if (pod.metadata.deletionTimestamp === undefined) return false;
  // force-deleted (grace period 0): Kubernetes removes such a pod at once, whatever its node last
  // reported; only the node agent's finalizer keeps the object here, for its mounts' teardown
  if (pod.metadata.deletionGracePeriodSeconds === 0) return true;
  return !(pod.status?.containerStatuses ?? []).some((status) => status.state?.running !== undefined);
}

// A pod's claims: its persistentVolumeClaim volumes, and the claim Kubernetes creates for each
// generic ephemeral volume ("<pod name>-<volume name>").

/** The names of the claims a pod's volumes use, each once. */
export function podClaimNames(pod: Pod): string[] {
  const names: string[] = [];
  for (const v of pod.spec.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) names.push(v.persistentVolumeClaim.claimName);
    else if (v['ephemeral'] !== undefined) names.push(`${pod.metadata.name ?? ''}-${v.name}`);
  }
  return [...new Set(names)];
}

/** "namespace/name" of each claim a pod uses. */
export function podClaimKeys(pod: Pod): string[] {
  const namespace = pod.metadata.namespace ?? '';
  return podClaimNames(pod).map((name) => `${namespace}/${name}`);
}
