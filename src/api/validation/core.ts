// Validation of the small core kinds berth stores: Namespace, Node, Secret, Event, Lease.
import { type FieldError, fieldError, root } from '../field-errors.js';
import type { Event, Lease, Secret } from '../types.js';

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
