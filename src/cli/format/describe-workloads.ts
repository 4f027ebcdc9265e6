// Describe layouts of pods, nodes and the workloads that make pods.
import type { KubeObject } from '../../api/meta.js';
import { labelSelectorToString } from '../../api/selectors.js';
import type { LabelSelector } from '../../api/meta.js';
import {
  at,
  fieldTitle,
  header,
  labelsAndAnnotations,
  list,
  record,
  text,
  type Lines,
} from './describe-lines.js';
import { describeVolumeSource } from './describe-storage.js';

function describeContainers(lines: Lines, containers: unknown[], level: number): void {
  for (const container of containers) {
    lines.add(level, `${text(at(container, 'name'))}:`);
    lines.add(level + 1, 'Image:', text(at(container, 'image')));
    const mounts = list(at(container, 'volumeMounts'));
    if (mounts.length === 0) lines.add(level + 1, 'Mounts:', '<none>');
    else {
      lines.add(level + 1, 'Mounts:');
      for (const m of mounts) {
        const mode = at(m, 'readOnly') === true ? 'ro' : 'rw';
        lines.add(level + 2, `${text(at(m, 'mountPath'))} from ${text(at(m, 'name'))} (${mode})`);
      }
    }
    const devices = list(at(container, 'volumeDevices'));
    if (devices.length > 0) {
      lines.add(level + 1, 'Devices:');
      for (const d of devices)
        lines.add(level + 2, `${text(at(d, 'devicePath'))} from ${text(at(d, 'name'))}`);
    }
  }
}

/** berth's published host path of each pod volume (set by the node agent), for a container runtime. */
function hostPaths(pod: KubeObject | undefined): Record<string, string> {
  const raw = pod?.metadata.annotations?.['berth.io/volume-paths'];
  if (!raw) return {};
  try {
    return JSON.parse(raw) as Record<string, string>;
  } catch {
    return {};
  }
}

function describePodVolumes(lines: Lines, volumes: unknown[], level: number, pod?: KubeObject): void {
  const published = hostPaths(pod);
  if (volumes.length === 0) {
    lines.add(level, 'Volumes:', '<none>');
    return;
  }
  lines.add(level, 'Volumes:');
  for (const volume of volumes) {
    const name = text(at(volume, 'name'));
    lines.add(level + 1, `${name}:`);
    if (pod) lines.add(level + 2, 'HostPath:', published[name] ?? '<not published yet>');
    const claim = at(volume, 'persistentVolumeClaim');
    if (claim !== undefined) {
      lines.add(
        level + 2,
        'Type:',
        'PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)',
      );
      lines.add(level + 2, 'ClaimName:', text(at(claim, 'claimName')));
      lines.add(level + 2, 'ReadOnly:', text(at(claim, 'readOnly'), 'false'));
    } else {
      const { name: _name, ...rest } = record(volume);
      describeVolumeSource(lines, rest, level + 2);
    }
  }
}

export function describePod(lines: Lines, pod: KubeObject): void {
  const spec = record(pod['spec']);
  header(lines, pod, true);
  lines.add(0, 'Node:', text(spec['nodeName'], '<none>'));
  lines.add(0, 'Start Time:', text(at(pod, 'status', 'startTime'), '<none>'));
  labelsAndAnnotations(lines, pod);
  lines.add(0, 'Status:', text(at(pod, 'status', 'phase')));
  lines.add(0, 'Containers:');
  describeContainers(lines, list(spec['containers']), 1);
  const conditions = list(at(pod, 'status', 'conditions'));
  if (conditions.length > 0) {
    lines.add(0, 'Conditions:');
    lines.add(1, 'Type', 'Status');
    for (const c of conditions) lines.add(1, text(at(c, 'type')), text(at(c, 'status')));
  }
  describePodVolumes(lines, list(spec['volumes']), 0, pod);
}

export function describeNode(lines: Lines, node: KubeObject): void {
  header(lines, node, false);
  labelsAndAnnotations(lines, node);
  lines.add(0, 'CreationTimestamp:', text(node.metadata.creationTimestamp));
  const taints = list(at(node, 'spec', 'taints')).map(
    (t) =>
      `${text(at(t, 'key'))}${at(t, 'value') ? `=${text(at(t, 'value'))}` : ''}:${text(at(t, 'effect'))}`,
  );
  if (taints.length === 0) lines.add(0, 'Taints:', '<none>');
  else taints.forEach((t, i) => lines.add(0, i === 0 ? 'Taints:' : '', t));
  lines.add(0, 'Unschedulable:', text(at(node, 'spec', 'unschedulable'), 'false'));
  const conditions = list(at(node, 'status', 'conditions'));
  if (conditions.length > 0) {
    lines.add(0, 'Conditions:');
    lines.add(1, 'Type', 'Status', 'LastHeartbeatTime', 'Reason', 'Message');
    lines.add(1, '----', '------', '-----------------', '------', '-------');
    for (const c of conditions) {
      lines.add(
        1,
        text(at(c, 'type')),
        text(at(c, 'status')),
        text(at(c, 'lastHeartbeatTime')),
        text(at(c, 'reason')),
        text(at(c, 'message')),
      );
    }
  }
  const addresses = list(at(node, 'status', 'addresses'));
  if (addresses.length > 0) {
    lines.add(0, 'Addresses:');
    for (const a of addresses) lines.add(1, `${text(at(a, 'type'))}:`, text(at(a, 'address')));
  }
  for (const section of ['capacity', 'allocatable']) {
    const values = record(at(node, 'status', section));
    if (Object.keys(values).length === 0) continue;
    lines.add(0, `${fieldTitle(section)}:`);
    for (const key of Object.keys(values).sort()) lines.add(1, `${key}:`, text(values[key]));
  }
}
export function describeStatefulSet(lines: Lines, sts: KubeObject, pods: readonly KubeObject[]): void {
  const spec = record(sts['spec']);
  header(lines, sts, true);
  lines.add(0, 'CreationTimestamp:', text(sts.metadata.creationTimestamp));
  const selector = spec['selector'] as LabelSelector | undefined;
  lines.add(0, 'Selector:', selector ? labelSelectorToString(selector) : '<none>');
  labelsAndAnnotations(lines, sts);
  const desired = text(spec['replicas'], '1');
  lines.add(0, 'Replicas:', `${desired} desired | ${text(at(sts, 'status', 'replicas'), '0')} total`);
  lines.add(0, 'Update Strategy:', text(at(spec, 'updateStrategy', 'type'), 'RollingUpdate'));
  const owned = pods.filter((p) =>
    (p.metadata.ownerReferences ?? []).some((o) => o.uid === sts.metadata.uid),
  );
  const count = (phase: string): number => owned.filter((p) => at(p, 'status', 'phase') === phase).length;
  const waiting = count('Pending');
  lines.add(
    0,
    'Pods Status:',
    `${count('Running')} Running / ${waiting} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed`,
  );
  lines.add(0, 'Pod Template:');
  lines.map(1, 'Labels', record(at(spec, 'template', 'metadata', 'labels')));
  lines.add(1, 'Containers:');
  describeContainers(lines, list(at(spec, 'template', 'spec', 'containers')), 2);
  describePodVolumes(lines, list(at(spec, 'template', 'spec', 'volumes')), 1);
  const templates = list(spec['volumeClaimTemplates']);
  if (templates.length === 0) {
    lines.add(0, 'Volume Claims:', '<none>');
    return;
  }
  lines.add(0, 'Volume Claims:');
  for (const t of templates) {
    lines.add(1, 'Name:', text(at(t, 'metadata', 'name')));
    lines.add(1, 'StorageClass:', text(at(t, 'spec', 'storageClassName')));
    lines.map(1, 'Labels', record(at(t, 'metadata', 'labels')));
    lines.map(1, 'Annotations', record(at(t, 'metadata', 'annotations')), ': ');
    lines.add(1, 'Capacity:', text(at(t, 'spec', 'resources', 'requests', 'storage')));
    lines.add(
      1,
      'Access Modes:',
      `[${list(at(t, 'spec', 'accessModes'))
        .map((m) => text(m))
        .join(' ')}]`,
    );
  }
}
