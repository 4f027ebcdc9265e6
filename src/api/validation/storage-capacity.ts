// Validation of CSIStorageCapacity (pkg/apis/storage/validation upstream): the class it reports
// for is a required DNS subdomain, the topology a valid label selector, the sizes non-negative
// quantities; the two inputs of the GetCapacity call it records (class, topology) never change.
import { type FieldError, fieldError, root } from '../field-errors.js';
import type { CSIStorageCapacity } from '../types.js';
import { quantityAt, subdomainAt, validateLabelSelector } from './common.js';
import { same } from './same.js';

export function validateCSIStorageCapacity(c: CSIStorageCapacity): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.storageClassName) errs.push(fieldError.required('storageClassName'));
  subdomainAt(c.storageClassName, root('storageClassName'), errs);
  errs.push(...validateLabelSelector(c.nodeTopology, root('nodeTopology')));
  for (const field of ['capacity', 'maximumVolumeSize'] as const) {
    const value = c[field];
    if (value === undefined) continue;
    const q = quantityAt(value, root(field), errs);
    if (q && q.sign() < 0) errs.push(fieldError.invalid(field, value, 'must be greater than or equal to 0'));
  }
  return errs;
}

export function csiStorageCapacityUpdate(c: CSIStorageCapacity, old: CSIStorageCapacity): FieldError[] {
  const errs: FieldError[] = [];
  if (!same(c.nodeTopology, old.nodeTopology))
    errs.push(fieldError.invalid('nodeTopology', c.nodeTopology, 'field is immutable'));
  if (c.storageClassName !== old.storageClassName)
    errs.push(fieldError.invalid('storageClassName', c.storageClassName, 'field is immutable'));
  return errs;
}
