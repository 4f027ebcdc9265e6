// Validation of Pods and StatefulSets: the parts that concern volumes and placement.
import { type FieldError, type FieldPath, fieldError, root } from '../field-errors.js';
import { dns1123LabelErrors } from '../names.js';
import type { Container, Pod, PodSpec, StatefulSet } from '../types.js';
import { validateLabelSelector, validateLabels, validateNodeSelector } from './common.js';

/** Pod volume sources Kubernetes knows; a volume must name exactly one. */
const podVolumeSources = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];

function validateContainers(
  containers: Container[] | undefined,
  path: FieldPath,
  volumeNames: Set<string>,
  required: boolean,
  errs: FieldError[],
): void {
  if (required && (!containers || containers.length === 0)) {
    errs.push(fieldError.required(path.value));
    return;
  }
  const seen = new Set<string>();
  (containers ?? []).forEach((c, i) => {
    const p = path.index(i);
    if (!c.name) errs.push(fieldError.required(p.child('name').value));
    else {
      for (const e of dns1123LabelErrors(c.name))
        errs.push(fieldError.invalid(p.child('name').value, c.name, e));
      if (seen.has(c.name)) errs.push(fieldError.duplicate(p.child('name').value, c.name));
      seen.add(c.name);
    }
    if (!c.image) errs.push(fieldError.required(p.child('image').value));
    (c.volumeMounts ?? []).forEach((m, j) => {
      const mp = p.child('volumeMounts').index(j);
      if (!m.name) errs.push(fieldError.required(mp.child('name').value));
      else if (!volumeNames.has(m.name)) errs.push(fieldError.notFound(mp.child('name').value, m.name));
      if (!m.mountPath) errs.push(fieldError.required(mp.child('mountPath').value));
      if (m.subPath && (m.subPath.startsWith('/') || m.subPath.split('/').includes('..'))) {
        errs.push(
          fieldError.invalid(mp.child('subPath').value, m.subPath, "must be a relative path without '..'"),
        );
      }
    });
    (c.volumeDevices ?? []).forEach((d, j) => {
      const dp = p.child('volumeDevices').index(j);
      if (!volumeNames.has(d.name)) errs.push(fieldError.notFound(dp.child('name').value, d.name));
    });
  });
}

const MAX_INT32 = 2147483647;

/** `claimTemplateNames`: a StatefulSet's volumeClaimTemplates, which its containers may mount too. */
export function validatePodSpec(
  spec: PodSpec | undefined,
  path: FieldPath,
  claimTemplateNames: readonly string[] = [],
): FieldError[] {
  const errs: FieldError[] = [];
  const s = spec ?? { containers: [] };
  const names = new Set<string>();
  (s.volumes ?? []).forEach((v, i) => {
    const p = path.child('volumes').index(i);
    if (!v.name) errs.push(fieldError.required(p.child('name').value));
    else {
      for (const e of dns1123LabelErrors(v.name))
        errs.push(fieldError.invalid(p.child('name').value, v.name, e));
      if (names.has(v.name)) errs.push(fieldError.duplicate(p.child('name').value, v.name));
      names.add(v.name);
    }
    const sources = Object.keys(v).filter((k) => podVolumeSources.includes(k));
    if (sources.length === 0) errs.push(fieldError.required(p.value, 'must specify a volume type'));
    for (const extra of sources.slice(1))
      errs.push(fieldError.forbidden(p.child(extra).value, 'may not specify more than 1 volume type'));
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) {
      errs.push(fieldError.required(p.child('persistentVolumeClaim').child('claimName').value));
    }
    if (v.hostPath && !v.hostPath.path)
      errs.push(fieldError.required(p.child('hostPath').child('path').value));
    if (v.nfs && !v.nfs.server) errs.push(fieldError.required(p.child('nfs').child('server').value));
    if (v.nfs && !v.nfs.path) errs.push(fieldError.required(p.child('nfs').child('path').value));
    if (v.rbd && (v.rbd.monitors ?? []).length === 0)
      errs.push(fieldError.required(p.child('rbd').child('monitors').value));
    if (v.rbd && !v.rbd.image) errs.push(fieldError.required(p.child('rbd').child('image').value));
    if (v.flexVolume && !v.flexVolume.driver)
      errs.push(fieldError.required(p.child('flexVolume').child('driver').value));
    if (v.csi && !v.csi.driver) errs.push(fieldError.required(p.child('csi').child('driver').value));
  });
  const mountable = new Set([...names, ...claimTemplateNames]);
  validateContainers(s.containers, path.child('containers'), mountable, true, errs);
  validateContainers(s.initContainers, path.child('initContainers'), mountable, false, errs);
  errs.push(...validateLabels(s.nodeSelector, path.child('nodeSelector')));
  const deadline = s.activeDeadlineSeconds;
  if (deadline !== undefined && !(Number.isInteger(deadline) && deadline >= 1 && deadline <= MAX_INT32)) {
    errs.push(
      fieldError.invalid(
        path.child('activeDeadlineSeconds').value,
        deadline,
        `must be between 1 and ${MAX_INT32}, inclusive`,
      ),
    );
  }
  (s.tolerations ?? []).forEach((t, i) => {
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      errs.push(
        fieldError.invalid(
          path.child('tolerations').index(i).child('effect').value,
          t.effect ?? '',
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      );
    }
  });
  const required = s.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    errs.push(
      ...validateNodeSelector(
        required,
        path.child('affinity').child('nodeAffinity').child('requiredDuringSchedulingIgnoredDuringExecution'),
      ),
    );
  }
  return errs;
}

export function validatePod(pod: Pod): FieldError[] {
  return validatePodSpec(pod.spec, root('spec'));
}

function selectorMatches(selector: StatefulSet['spec']['selector'], labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const value = labels[req.key];
    const inValues = value !== undefined && (req.values ?? []).includes(value);
    if (req.operator === 'In' && !inValues) return false;
    if (req.operator === 'NotIn' && inValues) return false;
    if (req.operator === 'Exists' && !has) return false;
    if (req.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export function validateStatefulSet(sts: StatefulSet): FieldError[] {
  const errs: FieldError[] = [];
  const spec = sts.spec ?? ({} as StatefulSet['spec']);
  const path = root('spec');
  if (spec.replicas !== undefined && spec.replicas < 0) {
    errs.push(
      fieldError.invalid(path.child('replicas').value, spec.replicas, 'must be greater than or equal to 0'),
    );
  }
  if (
    spec.podManagementPolicy !== undefined &&
    !['OrderedReady', 'Parallel'].includes(spec.podManagementPolicy)
  ) {
    errs.push(
      fieldError.notSupported(path.child('podManagementPolicy').value, spec.podManagementPolicy, [
        'OrderedReady',
        'Parallel',
      ]),
    );
  }
  const retention = spec.persistentVolumeClaimRetentionPolicy;
  for (const key of ['whenDeleted', 'whenScaled'] as const) {
    const v = retention?.[key];
    if (v !== undefined && v !== 'Retain' && v !== 'Delete') {
      errs.push(
        fieldError.notSupported(path.child('persistentVolumeClaimRetentionPolicy').child(key).value, v, [
          'Delete',
          'Retain',
        ]),
      );
    }
  }
  const selector = spec.selector;
  const selectorEmpty =
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0);
  if (selectorEmpty)
    errs.push(
      fieldError.invalid(
        path.child('selector').value,
        selector ?? {},
        'empty selector is invalid for statefulset',
      ),
    );
  else errs.push(...validateLabelSelector(selector, path.child('selector')));
  const templateLabels = spec.template?.metadata?.labels ?? {};
  if (!selectorEmpty && !selectorMatches(selector, templateLabels)) {
    errs.push(
      fieldError.invalid(
        path.child('template').child('metadata').child('labels').value,
        templateLabels,
        '`selector` does not match template `labels`',
      ),
    );
  }
  const claimNames = (spec.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? '').filter(Boolean);
  errs.push(...validatePodSpec(spec.template?.spec, path.child('template').child('spec'), claimNames));
  const templateNames = new Set<string>();
  (spec.volumeClaimTemplates ?? []).forEach((t, i) => {
    const p = path.child('volumeClaimTemplates').index(i);
    const name = t.metadata?.name;
    if (!name) errs.push(fieldError.required(p.child('metadata').child('name').value));
    else if (templateNames.has(name))
      errs.push(fieldError.duplicate(p.child('metadata').child('name').value, name));
    else templateNames.add(name);
  });
  return errs;
}
