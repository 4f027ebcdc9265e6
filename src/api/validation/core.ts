// Validation of the small core kinds berth stores: Namespace, Node, Secret, Event, Lease.
import { type FieldError, fieldError, root } from '../field-errors.js';
import { qualifiedNameErrors } from '../names.js';
import type { Event, Lease, Namespace, Secret } from '../types.js';

const secretKeyRe = /^[-._a-zA-Z0-9]+$/;
const base64Re = /^[A-Za-z0-9+/]*={0,2}$/;

export function validateSecret(secret: Secret): FieldError[] {
  const errs: FieldError[] = [];
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    if (!secretKeyRe.test(key)) {
      errs.push(
        fieldError.invalid(
          root('data').value,
          key,
          "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        ),
      );
    }
    if (value.length % 4 !== 0 || !base64Re.test(value)) {
      errs.push(
        fieldError.invalid(root('data').key(key).value, '<secret contents redacted>', 'illegal base64 data'),
      );
    }
  }
  return errs;
}

export function validateEvent(event: Event): FieldError[] {
  const errs: FieldError[] = [];
  if (!event.involvedObject?.name && !event.involvedObject?.kind) {
    errs.push(fieldError.required(root('involvedObject').value));
  }
  if (event.type !== undefined && event.type !== 'Normal' && event.type !== 'Warning') {
    errs.push(fieldError.notSupported(root('type').value, event.type, ['Normal', 'Warning']));
  }
  return errs;
}

export function validateLease(lease: Lease): FieldError[] {
  const d = lease.spec?.leaseDurationSeconds;
  if (d !== undefined && d <= 0) {
    return [
      fieldError.invalid(root('spec').child('leaseDurationSeconds').value, d, 'must be greater than 0'),
    ];
  }
  return [];
}

/** Finalizer names without a prefix that Kubernetes knows (apimachinery's standard names). */
const standardFinalizers = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

/** spec.finalizers: qualified names, prefixed unless standard (validateFinalizerName). */
export function validateNamespace(namespace: Namespace): FieldError[] {
  const errs = namespacePhaseErrors(namespace);
  const finalizers: unknown = namespace.spec?.['finalizers'];
  if (finalizers === undefined) return errs;
  const path = root('spec').child('finalizers');
  if (!Array.isArray(finalizers)) {
    return [...errs, fieldError.invalid(path.value, finalizers, 'must be a list of names')];
  }
  finalizers.forEach((name: unknown, i) => {
    const at = path.index(i).value;
    if (typeof name !== 'string') {
      errs.push(fieldError.invalid(at, name, 'must be a string'));
      return;
    }
    for (const e of qualifiedNameErrors(name)) errs.push(fieldError.invalid(at, name, e));
    if (!name.includes('/') && !standardFinalizers.has(name)) {
      errs.push(
        fieldError.invalid(at, name, 'name is neither a standard finalizer name nor is it fully qualified'),
      );
    }
  });
  return errs;
}

/** The phase follows deletionTimestamp (ValidateNamespaceStatusUpdate; its path is "status.Phase"). */
function namespacePhaseErrors(namespace: Namespace): FieldError[] {
  const phase = namespace.status?.phase;
  if (phase === undefined) return [];
  const path = root('status').child('Phase').value;
  if (namespace.metadata.deletionTimestamp === undefined) {
    return phase === 'Active'
      ? []
      : [fieldError.invalid(path, phase, "may only be 'Active' if `deletionTimestamp` is empty")];
  }
  return phase === 'Terminating'
    ? []
    : [fieldError.invalid(path, phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")];
}
