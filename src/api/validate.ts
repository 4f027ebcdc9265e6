// Entry points the API server uses for every write: decode (types, unknown fields), default,
// validate. Errors are StatusErrors worded like the Kubernetes API server's.
import { decodeObject } from './decode.js';
import { applyDefaults } from './defaults.js';
import { type FieldError, invalidError, root } from './field-errors.js';
import type { KindInfo } from './kinds.js';
import type { KubeObject } from './meta.js';
import { dns1123LabelErrors, dns1123SubdomainErrors } from './names.js';
import type {
  CSIDriver,
  CSINode,
  Event,
  Lease,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Secret,
  StatefulSet,
  StorageClass,
  VolumeAttachment,
} from './types.js';
import { validateObjectMeta } from './validation/common.js';
import { validateEvent, validateLease, validateSecret } from './validation/core.js';
import {
  validateCSIDriver,
  validateCSINode,
  validateClaimSpec,
  validatePersistentVolume,
  validateStorageClass,
  validateVolumeAttachment,
} from './validation/storage.js';
import { validateUpdate } from './validation/update.js';
import { validatePod, validateStatefulSet } from './validation/workloads.js';

/** Field errors of one decoded, defaulted object (no update rules). */
export function validateObject(obj: KubeObject, info: KindInfo): FieldError[] {
  const nameCheck = obj.kind === 'Namespace' ? dns1123LabelErrors : dns1123SubdomainErrors;
  const errs = validateObjectMeta(obj.metadata, info, root('metadata'), nameCheck);
  if (!info.modelled) return errs;
  switch (obj.kind) {
    case 'PersistentVolume':
      return [...errs, ...validatePersistentVolume(obj as PersistentVolume)];
    case 'PersistentVolumeClaim':
      return [...errs, ...validateClaimSpec((obj as PersistentVolumeClaim).spec, root('spec'))];
    case 'Pod':
      return [...errs, ...validatePod(obj as Pod)];
    case 'StorageClass':
      return [...errs, ...validateStorageClass(obj as StorageClass)];
    case 'VolumeAttachment':
      return [...errs, ...validateVolumeAttachment(obj as VolumeAttachment)];
    case 'CSIDriver':
      return [...errs, ...validateCSIDriver(obj as CSIDriver)];
    case 'CSINode':
      return [...errs, ...validateCSINode(obj as CSINode)];
    case 'StatefulSet':
      return [...errs, ...validateStatefulSet(obj as StatefulSet)];
    case 'Secret':
      return [...errs, ...validateSecret(obj as Secret)];
    case 'Event':
      return [...errs, ...validateEvent(obj as Event)];
    case 'Lease':
      return [...errs, ...validateLease(obj as Lease)];
    default:
      return errs;
  }
}

function throwIfInvalid(obj: KubeObject, info: KindInfo, errs: FieldError[]): void {
  if (errs.length > 0) {
    throw invalidError(info.kind, obj.metadata.name ?? obj.metadata.generateName ?? '', errs, info.group);
  }
}

/**
 * Checks a create: throws StatusError 400 (wrong types, unknown fields), 404 (unknown kind) or
 * 422 (reason Invalid, causes naming each field). Returns the defaulted object.
 */
export function prepareCreate(raw: unknown): KubeObject {
  const { object, info } = decodeObject(raw);
  applyDefaults(object, info);
  throwIfInvalid(object, info, validateObject(object, info));
  return object;
}

/** Checks an update against the stored object (immutable fields, ...). Returns the defaulted object. */
export function prepareUpdate(raw: unknown, old: KubeObject): KubeObject {
  const { object, info } = decodeObject(raw);
  applyDefaults(object, info);
  throwIfInvalid(object, info, [...validateObject(object, info), ...validateUpdate(object, old)]);
  return object;
}
