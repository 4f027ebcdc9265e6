// Admission, as the Kubernetes API server's plugins do it. On create: NamespaceLifecycle (the
// namespace must exist and not be Terminating), DefaultStorageClass (claims without a class get the default one) and
// StorageObjectInUseProtection (protection finalizers on claims and volumes), DefaultTolerationSeconds
// (default-tolerations.ts). On update:
// PersistentVolumeClaimResize (a claim grows only if its class allows expansion). The decisions
// are pure functions; admitCreate and admitUpdate read what they need from the store. A create may
// also answer with warnings (createWarnings): a node-local StorageClass that binds Immediately.
import { notFound, isStatusError, StatusError } from '../api/errors.js';
import { kindFor, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { tryStorageBytes } from '../api/quantity.js';
import type { ObjectStore } from '../store/types.js';
import {
  ANN_BETA_STORAGE_CLASS,
  FINALIZER_PV_PROTECTION,
  FINALIZER_PVC_PROTECTION,
} from '../volume/annotations.js';
import { defaultClass } from '../volume/default-class.js';
import { withFinalizer } from '../api/finalizers.js';
import { asNewNamespace, isNamespaceTerminating, namespaceTerminating } from '../api/namespace-lifecycle.js';
import { immediateNodeLocalProblem } from '../volume/node-local.js';
import { admitSnapshotClass } from './snapshot-admission.js';
import { withDefaultTolerations } from './default-tolerations.js';

const namespaceKind = kindFor('v1', 'Namespace');
const storageClassKind = kindFor('storage.k8s.io/v1', 'StorageClass');

/** A claim that names no class (not even "") gets the default class, if there is one. */
export function withDefaultStorageClass(claim: KubeObject, classes: readonly KubeObject[]): KubeObject {
  if (!wantsDefaultClass(claim)) return claim;
  const spec = (claim['spec'] ?? {}) as Record<string, unknown>;
  const chosen = defaultClass(classes);
  if (!chosen?.metadata.name) return claim;
  return { ...claim, spec: { ...spec, storageClassName: chosen.metadata.name } };
}

/** Whether a claim names no class at all, so the default class is its class. */
function wantsDefaultClass(claim: KubeObject): boolean {
  const className = (claim['spec'] as Record<string, unknown> | undefined)?.['storageClassName'];
  if (className !== undefined && className !== null) return false;
  return claim.metadata.annotations?.[ANN_BETA_STORAGE_CLASS] === undefined;
}

/** Adds the in-use protection finalizer to claims and volumes. */
export function withProtectionFinalizer(obj: KubeObject): KubeObject {
  const finalizer =
    obj.kind === 'PersistentVolumeClaim'
      ? FINALIZER_PVC_PROTECTION
      : obj.kind === 'PersistentVolume'
        ? FINALIZER_PV_PROTECTION
        : undefined;
  return finalizer ? withFinalizer(obj, finalizer) : obj;
}

/**
 * NamespaceLifecycle, read from the store: 404 `namespaces "x" not found` unless the namespace of
 * a namespaced object exists, 403 while it is Terminating.
 */
export async function requireNamespace(store: ObjectStore, kind: KindInfo, obj: KubeObject): Promise<void> {
  const { namespace, name = '' } = obj.metadata;
  if (!kind.namespaced || namespace === undefined || !namespaceKind) return;
  let found: KubeObject;
  try {
    found = await store.get(namespaceKind, undefined, namespace);
  } catch (err) {
    if (isStatusError(err, 'NotFound')) throw notFound('namespaces', namespace);
    throw err;
  }
  if (isNamespaceTerminating(found)) throw namespaceTerminating(kind.plural, kind.group, name, namespace);
}

/**
 * Runs the mutating and validating admission steps of a create; returns the object to store. The
 * namespace must exist too: the store checks that with the create itself (namespaceMustExist),
 * a dry run with requireNamespace.
 */
export async function admitCreate(store: ObjectStore, kind: KindInfo, obj: KubeObject): Promise<KubeObject> {
  await admitSnapshotClass(store, obj);
  let admitted = withDefaultTolerations(asNewNamespace(withProtectionFinalizer(obj)));
  // the classes are read only for a claim that takes the default (a store read each, on etcd),
  // and only read: the store's own (frozen) objects, no copy of each class
  if (obj.kind === 'PersistentVolumeClaim' && storageClassKind && wantsDefaultClass(admitted)) {
    const classes = await store.list(storageClassKind, { readOnly: true });
    admitted = withDefaultStorageClass(admitted, classes.items);
  }
  return admitted;
}

/** Warnings a create answers with (a Warning header each): a node-local class binding at once. */
export function createWarnings(obj: KubeObject): string[] {
  if (obj.kind !== 'StorageClass') return [];
  const problem = immediateNodeLocalProblem(obj);
  return problem ? [problem] : [];
}

const claimStorage = (claim: KubeObject) =>
  tryStorageBytes(
    ((claim['spec'] as { resources?: { requests?: Record<string, unknown> } } | undefined)?.resources
      ?.requests ?? {})['storage'],
  );

/** True when an update asks a claim for more storage than it asked before. */
export function claimGrows(claim: KubeObject, old: KubeObject): boolean {
  if (claim.kind !== 'PersistentVolumeClaim') return false;
  const wanted = claimStorage(claim);
  const before = claimStorage(old);
  return wanted !== undefined && before !== undefined && wanted > before;
}

/** PersistentVolumeClaimResize: the claim's class must exist and set allowVolumeExpansion. */
export function checkClaimResize(claim: KubeObject, storageClass: KubeObject | undefined): void {
  if (storageClass?.['allowVolumeExpansion'] === true) return;
  throw new StatusError(
    403,
    'Forbidden',
    `persistentvolumeclaims "${claim.metadata.name ?? ''}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`,
    { name: claim.metadata.name ?? '', kind: 'persistentvolumeclaims' },
  );
}

/** Runs the validating admission steps of an update (not of status writes). */
export async function admitUpdate(store: ObjectStore, obj: KubeObject, old: KubeObject): Promise<void> {
  await admitSnapshotClass(store, obj);
  if (!claimGrows(obj, old) || !storageClassKind) return;
  const className = (old['spec'] as { storageClassName?: string } | undefined)?.storageClassName ?? '';
  let storageClass: KubeObject | undefined;
  if (className !== '') {
    storageClass = await store.get(storageClassKind, undefined, className).catch((err: unknown) => {
      if (isStatusError(err, 'NotFound')) return undefined;
      throw err;
    });
  }
  checkClaimResize(obj, storageClass);
}
