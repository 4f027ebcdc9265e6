// DefaultTolerationSeconds, as the Kubernetes API server's admission plugin: a new pod that does
// not tolerate the not-ready and unreachable NoExecute taints (by key or with an empty key, and an
// empty or NoExecute effect) gets tolerations of them for 300 s, so the taint eviction controller
// moves it off a failed node after 5 min rather than at once.
import type { KubeObject } from '../api/meta.js';
import type { Toleration } from '../api/types.js';
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from '../volume/node-health.js';

/** --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds. */
export const DEFAULT_TOLERATION_SECONDS = 300;

function tolerates(tolerations: readonly Toleration[], key: string): boolean {
  return tolerations.some((t) => (!t.key || t.key === key) && (!t.effect || t.effect === 'NoExecute'));
}

export function withDefaultTolerations(obj: KubeObject): KubeObject {
  if (obj.kind !== 'Pod') return obj;
  const spec = (obj['spec'] ?? {}) as { tolerations?: unknown };
  if (spec.tolerations !== undefined && !Array.isArray(spec.tolerations)) return obj; // validation says why
  const tolerations = (spec.tolerations ?? []) as Toleration[];
  const added = [TAINT_NOT_READY, TAINT_UNREACHABLE]
    .filter((key) => !tolerates(tolerations, key))
    .map((key) => ({
      key,
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: DEFAULT_TOLERATION_SECONDS,
    }));
  if (added.length === 0) return obj;
  return { ...obj, spec: { ...spec, tolerations: [...tolerations, ...added] } };
}
