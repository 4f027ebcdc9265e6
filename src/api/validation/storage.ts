// Validation of the storage kinds, following the API server's rules and messages
// (pkg/apis/core/validation and pkg/apis/storage/validation upstream).
import { type FieldError, type FieldPath, fieldError, root } from '../field-errors.js';
import { qualifiedNameErrors } from '../names.js';
import {
  persistentVolumeSources,
  type AccessMode,
  type CSIDriver,
  type CSINode,
  type PersistentVolume,
  type PersistentVolumeClaimSpec,
  type StorageClass,
  type VolumeAttachment,
} from '../types.js';
import {
  isAbsolutePath,
  quantityAt,
  subdomainAt,
  validateEnum,
  validateLabelSelector,
  validateNodeSelector,
} from './common.js';

export const accessModes: readonly AccessMode[] = [
  'ReadOnlyMany',
  'ReadWriteMany',
  'ReadWriteOnce',
  'ReadWriteOncePod',
];
const volumeModes = ['Block', 'Filesystem'];
const pvReclaimPolicies = ['Delete', 'Recycle', 'Retain'];

function validateAccessModes(
  modes: readonly string[] | undefined,
  path: FieldPath,
  errs: FieldError[],
): void {
  if (!modes || modes.length === 0) {
    errs.push(fieldError.required(path.value, 'at least 1 access mode is required'));
    return;
  }
  modes.forEach((m, i) => validateEnum(m, accessModes, path.index(i), errs));
  if (modes.includes('ReadWriteOncePod') && modes.length > 1) {
    errs.push(fieldError.forbidden(path.value, 'may not use ReadWriteOncePod with other access modes'));
  }
}

/** A CSI driver name: a DNS-1123 subdomain of at most 63 characters (storage validation). */
export function csiDriverNameErrors(name: string): string[] {
  if (name.length > 63) return ['must be no more than 63 characters'];
  if (!/^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$/.test(name)) {
    return [
      "a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
    ];
  }
  return [];
}

function requiredString(value: string | undefined, path: FieldPath, errs: FieldError[]): void {
  if (value === undefined || value === '') errs.push(fieldError.required(path.value));
}

function validatePositiveQuantity(
  value: string | number | undefined,
  path: FieldPath,
  errs: FieldError[],
): void {
  if (value === undefined) {
    errs.push(fieldError.required(path.value));
    return;
  }
  const q = quantityAt(value, path, errs);
  if (q && q.sign() <= 0) errs.push(fieldError.invalid(path.value, value, 'must be greater than zero'));
}

function validatePersistentSource(pv: PersistentVolume, errs: FieldError[]): void {
  const spec = pv.spec;
  const path = root('spec');
  const present = Object.keys(spec).filter(
    (k) =>
      (persistentVolumeSources as readonly string[]).includes(k) ||
      /^(awsElasticBlockStore|azureDisk|azureFile|cephfs|cinder|fc|flocker|gcePersistentDisk|glusterfs|iscsi|photonPersistentDisk|portworxVolume|quobyte|scaleIO|storageos|vsphereVolume)$/.test(
        k,
      ),
  );
  if (present.length === 0) errs.push(fieldError.required(path.value, 'must specify a volume type'));
  for (const extra of present.slice(1)) {
    errs.push(fieldError.forbidden(path.child(extra).value, 'may not specify more than 1 volume type'));
  }
  if (spec.hostPath) requiredString(spec.hostPath.path, path.child('hostPath').child('path'), errs);
  if (spec.local) {
    const p = path.child('local').child('path');
    requiredString(spec.local.path, p, errs);
    if (spec.local.path && !isAbsolutePath(spec.local.path))
      errs.push(fieldError.invalid(p.value, spec.local.path, 'must be an absolute path'));
    if (!spec.nodeAffinity?.required) {
      errs.push(fieldError.required(path.child('nodeAffinity').value, 'Local volume requires node affinity'));
    }
  }
  if (spec.nfs) {
    requiredString(spec.nfs.server, path.child('nfs').child('server'), errs);
    const p = path.child('nfs').child('path');
    requiredString(spec.nfs.path, p, errs);
    if (spec.nfs.path && !isAbsolutePath(spec.nfs.path))
      errs.push(fieldError.invalid(p.value, spec.nfs.path, 'must be an absolute path'));
  }
  if (spec.rbd) {
    if ((spec.rbd.monitors ?? []).length === 0)
      errs.push(fieldError.required(path.child('rbd').child('monitors').value));
    requiredString(spec.rbd.image, path.child('rbd').child('image'), errs);
  }
  if (spec.flexVolume) requiredString(spec.flexVolume.driver, path.child('flexVolume').child('driver'), errs);
  if (spec.csi) {
    const p = path.child('csi');
    requiredString(spec.csi.driver, p.child('driver'), errs);
    if (spec.csi.driver) {
      for (const e of csiDriverNameErrors(spec.csi.driver))
        errs.push(fieldError.invalid(p.child('driver').value, spec.csi.driver, e));
    }
    requiredString(spec.csi.volumeHandle, p.child('volumeHandle'), errs);
  }
}

export function validatePersistentVolume(pv: PersistentVolume): FieldError[] {
  const errs: FieldError[] = [];
  const spec = pv.spec ?? {};
  const path = root('spec');
  validateAccessModes(spec.accessModes, path.child('accessModes'), errs);
  const capacity = spec.capacity;
  if (!capacity || Object.keys(capacity).length === 0) {
    errs.push(fieldError.required(path.child('capacity').value));
  } else {
    for (const key of Object.keys(capacity)) {
      if (key !== 'storage')
        errs.push(fieldError.notSupported(path.child('capacity').value, key, ['storage']));
    }
    if (capacity.storage !== undefined) {
      validatePositiveQuantity(capacity.storage, path.child('capacity').key('storage'), errs);
    }
  }
  validateEnum(
    spec.persistentVolumeReclaimPolicy,
    pvReclaimPolicies,
    path.child('persistentVolumeReclaimPolicy'),
    errs,
  );
  validateEnum(spec.volumeMode, volumeModes, path.child('volumeMode'), errs);
  subdomainAt(spec.storageClassName, path.child('storageClassName'), errs);
  if (spec.nodeAffinity?.required) {
    errs.push(
      ...validateNodeSelector(spec.nodeAffinity.required, path.child('nodeAffinity').child('required')),
    );
  }
  validatePersistentSource({ ...pv, spec }, errs);
  if (spec.persistentVolumeReclaimPolicy === 'Recycle' && spec.hostPath?.path === '/') {
    errs.push(
      fieldError.forbidden(
        path.child('persistentVolumeReclaimPolicy').value,
        "may not be 'recycle' for a hostPath mount of '/'",
      ),
    );
  }
  return errs;
}

/** Claim spec rules; `path` lets StatefulSet templates report under their own path. */
export function validateClaimSpec(
  spec: PersistentVolumeClaimSpec | undefined,
  path: FieldPath,
): FieldError[] {
  const errs: FieldError[] = [];
  const s = spec ?? {};
  validateAccessModes(s.accessModes, path.child('accessModes'), errs);
  errs.push(...validateLabelSelector(s.selector, path.child('selector')));
  const storage = s.resources?.requests?.['storage'];
  if (storage === undefined) {
    errs.push(fieldError.required(path.child('resources').key('storage').value));
  } else {
    validatePositiveQuantity(storage, path.child('resources').child('requests').key('storage'), errs);
  }
  for (const [name, value] of Object.entries(s.resources?.limits ?? {})) {
    quantityAt(value, path.child('resources').child('limits').key(name), errs);
  }
  validateEnum(s.volumeMode, volumeModes, path.child('volumeMode'), errs);
  subdomainAt(s.storageClassName, path.child('storageClassName'), errs);
  subdomainAt(s.volumeName, path.child('volumeName'), errs);
  return errs;
}

const reclaimPolicies = ['Delete', 'Retain'];
const bindingModes = ['Immediate', 'WaitForFirstConsumer'];

export function validateStorageClass(sc: StorageClass): FieldError[] {
  const errs: FieldError[] = [];
  if (!sc.provisioner) errs.push(fieldError.required('provisioner'));
  else
    for (const e of qualifiedNameErrors(sc.provisioner))
      errs.push(fieldError.invalid('provisioner', sc.provisioner, e));
  validateEnum(sc.reclaimPolicy, reclaimPolicies, root('reclaimPolicy'), errs);
  validateEnum(sc.volumeBindingMode, bindingModes, root('volumeBindingMode'), errs);
  const paramCount = Object.keys(sc.parameters ?? {}).length;
  if (paramCount > 512) errs.push(fieldError.tooLong('parameters', 512));
  (sc.allowedTopologies ?? []).forEach((term, i) => {
    const p = root('allowedTopologies').index(i);
    const exprs = term.matchLabelExpressions ?? [];
    if (exprs.length === 0)
      errs.push(
        fieldError.required(
          p.child('matchLabelExpressions').value,
          'must have at least one topology selector requirement',
        ),
      );
    exprs.forEach((expr, j) => {
      const ep = p.child('matchLabelExpressions').index(j);
      for (const e of qualifiedNameErrors(expr.key ?? ''))
        errs.push(fieldError.invalid(ep.child('key').value, expr.key, e));
      if ((expr.values ?? []).length === 0)
        errs.push(fieldError.required(ep.child('values').value, 'must specify as least one value'));
    });
  });
  return errs;
}

export function validateVolumeAttachment(va: VolumeAttachment): FieldError[] {
  const errs: FieldError[] = [];
  const spec = va.spec ?? { attacher: '', nodeName: '', source: {} };
  const path = root('spec');
  requiredString(spec.attacher, path.child('attacher'), errs);
  if (spec.attacher) {
    for (const e of csiDriverNameErrors(spec.attacher))
      errs.push(fieldError.invalid(path.child('attacher').value, spec.attacher, e));
  }
  requiredString(spec.nodeName, path.child('nodeName'), errs);
  const source = spec.source ?? {};
  const count = (source.persistentVolumeName ? 1 : 0) + (source.inlineVolumeSpec ? 1 : 0);
  if (count !== 1) {
    errs.push(
      fieldError.required(
        path.child('source').value,
        'must specify exactly one of inlineVolumeSpec and persistentVolumeName',
      ),
    );
  }
  return errs;
}

export function validateCSIDriver(d: CSIDriver): FieldError[] {
  const errs: FieldError[] = [];
  const name = d.metadata.name ?? '';
  for (const e of csiDriverNameErrors(name)) errs.push(fieldError.invalid('metadata.name', name, e));
  const spec = d.spec ?? {};
  validateEnum(
    spec.fsGroupPolicy,
    ['File', 'None', 'ReadWriteOnceWithFSType'],
    root('spec').child('fsGroupPolicy'),
    errs,
  );
  (spec.volumeLifecycleModes ?? []).forEach((m, i) =>
    validateEnum(m, ['Ephemeral', 'Persistent'], root('spec').child('volumeLifecycleModes').index(i), errs),
  );
  return errs;
}

export function validateCSINode(n: CSINode): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  (n.spec?.drivers ?? []).forEach((d, i) => {
    const p = root('spec').child('drivers').index(i);
    requiredString(d.name, p.child('name'), errs);
    requiredString(d.nodeID, p.child('nodeID'), errs);
    if (d.name && seen.has(d.name)) errs.push(fieldError.duplicate(p.child('name').value, d.name));
    seen.add(d.name);
    if (d.allocatable?.count !== undefined && d.allocatable.count < 0) {
      errs.push(
        fieldError.invalid(
          p.child('allocatable').child('count').value,
          d.allocatable.count,
          'must be greater than or equal to 0',
        ),
      );
    }
  });
  return errs;
}
