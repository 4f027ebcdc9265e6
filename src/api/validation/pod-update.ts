// What a pod update may change (upstream ValidatePodUpdate): images, activeDeadlineSeconds (set or
// lowered), tolerations (added, or tolerationSeconds changed) and the grace-period fix-up.
import { type FieldError, fieldError, root } from '../field-errors.js';
import type { Pod, PodSpec, Toleration } from '../types.js';
import { same } from './same.js';

const MAX_INT32 = 2147483647;

const POD_IMMUTABLE =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** A deadline may be set, or lowered; never raised or removed. */
function activeDeadlineUpdate(next: number | undefined, previous: number | undefined): FieldError[] {
  const path = root('spec').child('activeDeadlineSeconds').value;
  if (next === undefined) {
    return previous === undefined
      ? []
      : [fieldError.invalid(path, null, 'must not update from a positive integer to nil value')];
  }
  if (next < 0 || next > MAX_INT32)
    return [fieldError.invalid(path, next, `must be between 0 and ${MAX_INT32}, inclusive`)];
  if (previous !== undefined && previous < next)
    return [fieldError.invalid(path, next, 'must be less than or equal to previous value')];
  return [];
}

/** Every existing toleration must still be there, equal but for its tolerationSeconds. */
function tolerationsUpdate(next: Toleration[] = [], previous: Toleration[] = []): FieldError[] {
  const kept = (t: Toleration) => next.some((n) => same({ ...t, tolerationSeconds: n.tolerationSeconds }, n));
  if (previous.every(kept)) return [];
  return [
    fieldError.forbidden(
      root('spec').child('tolerations').value,
      'existing toleration can not be modified except its tolerationSeconds',
    ),
  ];
}

export function podUpdate(pod: Pod, old: Pod): FieldError[] {
  const deadline = activeDeadlineUpdate(pod.spec.activeDeadlineSeconds, old.spec.activeDeadlineSeconds);
  if (deadline.length > 0) return deadline; // as upstream: a bad deadline is the only error reported
  const errs = tolerationsUpdate(pod.spec.tolerations, old.spec.tolerations);
  const oldGrace = old.spec.terminationGracePeriodSeconds;
  // the fields checked above, and images, are taken from the old spec before comparing the rest
  const munged = (s: PodSpec, from: PodSpec) => ({
    ...s,
    nodeName: s.nodeName ?? '', // set only through pods/binding
    containers: (s.containers ?? []).map((c) => ({ ...c, image: undefined })),
    initContainers: (s.initContainers ?? []).map((c) => ({ ...c, image: undefined })),
    activeDeadlineSeconds: from.activeDeadlineSeconds,
    tolerations: from.tolerations,
    terminationGracePeriodSeconds:
      oldGrace !== undefined && oldGrace < 0 && s.terminationGracePeriodSeconds === 1
        ? oldGrace
        : s.terminationGracePeriodSeconds,
  });
  if (!same(munged(pod.spec, old.spec), munged(old.spec, old.spec)))
    errs.push(fieldError.forbidden('spec', POD_IMMUTABLE));
  return errs;
}
