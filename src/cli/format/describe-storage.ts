// Describe layouts of the storage kinds: PersistentVolume, PersistentVolumeClaim, StorageClass,
// CSINode, and the volume sources pods and PVs share.
import type { KubeObject } from '../../api/meta.js';
import { LAST_APPLIED_ANNOTATION } from '../apply-plan.js';
import { accessModesString } from '../../api/access-modes.js';
import { isDefaultClass } from '../../volume/default-class.js';
import {
  at,
  fieldTitle,
  finalizers,
  header,
  labelsAndAnnotations,
  list,
  record,
  text,
  type Json,
  type Lines,
} from './describe-lines.js';

export function describeNodeAffinity(lines: Lines, affinity: unknown): void {
  const terms = list(at(affinity, 'required', 'nodeSelectorTerms'));
  if (terms.length === 0) {
    lines.add(0, 'Node Affinity:', '<none>');
    return;
  }
  lines.add(0, 'Node Affinity:');
  lines.add(1, 'Required Terms:');
  terms.forEach((term, i) => {
    const exprs = list(at(term, 'matchExpressions')).map(
      (e) =>
        `${text(at(e, 'key'))} ${text(at(e, 'operator')).toLowerCase()} [${list(at(e, 'values'))
          .map((v) => text(v))
          .join(', ')}]`,
    );
    lines.add(2, `Term ${i}:`, exprs.length > 0 ? exprs.join(', ') : '<none>');
  });
}

const sourceTitles: Json = {
  csi: 'CSI (a Container Storage Interface (CSI) volume source)',
  hostPath: 'HostPath (bare host directory volume)',
  local: 'LocalVolume (a persistent volume backed by local storage on a node)',
  nfs: 'NFS (an NFS mount that lasts the lifetime of a pod)',
  rbd: "RBD (a Rados Block Device mount on the host that shares a pod's lifetime)",
  flexVolume:
    'FlexPersistentVolumeSource (a generic volume resource that is provisioned/attached using an exec based plugin)',
};

const sourceKeys = Object.keys(sourceTitles);

/** kubectl's own labels for volume source fields; others get the generic title. */
const sourceFieldTitles: Record<string, string> = {
  type: 'HostPathType',
  fsType: 'FSType',
  volumeHandle: 'VolumeHandle',
  readOnly: 'ReadOnly',
  volumeAttributes: 'VolumeAttributes',
  monitors: 'CephMonitors',
  image: 'RBDImage',
  pool: 'RBDPool',
  user: 'RadosUser',
  secretRef: 'SecretRef',
};

export function describeVolumeSource(lines: Lines, spec: Json, level: number): void {
  const key =
    sourceKeys.find((k) => spec[k] !== undefined) ?? Object.keys(spec).find((k) => isVolumeSourceKey(k));
  if (!key) {
    lines.add(level, 'Type:', '<unknown>');
    return;
  }
  const source = record(spec[key]);
  lines.add(level, 'Type:', text(sourceTitles[key], key));
  for (const [field, value] of Object.entries(source)) {
    const title = sourceFieldTitles[field] ?? fieldTitle(field);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = record(value);
      const rendered = Object.keys(entries)
        .sort()
        .map((k) => `${k}=${text(entries[k])}`)
        .join(',');
      lines.add(level, `${title}:`, rendered === '' ? '<none>' : rendered);
    } else if (Array.isArray(value)) {
      lines.add(level, `${title}:`, `[${value.map((v) => text(v)).join(' ')}]`);
    } else {
      lines.add(level, `${title}:`, text(value));
    }
  }
}

const NOT_SOURCES = new Set([
  'accessModes',
  'capacity',
  'claimRef',
  'mountOptions',
  'nodeAffinity',
  'persistentVolumeReclaimPolicy',
  'storageClassName',
  'volumeMode',
  'volumeAttributesClassName',
]);

export function isVolumeSourceKey(key: string): boolean {
  return !NOT_SOURCES.has(key);
}

export function describePv(lines: Lines, pv: KubeObject): void {
  const spec = record(pv['spec']);
  header(lines, pv, false);
  labelsAndAnnotations(lines, pv);
  lines.add(0, 'Finalizers:', finalizers(pv));
  lines.add(0, 'StorageClass:', text(spec['storageClassName']));
  lines.add(0, 'Status:', text(at(pv, 'status', 'phase')));
  const claimRef = record(spec['claimRef']);
  const claim = claimRef['name'] ? `${text(claimRef['namespace'])}/${text(claimRef['name'])}` : '';
  lines.add(0, 'Claim:', claim);
  lines.add(0, 'Reclaim Policy:', text(spec['persistentVolumeReclaimPolicy']));
  lines.add(0, 'Access Modes:', accessModesString(spec['accessModes']));
  lines.add(0, 'VolumeMode:', text(spec['volumeMode'], 'Filesystem'));
  lines.add(0, 'Capacity:', text(at(spec, 'capacity', 'storage')));
  describeNodeAffinity(lines, spec['nodeAffinity']);
  lines.add(0, 'Message:', text(at(pv, 'status', 'message')));
  lines.add(0, 'Source:');
  describeVolumeSource(lines, spec, 2);
}

function podsUsingClaim(pods: readonly KubeObject[], claimName: string): string[] {
  return pods
    .filter((pod) =>
      list(at(pod, 'spec', 'volumes')).some((v) => at(v, 'persistentVolumeClaim', 'claimName') === claimName),
    )
    .map((pod) => pod.metadata.name ?? '');
}

export function describePvc(lines: Lines, pvc: KubeObject, pods: readonly KubeObject[]): void {
  const spec = record(pvc['spec']);
  header(lines, pvc, true);
  lines.add(0, 'StorageClass:', text(spec['storageClassName']));
  lines.add(0, 'Status:', text(at(pvc, 'status', 'phase')));
  lines.add(0, 'Volume:', text(spec['volumeName']));
  labelsAndAnnotations(lines, pvc);
  lines.add(0, 'Finalizers:', finalizers(pvc));
  lines.add(0, 'Capacity:', text(at(pvc, 'status', 'capacity', 'storage')));
  lines.add(0, 'Access Modes:', accessModesString(at(pvc, 'status', 'accessModes')));
  lines.add(0, 'VolumeMode:', text(spec['volumeMode'], 'Filesystem'));
  const users = podsUsingClaim(pods, pvc.metadata.name ?? '');
  if (users.length === 0) lines.add(0, 'Used By:', '<none>');
  else users.forEach((name, i) => lines.add(0, i === 0 ? 'Used By:' : '', name));
  // Resizing and FileSystemResizePending while a claim grows, as kubectl shows them.
  const conditions = list(at(pvc, 'status', 'conditions'));
  if (conditions.length > 0) {
    lines.add(0, 'Conditions:');
    lines.add(1, 'Type', 'Status', 'LastProbeTime', 'LastTransitionTime', 'Reason', 'Message');
    lines.add(1, '----', '------', '-------------', '------------------', '------', '-------');
    for (const c of conditions) {
      const cell = (field: string) => text(at(c, field), '');
      lines.add(
        1,
        ...['type', 'status', 'lastProbeTime', 'lastTransitionTime', 'reason', 'message'].map(cell),
      );
    }
  }
}

export function describeSc(lines: Lines, sc: KubeObject): void {
  header(lines, sc, false);
  lines.add(0, 'IsDefaultClass:', isDefaultClass(sc) ? 'Yes' : 'No');
  lines.map(0, 'Annotations', sc.metadata.annotations, '=', [LAST_APPLIED_ANNOTATION]);
  lines.add(0, 'Provisioner:', text(sc['provisioner']));
  const params = record(sc['parameters']);
  const rendered = Object.keys(params)
    .sort()
    .map((k) => `${k}=${text(params[k])}`)
    .join(',');
  lines.add(0, 'Parameters:', rendered === '' ? '<none>' : rendered);
  lines.add(0, 'AllowVolumeExpansion:', text(sc['allowVolumeExpansion'], '<unset>'));
  const mountOptions = list(sc['mountOptions']);
  lines.add(
    0,
    'MountOptions:',
    mountOptions.length === 0 ? '<none>' : mountOptions.map((o) => text(o)).join(', '),
  );
  lines.add(0, 'ReclaimPolicy:', text(sc['reclaimPolicy'], 'Delete'));
  lines.add(0, 'VolumeBindingMode:', text(sc['volumeBindingMode'], 'Immediate'));
  const topologies = list(sc['allowedTopologies']);
  if (topologies.length > 0) {
    lines.add(0, 'AllowedTopologies:');
    topologies.forEach((term, i) => {
      const exprs = list(at(term, 'matchLabelExpressions')).map(
        (e) =>
          `${text(at(e, 'key'))} in [${list(at(e, 'values'))
            .map((v) => text(v))
            .join(', ')}]`,
      );
      lines.add(1, `Term ${i}:`, exprs.join(', '));
    });
  }
}
export function describeCsiNode(lines: Lines, csiNode: KubeObject): void {
  header(lines, csiNode, false);
  labelsAndAnnotations(lines, csiNode);
  lines.add(0, 'CreationTimestamp:', text(csiNode.metadata.creationTimestamp));
  lines.add(0, 'Spec:');
  const drivers = list(at(csiNode, 'spec', 'drivers'));
  if (drivers.length === 0) {
    lines.add(1, 'Drivers:', '<none>');
    return;
  }
  lines.add(1, 'Drivers:');
  for (const driver of drivers) {
    lines.add(2, `${text(at(driver, 'name'))}:`);
    lines.add(3, 'Node ID:', text(at(driver, 'nodeID')));
    const count = at(driver, 'allocatable', 'count');
    if (count !== undefined) {
      lines.add(3, 'Allocatables:');
      lines.add(4, 'Count:', text(count));
    }
    const keys = list(at(driver, 'topologyKeys'));
    if (keys.length > 0) lines.add(3, 'Topology Keys:', `[${keys.map((k) => text(k)).join(' ')}]`);
  }
}
