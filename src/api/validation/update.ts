// Update rules: what may change once an object exists (the API server's ValidateXUpdate).
import { type FieldError, fieldError, root } from '../field-errors.js';
import type { KubeObject } from '../meta.js';
import { compareQuantities } from '../quantity.js';
import type {
  CSIDriver,
  CSINode,
  CSIStorageCapacity,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StatefulSet,
  StorageClass,
  VolumeAttachment,
} from '../types.js';
import { persistentVolumeSources } from '../types.js';
import { podUpdate } from './pod-update.js';
import { same } from './same.js';
import { snapshotUpdate } from './snapshot.js';
import { csiStorageCapacityUpdate } from './storage-capacity.js';

function pvUpdate(pv: PersistentVolume, old: PersistentVolume): FieldError[] {
  const errs: FieldError[] = [];
  for (const source of persistentVolumeSources) {
    if (!same(pv.spec[source], old.spec[source])) {
      errs.push(
        fieldError.forbidden(
          root('spec').child('persistentvolumesource').value,
          'spec.persistentvolumesource is immutable after creation',
        ),
      );
      break;
    }
  }
  if (old.spec.volumeMode !== undefined && !same(pv.spec.volumeMode, old.spec.volumeMode)) {
    errs.push(
      fieldError.invalid(root('spec').child('volumeMode').value, pv.spec.volumeMode, 'field is immutable'),
    );
  }
  errs.push(...claimRefUpdate(pv, old));
  if (old.spec.nodeAffinity !== undefined && !same(pv.spec.nodeAffinity, old.spec.nodeAffinity)) {
    errs.push(
      fieldError.invalid(
        root('spec').child('nodeAffinity').value,
        pv.spec.nodeAffinity ?? {},
        'field is immutable once set',
      ),
    );
  }
  return errs;
}

/**
 * The binder's rules for claimRef (berth's own, stricter than upstream so that an edit cannot move
 * a bound volume's data to another claim): a claimRef may be set, filled in (uid of the same
 * claim) or removed (release), but once it carries a claim's uid it cannot point anywhere else.
 */
function claimRefUpdate(pv: PersistentVolume, old: PersistentVolume): FieldError[] {
  const before = old.spec.claimRef;
  const after = pv.spec.claimRef;
  if (!before?.uid || !after) return [];
  const sameClaim =
    (after.namespace ?? '') === (before.namespace ?? '') &&
    after.name === before.name &&
    (after.uid ?? before.uid) === before.uid;
  if (sameClaim) return [];
  return [
    fieldError.forbidden(
      root('spec').child('claimRef').value,
      'may not be changed to another claim once bound; remove claimRef to release the volume first',
    ),
  ];
}

/**
 * Recovery from a failed expansion (RecoverVolumeExpansionFailure, GA in Kubernetes 1.34): a request
 * may come down again, but only while it stays above the size the volume already has.
 */
function shrinksToCapacity(
  next: string | number,
  previous: string | number,
  capacity: string | number | undefined,
): boolean {
  try {
    return compareQuantities(next, previous) < 0 && compareQuantities(next, capacity ?? 0) <= 0;
  } catch {
    return false; // an unparsable quantity is reported by the create-time validation of the new object
  }
}

const BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';

/**
 * A claim's storageClassName may be set once while nil: to the class its beta annotation names
 * (the annotation may then go), or, with no annotation, to any class (retroactive default
 * StorageClass, GA in Kubernetes 1.28). Otherwise the annotation is immutable too.
 */
function storageClassUpdate(
  pvc: PersistentVolumeClaim,
  old: PersistentVolumeClaim,
): { classMaySet: boolean; errs: FieldError[] } {
  const oldAnn = old.metadata.annotations?.[BETA_STORAGE_CLASS];
  const newAnn = pvc.metadata.annotations?.[BETA_STORAGE_CLASS];
  const next = pvc.spec.storageClassName;
  const setFromNil = old.spec.storageClassName === undefined && next !== undefined;
  if (setFromNil && oldAnn !== undefined && next === oldAnn && (newAnn === undefined || newAnn === oldAnn))
    return { classMaySet: true, errs: [] };
  const errs =
    newAnn === oldAnn
      ? []
      : [
          fieldError.invalid(
            root('metadata').child('annotations').key(BETA_STORAGE_CLASS).value,
            newAnn ?? '',
            'field is immutable',
          ),
        ];
  return { classMaySet: setFromNil && (oldAnn === undefined || next === oldAnn), errs };
}

function pvcUpdate(pvc: PersistentVolumeClaim, old: PersistentVolumeClaim): FieldError[] {
  const { classMaySet, errs } = storageClassUpdate(pvc, old);
  const newStorage = pvc.spec.resources?.requests?.['storage'];
  const oldStorage = old.spec.resources?.requests?.['storage'];
  // Compare everything but requests.storage. volumeName may be set once (binding) and
  // storageClassName as storageClassUpdate allows; after that each side is compared as it is.
  const comparable = (s: PersistentVolumeClaim['spec']) => ({
    ...s,
    volumeName: old.spec.volumeName ? s.volumeName : undefined,
    storageClassName: classMaySet ? undefined : s.storageClassName,
    resources: { ...s.resources, requests: { ...s.resources?.requests, storage: undefined } },
  });
  if (!same(comparable(pvc.spec), comparable(old.spec))) {
    errs.push(
      fieldError.forbidden(
        'spec',
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    );
  }
  if (newStorage !== undefined && oldStorage !== undefined && !same(newStorage, oldStorage)) {
    if (old.status?.phase !== 'Bound') {
      errs.push(
        fieldError.forbidden(
          'spec',
          'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
        ),
      );
    } else if (shrinksToCapacity(newStorage, oldStorage, old.status.capacity?.['storage'])) {
      errs.push(
        fieldError.forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'),
      );
    }
  }
  return errs;
}

function scUpdate(sc: StorageClass, old: StorageClass): FieldError[] {
  const errs: FieldError[] = [];
  if (!same(sc.parameters ?? {}, old.parameters ?? {}))
    errs.push(fieldError.forbidden('parameters', 'updates to parameters are forbidden.'));
  if (sc.provisioner !== old.provisioner)
    errs.push(fieldError.forbidden('provisioner', 'updates to provisioner are forbidden.'));
  if (sc.reclaimPolicy !== old.reclaimPolicy)
    errs.push(fieldError.forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
  if (sc.volumeBindingMode !== old.volumeBindingMode)
    errs.push(fieldError.invalid('volumeBindingMode', sc.volumeBindingMode, 'field is immutable'));
  return errs;
}

function stsUpdate(sts: StatefulSet, old: StatefulSet): FieldError[] {
  const mutable = (s: StatefulSet['spec']) => ({
    ...s,
    replicas: undefined,
    template: undefined,
    updateStrategy: undefined,
    persistentVolumeClaimRetentionPolicy: undefined,
    minReadySeconds: undefined,
    ordinals: undefined,
    revisionHistoryLimit: undefined,
  });
  if (same(mutable(sts.spec), mutable(old.spec))) return [];
  return [
    fieldError.forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

/**
 * An entry of a driver already registered on the node cannot change (upstream reports the whole
 * entry under the path "CSINodeDriver"); drivers may be added and removed. Allocatable may change
 * (mutable CSINode allocatable, Kubernetes 1.33+).
 */
function csiNodeUpdate(node: CSINode, old: CSINode): FieldError[] {
  const errs: FieldError[] = [];
  for (const before of old.spec?.drivers ?? []) {
    const after = (node.spec?.drivers ?? []).find((d) => d.name === before.name);
    if (after && !same({ ...after, allocatable: undefined }, { ...before, allocatable: undefined })) {
      errs.push(fieldError.invalid('CSINodeDriver', after, 'field is immutable'));
    }
  }
  return errs;
}

export function validateUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  switch (obj.kind) {
    case 'PersistentVolume':
      return pvUpdate(obj as PersistentVolume, old as PersistentVolume);
    case 'PersistentVolumeClaim':
      return pvcUpdate(obj as PersistentVolumeClaim, old as PersistentVolumeClaim);
    case 'StorageClass':
      return scUpdate(obj as StorageClass, old as StorageClass);
    case 'Pod':
      return podUpdate(obj as Pod, old as Pod);
    case 'StatefulSet':
      return stsUpdate(obj as StatefulSet, old as StatefulSet);
    case 'VolumeAttachment': {
      const va = obj as VolumeAttachment;
      return same(va.spec, (old as VolumeAttachment).spec)
        ? []
        : [fieldError.invalid('spec', va.spec, 'field is immutable')];
    }
    case 'CSINode':
      return csiNodeUpdate(obj as CSINode, old as CSINode);
    case 'CSIStorageCapacity':
      return csiStorageCapacityUpdate(obj as CSIStorageCapacity, old as CSIStorageCapacity);
    case 'CSIDriver': {
      const d = obj as CSIDriver;
      const o = old as CSIDriver;
      return d.spec.attachRequired === o.spec.attachRequired
        ? []
        : [fieldError.invalid('spec.attachRequired', d.spec.attachRequired, 'field is immutable')];
    }
    default:
      return snapshotUpdate(obj, old);
  }
}
