// Server-side printing: the columns `kubectl get` shows for each kind, with the same headers and
// cell values as the upstream printers (pkg/printers/internalversion). Pure: `now` is passed in.
import type { ColumnDefinition, Printer } from './printer-types.js';
import { tryParseQuantity } from '../api/quantity.js';
import type { KubeObject } from '../api/meta.js';
import { accessModesString } from '../api/access-modes.js';
import { ageOf } from '../api/age.js';
import { isDefaultClass } from '../volume/default-class.js';
import { snapshotPrinters } from './snapshot-printers.js';
import { csiStorageCapacityPrinter } from './capacity-printer.js';

type Json = Record<string, unknown>;

function col(
  name: string,
  description: string,
  priority = 0,
  type: ColumnDefinition['type'] = 'string',
): ColumnDefinition {
  return { name, type, format: name === 'Name' ? 'name' : '', description, priority };
}

const nameColumn = col('Name', 'Name must be unique within a namespace.');
const ageColumn = col('Age', 'The time since the object was created.');

function get(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Json)[p];
  }
  return cur;
}

function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function age(obj: KubeObject, now: Date): string {
  return ageOf(obj.metadata.creationTimestamp, now);
}

export function canonicalQuantity(value: unknown): string {
  if (value === undefined || value === null) return '';
  const q = tryParseQuantity(value);
  return q ? q.toString() : typeof value === 'string' ? value : JSON.stringify(value);
}

function phaseOrTerminating(obj: KubeObject): string {
  if (obj.metadata.deletionTimestamp) return 'Terminating';
  return str(get(obj, 'status', 'phase'));
}

function volumeAttributesClass(obj: KubeObject): string {
  return str(get(obj, 'spec', 'volumeAttributesClassName'), '<unset>');
}

const persistentVolumePrinter: Printer = {
  columns: [
    nameColumn,
    col('Capacity', "capacity is the description of the persistent volume's resources and capacity."),
    col('Access Modes', 'accessModes contains all ways the volume can be mounted.'),
    col(
      'Reclaim Policy',
      'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.',
    ),
    col('Status', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
    col(
      'Claim',
      'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
    ),
    col(
      'StorageClass',
      'storageClassName is the name of StorageClass to which this persistent volume belongs.',
    ),
    col('VolumeAttributesClass', 'Name of VolumeAttributesClass to which this persistent volume belongs.'),
    col('Reason', 'reason is a brief CamelCase string that describes any failure.'),
    ageColumn,
    col(
      'VolumeMode',
      'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.',
      1,
    ),
  ],
  cells(obj, now) {
    const claimRef = get(obj, 'spec', 'claimRef');
    const claim = claimRef ? `${str(get(claimRef, 'namespace'))}/${str(get(claimRef, 'name'))}` : '';
    return [
      obj.metadata.name ?? '',
      canonicalQuantity(get(obj, 'spec', 'capacity', 'storage')),
      accessModesString(get(obj, 'spec', 'accessModes')),
      str(get(obj, 'spec', 'persistentVolumeReclaimPolicy')),
      phaseOrTerminating(obj),
      claim,
      str(get(obj, 'spec', 'storageClassName')),
      volumeAttributesClass(obj),
      str(get(obj, 'status', 'reason')),
      age(obj, now),
      str(get(obj, 'spec', 'volumeMode'), '<unset>'),
    ];
  },
};

const persistentVolumeClaimPrinter: Printer = {
  columns: [
    nameColumn,
    col('Status', 'phase represents the current phase of PersistentVolumeClaim.'),
    col('Volume', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
    col('Capacity', 'capacity represents the actual resources of the underlying volume.'),
    col('Access Modes', 'accessModes contains the actual access modes the volume backing the PVC has.'),
    col('StorageClass', 'storageClassName is the name of the StorageClass required by the claim.'),
    col(
      'VolumeAttributesClass',
      'volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.',
    ),
    ageColumn,
    col('VolumeMode', 'volumeMode defines what type of volume is required by the claim.', 1),
  ],
  cells(obj, now) {
    const volumeName = str(get(obj, 'spec', 'volumeName'));
    const bound = volumeName !== '';
    const storageClass =
      str(get(obj, 'spec', 'storageClassName')) ||
      str(obj.metadata.annotations?.['volume.beta.kubernetes.io/storage-class']);
    return [
      obj.metadata.name ?? '',
      phaseOrTerminating(obj),
      volumeName,
      bound ? canonicalQuantity(get(obj, 'status', 'capacity', 'storage')) : '',
      bound ? accessModesString(get(obj, 'status', 'accessModes')) : '',
      storageClass,
      volumeAttributesClass(obj),
      age(obj, now),
      str(get(obj, 'spec', 'volumeMode'), '<unset>'),
    ];
  },
};

const storageClassPrinter: Printer = {
  columns: [
    nameColumn,
    col('Provisioner', 'provisioner indicates the type of the provisioner.'),
    col(
      'ReclaimPolicy',
      'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.',
    ),
    col(
      'VolumeBindingMode',
      'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.',
    ),
    col('AllowVolumeExpansion', 'allowVolumeExpansion shows whether the storage class allow volume expand.'),
    ageColumn,
  ],
  cells(obj, now) {
    const name = obj.metadata.name ?? '';
    return [
      isDefaultClass(obj) ? `${name} (default)` : name,
      str(obj['provisioner']),
      str(obj['reclaimPolicy'], 'Delete'),
      str(obj['volumeBindingMode'], 'Immediate'),
      obj['allowVolumeExpansion'] === true,
      age(obj, now),
    ];
  },
};

const volumeAttachmentPrinter: Printer = {
  columns: [
    nameColumn,
    col('Attacher', 'Attacher indicates the name of the volume driver that MUST handle this request.'),
    col('PV', 'Name of the persistent volume to attach.'),
    col('Node', 'The node that the volume should be attached to.'),
    col('Attached', 'Indicates the volume is successfully attached.'),
    ageColumn,
  ],
  cells(obj, now) {
    return [
      obj.metadata.name ?? '',
      str(get(obj, 'spec', 'attacher')),
      str(get(obj, 'spec', 'source', 'persistentVolumeName')),
      str(get(obj, 'spec', 'nodeName')),
      get(obj, 'status', 'attached') === true,
      age(obj, now),
    ];
  },
};

function boolOr(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

const csiDriverPrinter: Printer = {
  columns: [
    nameColumn,
    col('AttachRequired', 'Indicates this CSI volume driver requires an attach operation.'),
    col(
      'PodInfoOnMount',
      'Indicates this CSI volume driver requires additional pod information during mount operations.',
    ),
    col('StorageCapacity', 'Indicates this CSI volume driver supports storage capacity tracking.'),
    col('TokenRequests', 'Indicates the service account tokens the driver receives in NodePublishVolume.'),
    col('RequiresRepublish', 'Indicates this CSI volume driver requires periodic NodePublishVolume calls.'),
    col('Modes', 'Lists the volume lifecycle modes this driver supports.'),
    ageColumn,
  ],
  cells(obj, now) {
    const tokens = get(obj, 'spec', 'tokenRequests');
    const audiences = Array.isArray(tokens) ? tokens.map((t) => str(get(t, 'audience'))) : [];
    const modes = get(obj, 'spec', 'volumeLifecycleModes');
    const modeList = Array.isArray(modes) && modes.length > 0 ? (modes as string[]) : ['Persistent'];
    return [
      obj.metadata.name ?? '',
      boolOr(get(obj, 'spec', 'attachRequired'), true),
      boolOr(get(obj, 'spec', 'podInfoOnMount'), false),
      boolOr(get(obj, 'spec', 'storageCapacity'), false),
      audiences.length > 0 ? audiences.join(',') : '<unset>',
      boolOr(get(obj, 'spec', 'requiresRepublish'), false),
      modeList.join(','),
      age(obj, now),
    ];
  },
};

const csiNodePrinter: Printer = {
  columns: [
    nameColumn,
    col('Drivers', 'Drivers indicates the number of CSI drivers registered on the node.', 0, 'integer'),
    ageColumn,
  ],
  cells(obj, now) {
    const drivers = get(obj, 'spec', 'drivers');
    return [obj.metadata.name ?? '', Array.isArray(drivers) ? drivers.length : 0, age(obj, now)];
  },
};

function nodeStatus(obj: KubeObject): string {
  const conditions = get(obj, 'status', 'conditions');
  const ready = Array.isArray(conditions) ? conditions.find((c) => get(c, 'type') === 'Ready') : undefined;
  const parts = [ready === undefined ? 'Unknown' : get(ready, 'status') === 'True' ? 'Ready' : 'NotReady'];
  if (get(obj, 'spec', 'unschedulable') === true) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(obj: KubeObject): string {
  const roles: string[] = [];
  for (const [key, value] of Object.entries(obj.metadata.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/')) roles.push(key.slice('node-role.kubernetes.io/'.length));
    else if (key === 'kubernetes.io/role' && value !== '') roles.push(value);
  }
  return roles.length > 0 ? roles.sort().join(',') : '<none>';
}

function nodeAddress(obj: KubeObject, type: string): string {
  const addresses = get(obj, 'status', 'addresses');
  const found = Array.isArray(addresses) ? addresses.find((a) => get(a, 'type') === type) : undefined;
  return str(get(found, 'address'), '<none>');
}

const nodePrinter: Printer = {
  columns: [
    nameColumn,
    col('Status', 'The status of the node.'),
    col('Roles', 'The roles of the node.'),
    ageColumn,
    col('Version', 'Kubelet Version reported by the node.'),
    col('Internal-IP', 'List of addresses reachable to the node.', 1),
    col('External-IP', 'List of addresses reachable to the node.', 1),
    col('OS-Image', 'OS Image reported by the node from /etc/os-release.', 1),
    col('Kernel-Version', 'Kernel Version reported by the node.', 1),
    col('Container-Runtime', 'Container Runtime Version reported by the node.', 1),
  ],
  cells(obj, now) {
    const info = (name: string): string => str(get(obj, 'status', 'nodeInfo', name), '<unknown>');
    return [
      obj.metadata.name ?? '',
      nodeStatus(obj),
      nodeRoles(obj),
      age(obj, now),
      str(get(obj, 'status', 'nodeInfo', 'kubeletVersion')),
      nodeAddress(obj, 'InternalIP'),
      nodeAddress(obj, 'ExternalIP'),
      info('osImage'),
      info('kernelVersion'),
      info('containerRuntimeVersion'),
    ];
  },
};

function podStatusReason(obj: KubeObject): string {
  let reason = str(get(obj, 'status', 'reason')) || str(get(obj, 'status', 'phase'));
  const statuses = get(obj, 'status', 'containerStatuses');
  for (const s of Array.isArray(statuses) ? statuses : []) {
    const waiting = str(get(s, 'state', 'waiting', 'reason'));
    const terminated = str(get(s, 'state', 'terminated', 'reason'));
    if (waiting) reason = waiting;
    else if (terminated) reason = terminated;
  }
  if (obj.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

const podPrinter: Printer = {
  columns: [
    nameColumn,
    col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'The aggregate status of the containers in this pod.'),
    col(
      'Restarts',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    ageColumn,
    col(
      'IP',
      'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
      1,
    ),
    col('Node', 'NodeName is a request to schedule this pod onto a specific node.', 1),
    col('Nominated Node', 'nominatedNodeName is set when this pod preempts other pods on the node.', 1),
    col('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
  ],
  cells(obj, now) {
    const containers = get(obj, 'spec', 'containers');
    const total = Array.isArray(containers) ? containers.length : 0;
    const statuses = get(obj, 'status', 'containerStatuses');
    const list = Array.isArray(statuses) ? statuses : [];
    const ready = list.filter((s) => get(s, 'ready') === true).length;
    const restarts = list.reduce<number>((sum, s) => sum + (Number(get(s, 'restartCount')) || 0), 0);
    const gates = get(obj, 'spec', 'readinessGates');
    const gateCount = Array.isArray(gates) ? gates.length : 0;
    const conditions = get(obj, 'status', 'conditions');
    const trueGates = Array.isArray(gates)
      ? gates.filter((g) =>
          Array.isArray(conditions)
            ? conditions.some(
                (c) => get(c, 'type') === get(g, 'conditionType') && get(c, 'status') === 'True',
              )
            : false,
        ).length
      : 0;
    return [
      obj.metadata.name ?? '',
      `${ready}/${total}`,
      podStatusReason(obj),
      restarts,
      age(obj, now),
      str(get(obj, 'status', 'podIP'), '<none>'),
      str(get(obj, 'spec', 'nodeName'), '<none>'),
      str(get(obj, 'status', 'nominatedNodeName'), '<none>'),
      gateCount > 0 ? `${trueGates}/${gateCount}` : '<none>',
    ];
  },
};

const namespacePrinter: Printer = {
  columns: [nameColumn, col('Status', 'The status of the namespace'), ageColumn],
  cells: (obj, now) => [obj.metadata.name ?? '', str(get(obj, 'status', 'phase'), 'Active'), age(obj, now)],
};

const statefulSetPrinter: Printer = {
  columns: [
    nameColumn,
    col('Ready', 'Number of the pod with ready state'),
    ageColumn,
    col('Containers', 'Names of each container in the template.', 1),
    col('Images', 'Images referenced by each container in the template.', 1),
  ],
  cells(obj, now) {
    const containers = get(obj, 'spec', 'template', 'spec', 'containers');
    const list = Array.isArray(containers) ? containers : [];
    const replicas = get(obj, 'spec', 'replicas');
    return [
      obj.metadata.name ?? '',
      `${Number(get(obj, 'status', 'readyReplicas')) || 0}/${typeof replicas === 'number' ? replicas : 1}`,
      age(obj, now),
      list.map((c) => str(get(c, 'name'))).join(','),
      list.map((c) => str(get(c, 'image'))).join(','),
    ];
  },
};

const eventPrinter: Printer = {
  columns: [
    col('Last Seen', 'Time when last event occurred'),
    col('Type', 'Type of this event.'),
    col('Reason', 'Reason why this event was generated.'),
    col('Object', 'Object this event is about.'),
    col('Subobject', 'Subobject this event is about.', 1),
    col('Source', 'Source of this event.', 1),
    col('Message', 'Message describing this event.'),
    col('First Seen', 'Time when first event occurred.', 1),
    col('Count', 'Number of times this event has occurred.', 1, 'integer'),
    col('Name', 'Name of this event.', 1),
  ],
  cells(obj, now) {
    const involved = obj['involvedObject'];
    const last = str(obj['lastTimestamp']) || str(obj['eventTime']) || obj.metadata.creationTimestamp;
    const first = str(obj['firstTimestamp']) || str(obj['eventTime']) || obj.metadata.creationTimestamp;
    const source = [str(get(obj, 'source', 'component')), str(get(obj, 'source', 'host'))]
      .filter((s) => s)
      .join(', ');
    return [
      ageOf(last, now),
      str(obj['type']),
      str(obj['reason']),
      `${str(get(involved, 'kind')).toLowerCase()}/${str(get(involved, 'name'))}`,
      str(get(involved, 'fieldPath')),
      source,
      str(obj['message']).trim(),
      ageOf(first, now),
      typeof obj['count'] === 'number' ? obj['count'] : 1,
      obj.metadata.name ?? '',
    ];
  },
};

const leasePrinter: Printer = {
  columns: [nameColumn, col('Holder', 'HolderIdentity of the lease'), ageColumn],
  cells: (obj, now) => [obj.metadata.name ?? '', str(get(obj, 'spec', 'holderIdentity')), age(obj, now)],
};

function dataCount(obj: KubeObject): number {
  const keys = new Set<string>();
  for (const field of ['data', 'binaryData', 'stringData']) {
    const value = obj[field];
    if (typeof value === 'object' && value !== null) for (const k of Object.keys(value)) keys.add(k);
  }
  return keys.size;
}

const secretPrinter: Printer = {
  columns: [
    nameColumn,
    col('Type', 'The type of the secret'),
    col('Data', 'The number of entries', 0, 'integer'),
    ageColumn,
  ],
  cells: (obj, now) => [obj.metadata.name ?? '', str(obj['type'], 'Opaque'), dataCount(obj), age(obj, now)],
};

const configMapPrinter: Printer = {
  columns: [nameColumn, col('Data', 'Number of data in configmap', 0, 'integer'), ageColumn],
  cells: (obj, now) => [obj.metadata.name ?? '', dataCount(obj), age(obj, now)],
};

const serviceAccountPrinter: Printer = {
  columns: [
    nameColumn,
    col(
      'Secrets',
      'Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount',
      0,
      'integer',
    ),
    ageColumn,
  ],
  cells(obj, now) {
    const secrets = obj['secrets'];
    return [obj.metadata.name ?? '', Array.isArray(secrets) ? secrets.length : 0, age(obj, now)];
  },
};

export const genericPrinter: Printer = {
  columns: [nameColumn, ageColumn],
  cells: (obj, now) => [obj.metadata.name ?? '', age(obj, now)],
};

const printersByKind: Readonly<Record<string, Printer>> = {
  PersistentVolume: persistentVolumePrinter,
  PersistentVolumeClaim: persistentVolumeClaimPrinter,
  StorageClass: storageClassPrinter,
  VolumeAttachment: volumeAttachmentPrinter,
  CSIDriver: csiDriverPrinter,
  CSINode: csiNodePrinter,
  CSIStorageCapacity: csiStorageCapacityPrinter,
  Node: nodePrinter,
  Pod: podPrinter,
  Namespace: namespacePrinter,
  StatefulSet: statefulSetPrinter,
  Event: eventPrinter,
  Lease: leasePrinter,
  Secret: secretPrinter,
  ConfigMap: configMapPrinter,
  ServiceAccount: serviceAccountPrinter,
  ...snapshotPrinters,
};

export function printerFor(kind: string): Printer {
  return printersByKind[kind] ?? genericPrinter;
}
