// Pure: `kubectl describe`-style text for the storage kinds, ending with the object's Events.
// Kinds without a dedicated layout get kubectl's generic one (fields as "Title Case:" lines).
import type { KubeObject } from '../../api/meta.js';
import { labelSelectorToString } from '../../api/selectors.js';
import type { LabelSelector } from '../../api/meta.js';
import { LAST_APPLIED_ANNOTATION } from '../apply-plan.js';
import { accessModesString } from '../../api/access-modes.js';
import { ageOf } from '../../api/age.js';
import { isDefaultClass } from '../../volume/default-class.js';
import { alignTabs } from './tabwriter.js';

export interface DescribeInput {
  object: KubeObject;
  /** Events whose involvedObject is this object. */
  events: readonly KubeObject[];
  /** Pods in the object's namespace, for "Used By" (pvc) and "Pods Status" (sts). */
  pods?: readonly KubeObject[];
  now: Date;
}

type Json = Record<string, unknown>;

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Json)[key];
  }
  return current;
}

function text(value: unknown, fallback = ''): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function record(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

class Lines {
  private out = '';

  /** One line at `level` (2 spaces each); cells are tab-separated and aligned afterwards. */
  add(level: number, ...cells: string[]): void {
    this.out += '  '.repeat(level) + cells.join('\t') + '\n';
  }

  /** `Label:  k=v` then one continuation line per further entry, or `<none>`. */
  map(level: number, label: string, entries: Json | undefined, separator = '=', skip: string[] = []): void {
    const keys = Object.keys(entries ?? {})
      .filter((k) => !skip.includes(k))
      .sort();
    if (keys.length === 0) {
      this.add(level, `${label}:`, '<none>');
      return;
    }
    keys.forEach((key, i) =>
      this.add(level, i === 0 ? `${label}:` : '', `${key}${separator}${text(entries?.[key])}`),
    );
  }

  toString(): string {
    return alignTabs(this.out);
  }
}

function header(lines: Lines, obj: KubeObject, withNamespace: boolean): void {
  lines.add(0, 'Name:', obj.metadata.name ?? '');
  if (withNamespace) lines.add(0, 'Namespace:', obj.metadata.namespace ?? '');
}

function labelsAndAnnotations(lines: Lines, obj: KubeObject): void {
  lines.map(0, 'Labels', obj.metadata.labels);
  lines.map(0, 'Annotations', obj.metadata.annotations, ': ', [LAST_APPLIED_ANNOTATION]);
}

function finalizers(obj: KubeObject): string {
  return `[${(obj.metadata.finalizers ?? []).join(' ')}]`;
}

function describeNodeAffinity(lines: Lines, affinity: unknown): void {
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

function describeVolumeSource(lines: Lines, spec: Json, level: number): void {
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

function isVolumeSourceKey(key: string): boolean {
  return !NOT_SOURCES.has(key);
}

function describePv(lines: Lines, pv: KubeObject): void {
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

function describePvc(lines: Lines, pvc: KubeObject, pods: readonly KubeObject[]): void {
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

function describeSc(lines: Lines, sc: KubeObject): void {
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

function describePod(lines: Lines, pod: KubeObject): void {
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

function describeNode(lines: Lines, node: KubeObject): void {
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

function describeCsiNode(lines: Lines, csiNode: KubeObject): void {
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

function describeStatefulSet(lines: Lines, sts: KubeObject, pods: readonly KubeObject[]): void {
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

/** "volumeHandle" -> "Volume Handle", as kubectl's generic describer titles fields. */
export function fieldTitle(name: string): string {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

function describeValue(lines: Lines, level: number, title: string, value: unknown): void {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) {
      lines.add(level, `${title}:`, value.map((v) => text(v)).join(', '));
      return;
    }
    lines.add(level, `${title}:`);
    for (const item of value) {
      const entries = Object.entries(record(item));
      for (const [k, v] of entries) describeValue(lines, level + 1, fieldTitle(k), v);
    }
    return;
  }
  if (value !== null && typeof value === 'object') {
    lines.add(level, `${title}:`);
    for (const [k, v] of Object.entries(value as Json)) describeValue(lines, level + 1, fieldTitle(k), v);
    return;
  }
  lines.add(level, `${title}:`, text(value));
}

function describeGeneric(lines: Lines, obj: KubeObject): void {
  header(lines, obj, obj.metadata.namespace !== undefined);
  labelsAndAnnotations(lines, obj);
  lines.add(0, 'API Version:', obj.apiVersion);
  lines.add(0, 'Kind:', obj.kind);
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue;
    describeValue(lines, 0, fieldTitle(key), value);
  }
}

function eventTime(event: KubeObject, field: 'firstTimestamp' | 'lastTimestamp'): string | undefined {
  const value = event[field] ?? event['eventTime'] ?? event.metadata.creationTimestamp;
  return typeof value === 'string' ? value : undefined;
}

/** The Events section: `<none>`, or a Type/Reason/Age/From/Message table oldest first. */
function describeEvents(lines: Lines, events: readonly KubeObject[], now: Date): void {
  if (events.length === 0) {
    lines.add(0, 'Events:', '<none>');
    return;
  }
  const sorted = [...events].sort((a, b) =>
    (eventTime(a, 'lastTimestamp') ?? '').localeCompare(eventTime(b, 'lastTimestamp') ?? ''),
  );
  lines.add(0, 'Events:');
  lines.add(1, 'Type', 'Reason', 'Age', 'From', 'Message');
  lines.add(1, '----', '------', '----', '----', '-------');
  for (const event of sorted) {
    const count = typeof event['count'] === 'number' ? event['count'] : 1;
    const last = ageOf(eventTime(event, 'lastTimestamp'), now);
    const age =
      count > 1 ? `${last} (x${count} over ${ageOf(eventTime(event, 'firstTimestamp'), now)})` : last;
    const component = text(at(event, 'source', 'component')) || text(event['reportingComponent']);
    const host = text(at(event, 'source', 'host'));
    const from = host ? `${component}, ${host}` : component;
    lines.add(1, text(event['type']), text(event['reason']), age, from, text(event['message']).trim());
  }
}

/** The whole describe text for one object, ending with a newline. */
export function describeObject(input: DescribeInput): string {
  const lines = new Lines();
  const obj = input.object;
  const pods = input.pods ?? [];
  switch (obj.kind) {
    case 'PersistentVolume':
      describePv(lines, obj);
      break;
    case 'PersistentVolumeClaim':
      describePvc(lines, obj, pods);
      break;
    case 'StorageClass':
      describeSc(lines, obj);
      break;
    case 'Pod':
      describePod(lines, obj);
      break;
    case 'Node':
      describeNode(lines, obj);
      break;
    case 'CSINode':
      describeCsiNode(lines, obj);
      break;
    case 'StatefulSet':
      describeStatefulSet(lines, obj, pods);
      break;
    default:
      describeGeneric(lines, obj);
  }
  describeEvents(lines, input.events, input.now);
  return lines.toString();
}
