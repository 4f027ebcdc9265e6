// The storage-relevant Kubernetes object types (core/v1, storage.k8s.io/v1, apps/v1, coordination.k8s.io/v1).
// Field names are upstream's. Every interface keeps unknown fields through an index signature,
// so that objects survive a read-modify-write without losing what berth does not model.
import type { KubeObject, LabelSelector, ObjectMeta, ObjectReference } from './meta.js';

type Open = { [unknown: string]: unknown };

export type AccessMode = 'ReadWriteOnce' | 'ReadOnlyMany' | 'ReadWriteMany' | 'ReadWriteOncePod';
export type VolumeMode = 'Filesystem' | 'Block';
export type ReclaimPolicy = 'Retain' | 'Delete' | 'Recycle';
export type VolumePhase = 'Pending' | 'Available' | 'Bound' | 'Released' | 'Failed';
export type ClaimPhase = 'Pending' | 'Bound' | 'Lost';
export type VolumeBindingMode = 'Immediate' | 'WaitForFirstConsumer';

/** A quantity as written in a manifest ("5Gi", 1000). Parse with api/quantity. */
export type QuantityValue = string | number;

export interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}
export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}
export interface NodeSelector {
  nodeSelectorTerms: NodeSelectorTerm[];
}

export interface SecretReference {
  name?: string;
  namespace?: string;
}
export interface LocalObjectReference {
  name?: string;
}

export interface CSIPersistentVolumeSource extends Open {
  driver: string;
  volumeHandle: string;
  readOnly?: boolean;
  fsType?: string;
  volumeAttributes?: Record<string, string>;
  controllerPublishSecretRef?: SecretReference;
  nodeStageSecretRef?: SecretReference;
  nodePublishSecretRef?: SecretReference;
  controllerExpandSecretRef?: SecretReference;
  nodeExpandSecretRef?: SecretReference;
}
export interface LocalVolumeSource extends Open {
  path: string;
  fsType?: string;
}
export interface HostPathVolumeSource extends Open {
  path: string;
  type?: string;
}
export interface NFSVolumeSource extends Open {
  server: string;
  path: string;
  readOnly?: boolean;
}
export interface RBDVolumeSource extends Open {
  monitors: string[];
  image: string;
  fsType?: string;
  pool?: string;
  user?: string;
  keyring?: string;
  secretRef?: SecretReference;
  readOnly?: boolean;
}
export interface FlexVolumeSource extends Open {
  driver: string;
  fsType?: string;
  secretRef?: LocalObjectReference | SecretReference;
  readOnly?: boolean;
  options?: Record<string, string>;
}

/** The volume sources a PersistentVolume may name; exactly one must be set. */
export const persistentVolumeSources = ['csi', 'local', 'hostPath', 'nfs', 'rbd', 'flexVolume'] as const;
export type PersistentVolumeSourceName = (typeof persistentVolumeSources)[number];

export interface PersistentVolumeSpec extends Open {
  capacity?: { storage?: QuantityValue } & Open;
  accessModes?: AccessMode[];
  persistentVolumeReclaimPolicy?: ReclaimPolicy;
  storageClassName?: string;
  mountOptions?: string[];
  volumeMode?: VolumeMode;
  nodeAffinity?: { required?: NodeSelector } & Open;
  claimRef?: ObjectReference;
  csi?: CSIPersistentVolumeSource;
  local?: LocalVolumeSource;
  hostPath?: HostPathVolumeSource;
  nfs?: NFSVolumeSource;
  rbd?: RBDVolumeSource;
  flexVolume?: FlexVolumeSource;
}
export interface PersistentVolumeStatus extends Open {
  phase?: VolumePhase;
  message?: string;
  reason?: string;
  lastPhaseTransitionTime?: string;
}
export interface PersistentVolume extends KubeObject {
  apiVersion: 'v1';
  kind: 'PersistentVolume';
  spec: PersistentVolumeSpec;
  status?: PersistentVolumeStatus;
}

export interface ResourceRequirements extends Open {
  requests?: Record<string, QuantityValue>;
  limits?: Record<string, QuantityValue>;
}
export interface PersistentVolumeClaimSpec extends Open {
  accessModes?: AccessMode[];
  resources?: ResourceRequirements;
  storageClassName?: string;
  selector?: LabelSelector;
  volumeName?: string;
  volumeMode?: VolumeMode;
}
export interface PersistentVolumeClaimCondition {
  /** Resizing, FileSystemResizePending, ... */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}
export interface PersistentVolumeClaimStatus extends Open {
  phase?: ClaimPhase;
  accessModes?: AccessMode[];
  capacity?: Record<string, QuantityValue>;
  conditions?: PersistentVolumeClaimCondition[];
  /** What the volume is being grown to, while a resize runs (and after it). */
  allocatedResources?: Record<string, QuantityValue>;
  /** ControllerResizeInProgress, NodeResizePending, ...; the entry goes when the resize is done. */
  allocatedResourceStatuses?: Record<string, string>;
}
export interface PersistentVolumeClaim extends KubeObject {
  apiVersion: 'v1';
  kind: 'PersistentVolumeClaim';
  spec: PersistentVolumeClaimSpec;
  status?: PersistentVolumeClaimStatus;
}

export interface Volume extends Open {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  flexVolume?: FlexVolumeSource;
  csi?: {
    driver: string;
    readOnly?: boolean;
    fsType?: string;
    volumeAttributes?: Record<string, string>;
    nodePublishSecretRef?: LocalObjectReference;
  } & Open;
  hostPath?: HostPathVolumeSource;
  nfs?: NFSVolumeSource;
  rbd?: RBDVolumeSource;
  emptyDir?: Open;
}
export interface VolumeMount extends Open {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}
export interface Container extends Open {
  name: string;
  image?: string;
  volumeMounts?: VolumeMount[];
  volumeDevices?: { name: string; devicePath: string }[];
}
export interface PodSpec extends Open {
  volumes?: Volume[];
  containers: Container[];
  initContainers?: Container[];
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: {
    nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector } & Open;
  } & Open;
  schedulerName?: string;
  serviceAccountName?: string;
  activeDeadlineSeconds?: number;
  terminationGracePeriodSeconds?: number;
  tolerations?: Toleration[];
}
export interface Toleration extends Open {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}
export interface PodCondition extends Open {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}
export interface PodStatus extends Open {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  conditions?: PodCondition[];
  message?: string;
  reason?: string;
  /** Written by the node agent: berth's containers start once the pod's volumes are mounted. */
  containerStatuses?: ContainerStatus[];
}
export interface ContainerStatus extends Open {
  name: string;
  state?: { running?: Open; waiting?: Open; terminated?: Open };
}
export interface Pod extends KubeObject {
  apiVersion: 'v1';
  kind: 'Pod';
  spec: PodSpec;
  status?: PodStatus;
}

export interface NodeStatus extends Open {
  conditions?: { type: string; status: string; lastHeartbeatTime?: string; reason?: string }[];
  capacity?: Record<string, QuantityValue>;
  volumesInUse?: string[];
  volumesAttached?: { name: string; devicePath: string }[];
}
export interface Node extends KubeObject {
  apiVersion: 'v1';
  kind: 'Node';
  spec?: Open;
  status?: NodeStatus;
}

export interface Namespace extends KubeObject {
  apiVersion: 'v1';
  kind: 'Namespace';
  spec?: Open;
  status?: { phase?: 'Active' | 'Terminating' } & Open;
}

export interface Secret extends KubeObject {
  apiVersion: 'v1';
  kind: 'Secret';
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface Event extends KubeObject {
  apiVersion: 'v1';
  kind: 'Event';
  involvedObject: ObjectReference;
  reason?: string;
  message?: string;
  type?: 'Normal' | 'Warning';
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  source?: { component?: string; host?: string };
}

export interface TopologySelectorTerm {
  matchLabelExpressions?: { key: string; values: string[] }[];
}
export interface StorageClass extends KubeObject {
  apiVersion: 'storage.k8s.io/v1';
  kind: 'StorageClass';
  provisioner: string;
  parameters?: Record<string, string>;
  reclaimPolicy?: ReclaimPolicy;
  volumeBindingMode?: VolumeBindingMode;
  allowedTopologies?: TopologySelectorTerm[];
  mountOptions?: string[];
  allowVolumeExpansion?: boolean;
}

export interface VolumeAttachment extends KubeObject {
  apiVersion: 'storage.k8s.io/v1';
  kind: 'VolumeAttachment';
  spec: {
    attacher: string;
    nodeName: string;
    source: { persistentVolumeName?: string; inlineVolumeSpec?: PersistentVolumeSpec };
  } & Open;
  status?: {
    attached: boolean;
    attachmentMetadata?: Record<string, string>;
    attachError?: { time?: string; message?: string; errorCode?: number };
    detachError?: { time?: string; message?: string; errorCode?: number };
  } & Open;
}

export interface CSIDriver extends KubeObject {
  apiVersion: 'storage.k8s.io/v1';
  kind: 'CSIDriver';
  spec: {
    attachRequired?: boolean;
    podInfoOnMount?: boolean;
    fsGroupPolicy?: 'None' | 'File' | 'ReadWriteOnceWithFSType';
    requiresRepublish?: boolean;
    storageCapacity?: boolean;
    volumeLifecycleModes?: ('Persistent' | 'Ephemeral')[];
  } & Open;
}

export interface CSINodeDriver extends Open {
  name: string;
  nodeID: string;
  topologyKeys?: string[];
  allocatable?: { count?: number };
}
export interface CSINode extends KubeObject {
  apiVersion: 'storage.k8s.io/v1';
  kind: 'CSINode';
  spec: { drivers: CSINodeDriver[] } & Open;
}

/**
 * storage.k8s.io/v1 CSIStorageCapacity: the result of one GetCapacity call, the free space a driver
 * reports for a class in the topology segment `nodeTopology` selects (a namespaced object; its
 * fields are top-level, there is no spec).
 */
export interface CSIStorageCapacity extends KubeObject {
  apiVersion: 'storage.k8s.io/v1';
  kind: 'CSIStorageCapacity';
  storageClassName: string;
  nodeTopology?: LabelSelector;
  capacity?: QuantityValue;
  maximumVolumeSize?: QuantityValue;
}

export interface PersistentVolumeClaimTemplate extends Open {
  metadata: ObjectMeta;
  spec: PersistentVolumeClaimSpec;
}
export interface StatefulSet extends KubeObject {
  apiVersion: 'apps/v1';
  kind: 'StatefulSet';
  spec: {
    replicas?: number;
    selector: LabelSelector;
    serviceName?: string;
    template: { metadata?: ObjectMeta; spec: PodSpec } & Open;
    volumeClaimTemplates?: PersistentVolumeClaimTemplate[];
    podManagementPolicy?: 'OrderedReady' | 'Parallel';
    persistentVolumeClaimRetentionPolicy?: {
      whenDeleted?: 'Retain' | 'Delete';
      whenScaled?: 'Retain' | 'Delete';
    };
  } & Open;
  status?: { replicas?: number; readyReplicas?: number; currentReplicas?: number } & Open;
}

export interface Lease extends KubeObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  } & Open;
}
