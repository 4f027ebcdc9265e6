// Entry points the API server uses for every write: decode (types, unknown fields), default,
// validate. Errors are StatusErrors worded like the Kubernetes API server's.
import { cloneJson } from './clone-json.js';
import { canonicalQuantities } from './canonical-quantities.js';
import { decodeObject, type FieldValidation } from './decode.js';
import { applyDefaults } from './defaults.js';
import { type FieldError, invalidError, root } from './field-errors.js';
import type { KindInfo } from './kinds.js';
import type { KubeObject } from './meta.js';
import { dns1123LabelErrors, dns1123SubdomainErrors } from './names.js';
import type {
  CSIDriver,
  CSINode,
  CSIStorageCapacity,
  Event,
  Lease,
  Namespace,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Secret,
  StatefulSet,
  StorageClass,
  VolumeAttachment,
} from './types.js';
import { validateObjectMeta } from './validation/common.js';
import { validateSnapshotObject } from './validation/snapshot.js';
import { validateEvent, validateLease, validateNamespace, validateSecret } from './validation/core.js';
import {
  validateCSIDriver,
  validateCSINode,
  validateClaimSpec,
  validatePersistentVolume,
  validateStorageClass,
  validateVolumeAttachment,
} from './validation/storage.js';
import { validateCSIStorageCapacity } from './validation/storage-capacity.js';
import { validateUpdate } from './validation/update.js';
import { validatePod, validateStatefulSet } from './validation/workloads.js';

/** The name rule of a kind: namespaces are DNS-1123 labels, everything else berth serves subdomains. */
export function nameErrorsFor(info: KindInfo, name: string): string[] {
  return info.kind === 'Namespace' ? dns1123LabelErrors(name) : dns1123SubdomainErrors(name);
}

/** Field errors of one decoded, defaulted object (no update rules). */
export function validateObject(obj: KubeObject, info: KindInfo): FieldError[] {
  const errs = validateObjectMeta(obj.metadata, info, root('metadata'), (name) => nameErrorsFor(info, name));
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
    case 'CSIStorageCapacity':
      return [...errs, ...validateCSIStorageCapacity(obj as CSIStorageCapacity)];
    case 'StatefulSet':
      return [...errs, ...validateStatefulSet(obj as StatefulSet)];
    case 'Secret':
      return [...errs, ...validateSecret(obj as Secret)];
    case 'Event':
      return [...errs, ...validateEvent(obj as Event)];
    case 'Lease':
      return [...errs, ...validateLease(obj as Lease)];
    case 'Namespace':
      return [...errs, ...validateNamespace(obj as Namespace)];
    default:
      return [...errs, ...(validateSnapshotObject(obj) ?? [])];
  }
}

function throwIfInvalid(obj: KubeObject, info: KindInfo, errs: FieldError[]): void {
  if (errs.length > 0) {
    throw invalidError(info.kind, obj.metadata.name ?? obj.metadata.generateName ?? '', errs, info.group);
  }
}

export interface PrepareOptions {
  /** What to do with unknown fields (default Strict). */
  fieldValidation?: FieldValidation;
  /** Receives a warning per unknown field dropped under Warn. */
  warnings?: string[];
}

function decodeDefaulted(raw: unknown, options: PrepareOptions): { object: KubeObject; info: KindInfo } {
  const { object, info, unknownFields } = decodeObject(raw, options.fieldValidation ?? 'Strict');
  if (options.fieldValidation === 'Warn') {
    for (const field of unknownFields) options.warnings?.push(`unknown field "${field}"`);
  }
  applyDefaults(object, info);
  canonicalQuantities(object);
  return { object, info };
}

/**
 * Checks a create: throws StatusError 400 (wrong types, unknown fields), 404 (unknown kind) or
 * 422 (reason Invalid, causes naming each field). Returns the defaulted object.
 */
export function prepareCreate(raw: unknown, options: PrepareOptions = {}): KubeObject {
  const { object, info } = decodeDefaulted(raw, options);
  throwIfInvalid(object, info, validateObject(object, info));
  return object;
}

/** Checks an update against the stored object (immutable fields, ...). Returns the defaulted object. */
export function prepareUpdate(raw: unknown, old: KubeObject, options: PrepareOptions = {}): KubeObject {
  const { object, info } = decodeDefaulted(raw, options);
  // the stored object is read as the decoder would: defaulted and canonical, so that an object
  // written before a default existed (or spelled 1024Mi) does not count as changed
  const stored = canonicalQuantities(applyDefaults(cloneJson(old), info));
  throwIfInvalid(object, info, [...validateObject(object, info), ...validateUpdate(object, stored)]);
  return object;
}
