// Validation of snapshot.storage.k8s.io/v1, with the rules upstream spreads over the CRDs' schema
// and CEL rules and the snapshot validation webhook (create and update). Messages are upstream's.
import { type FieldError, type FieldPath, fieldError, root } from '../field-errors.js';
import type { KubeObject } from '../meta.js';
import type { VolumeSnapshot, VolumeSnapshotClass, VolumeSnapshotContent } from '../snapshot-types.js';
import { subdomainAt, validateEnum } from './common.js';
import { same } from './same.js';
import { csiDriverNameErrors } from './storage.js';

const deletionPolicies = ['Delete', 'Retain'];
const sourceVolumeModes = ['Block', 'Filesystem'];

function deletionPolicyAt(value: string | undefined, path: FieldPath, errs: FieldError[]): void {
  if (value === undefined || value === '') errs.push(fieldError.required(path.value));
  else validateEnum(value, deletionPolicies, path, errs);
}

function driverAt(value: string | undefined, path: FieldPath, errs: FieldError[]): void {
  if (value === undefined || value === '') {
    errs.push(fieldError.required(path.value));
    return;
  }
  for (const e of csiDriverNameErrors(value)) errs.push(fieldError.invalid(path.value, value, e));
}

function set(value: string | undefined): boolean {
  return value !== undefined;
}

export function validateVolumeSnapshotClass(vsc: VolumeSnapshotClass): FieldError[] {
  const errs: FieldError[] = [];
  driverAt(vsc.driver, root('driver'), errs);
  deletionPolicyAt(vsc.deletionPolicy, root('deletionPolicy'), errs);
  return errs;
}

export function validateVolumeSnapshot(vs: VolumeSnapshot): FieldError[] {
  const errs: FieldError[] = [];
  const source = vs.spec?.source ?? {};
  const path = root('spec').child('source');
  const { persistentVolumeClaimName: pvc, volumeSnapshotContentName: content } = source;
  if (set(pvc) === set(content)) {
    errs.push(
      fieldError.invalid(
        path.value,
        source,
        'exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set',
      ),
    );
  }
  subdomainAt(pvc, path.child('persistentVolumeClaimName'), errs);
  if (pvc === '') errs.push(fieldError.required(path.child('persistentVolumeClaimName').value));
  subdomainAt(content, path.child('volumeSnapshotContentName'), errs);
  if (content === '') errs.push(fieldError.required(path.child('volumeSnapshotContentName').value));
  const className = vs.spec?.volumeSnapshotClassName;
  if (className === '') {
    errs.push(
      fieldError.invalid(
        root('spec').child('volumeSnapshotClassName').value,
        className,
        'volumeSnapshotClassName must not be the empty string when set',
      ),
    );
  }
  subdomainAt(className, root('spec').child('volumeSnapshotClassName'), errs);
  return errs;
}

export function validateVolumeSnapshotContent(vsc: VolumeSnapshotContent): FieldError[] {
  const errs: FieldError[] = [];
  const spec = vsc.spec;
  const specPath = root('spec');
  const ref = spec?.volumeSnapshotRef;
  const refPath = specPath.child('volumeSnapshotRef');
  if (!ref?.name || !ref.namespace) {
    errs.push(
      fieldError.required(
        refPath.value,
        'both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set',
      ),
    );
  }
  deletionPolicyAt(spec?.deletionPolicy, specPath.child('deletionPolicy'), errs);
  driverAt(spec?.driver, specPath.child('driver'), errs);
  const source = spec?.source ?? {};
  if (set(source.volumeHandle) === set(source.snapshotHandle)) {
    errs.push(
      fieldError.invalid(
        specPath.child('source').value,
        source,
        'exactly one of volumeHandle and snapshotHandle must be set',
      ),
    );
  }
  for (const handle of ['volumeHandle', 'snapshotHandle'] as const) {
    if (source[handle] === '') errs.push(fieldError.required(specPath.child('source').child(handle).value));
  }
  validateEnum(spec?.sourceVolumeMode, sourceVolumeModes, specPath.child('sourceVolumeMode'), errs);
  if (spec?.volumeSnapshotClassName === '') {
    errs.push(
      fieldError.invalid(
        specPath.child('volumeSnapshotClassName').value,
        '',
        'volumeSnapshotClassName must not be the empty string when set',
      ),
    );
  }
  return errs;
}

function immutableOnceSet(
  value: unknown,
  old: unknown,
  path: FieldPath,
  what: string,
  errs: FieldError[],
): void {
  if (old === undefined) return;
  if (value === undefined) errs.push(fieldError.required(path.value, `${what} is required once set`));
  else if (!same(value, old)) errs.push(fieldError.invalid(path.value, value, `${what} is immutable`));
}

function volumeSnapshotUpdate(vs: VolumeSnapshot, old: VolumeSnapshot): FieldError[] {
  const errs: FieldError[] = [];
  const path = root('spec').child('source');
  for (const field of ['persistentVolumeClaimName', 'volumeSnapshotContentName'] as const) {
    immutableOnceSet(vs.spec?.source?.[field], old.spec?.source?.[field], path.child(field), field, errs);
  }
  // a class may be filled in once (the default class); then it stays
  immutableOnceSet(
    vs.spec?.volumeSnapshotClassName,
    old.spec?.volumeSnapshotClassName,
    root('spec').child('volumeSnapshotClassName'),
    'volumeSnapshotClassName',
    errs,
  );
  return errs;
}

function volumeSnapshotContentUpdate(vsc: VolumeSnapshotContent, old: VolumeSnapshotContent): FieldError[] {
  const errs: FieldError[] = [];
  const path = root('spec');
  for (const field of ['volumeHandle', 'snapshotHandle'] as const) {
    immutableOnceSet(
      vsc.spec?.source?.[field],
      old.spec?.source?.[field],
      path.child('source').child(field),
      field,
      errs,
    );
  }
  immutableOnceSet(
    vsc.spec?.sourceVolumeMode,
    old.spec?.sourceVolumeMode,
    path.child('sourceVolumeMode'),
    'sourceVolumeMode',
    errs,
  );
  // Once bound (the reference carries the snapshot's uid) the content cannot move to another snapshot.
  const before = old.spec?.volumeSnapshotRef;
  const after = vsc.spec?.volumeSnapshotRef;
  if (before?.uid && after) {
    const sameSnapshot =
      after.name === before.name &&
      after.namespace === before.namespace &&
      (after.uid ?? before.uid) === before.uid;
    if (!sameSnapshot) {
      errs.push(
        fieldError.forbidden(
          path.child('volumeSnapshotRef').value,
          'may not be changed to another VolumeSnapshot once bound',
        ),
      );
    }
  }
  return errs;
}

/** Update rules of the snapshot kinds; [] for every other kind. */
export function snapshotUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  switch (obj.kind) {
    case 'VolumeSnapshot':
      return volumeSnapshotUpdate(obj as VolumeSnapshot, old as VolumeSnapshot);
    case 'VolumeSnapshotContent':
      return volumeSnapshotContentUpdate(obj as VolumeSnapshotContent, old as VolumeSnapshotContent);
    default:
      return [];
  }
}

/** Create rules of the snapshot kinds; undefined for every other kind. */
export function validateSnapshotObject(obj: KubeObject): FieldError[] | undefined {
  switch (obj.kind) {
    case 'VolumeSnapshotClass':
      return validateVolumeSnapshotClass(obj as VolumeSnapshotClass);
    case 'VolumeSnapshot':
      return validateVolumeSnapshot(obj as VolumeSnapshot);
    case 'VolumeSnapshotContent':
      return validateVolumeSnapshotContent(obj as VolumeSnapshotContent);
    default:
      return undefined;
  }
}
