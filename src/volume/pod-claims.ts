// Which claims a pod uses: its persistentVolumeClaim volumes, and the claim Kubernetes creates
// for each generic ephemeral volume ("<pod name>-<volume name>").
import type { Pod } from '../api/types.js';

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
