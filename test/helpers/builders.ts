// Object builders for storage tests: a volume, claim, class or pod in one call, with the options
// that test tables vary. Everything not asked for is left out, as a user's manifest would.
import type { LabelSelector } from '../../src/api/meta.js';
import type {
  AccessMode,
  ClaimPhase,
  PersistentVolume,
  PersistentVolumeClaim,
  PersistentVolumeSpec,
  Pod,
  ReclaimPolicy,
  StorageClass,
  VolumeBindingMode,
  VolumeMode,
  VolumePhase,
} from '../../src/api/types.js';

export interface VolumeOptions {
  /** Pre-bind to a claim: name, with namespace (default "default") and uid when given. */
  claim?: { name: string; namespace?: string; uid?: string };
  phase?: VolumePhase;
  policy?: ReclaimPolicy;
  className?: string;
  accessModes?: AccessMode[];
  volumeMode?: VolumeMode;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  uid?: string;
  deletionTimestamp?: string;
  /** Which source to give it (default hostPath under /tmp/berth-pv/<name>). */
  source?: 'hostPath' | 'local' | 'nfs' | 'csi' | 'rbd';
  /** Path for hostPath/local sources. */
  path?: string;
  /** Required node affinity to this hostname. */
  node?: string;
}

export function newVolume(name: string, capacity: string, options: VolumeOptions = {}): PersistentVolume {
  const spec: PersistentVolumeSpec = {
    capacity: { storage: capacity },
    accessModes: options.accessModes ?? ['ReadWriteOnce'],
  };
  if (options.policy) spec.persistentVolumeReclaimPolicy = options.policy;
  if (options.className !== undefined) spec.storageClassName = options.className;
  if (options.volumeMode) spec.volumeMode = options.volumeMode;
  const path = options.path ?? `/tmp/berth-pv/${name}`;
  switch (options.source ?? 'hostPath') {
    case 'hostPath':
      spec.hostPath = { path };
      break;
    case 'local':
      spec.local = { path };
      break;
    case 'nfs':
      spec.nfs = { server: '127.0.0.1', path: `/exports/${name}` };
      break;
    case 'csi':
      spec.csi = { driver: 'local.csi.berth.dev', volumeHandle: name };
      break;
    case 'rbd':
      spec.rbd = { monitors: ['127.0.0.1:6789'], image: name };
      break;
  }
  if (options.claim) {
    spec.claimRef = {
      kind: 'PersistentVolumeClaim',
      apiVersion: 'v1',
      namespace: options.claim.namespace ?? 'default',
      name: options.claim.name,
      ...(options.claim.uid !== undefined ? { uid: options.claim.uid } : {}),
    };
  }
  if (options.node) {
    spec.nodeAffinity = {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [options.node] }] },
        ],
      },
    };
  }
  const volume: PersistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.finalizers ? { finalizers: options.finalizers } : {}),
      ...(options.deletionTimestamp ? { deletionTimestamp: options.deletionTimestamp } : {}),
    },
    spec,
  };
  if (options.phase) volume.status = { phase: options.phase };
  return volume;
}

export interface ClaimOptions {
  namespace?: string;
  uid?: string;
  volumeName?: string;
  phase?: ClaimPhase;
  /** A class name, or null to leave spec.storageClassName unset (the default). */
  className?: string | null;
  accessModes?: AccessMode[];
  volumeMode?: VolumeMode;
  selector?: LabelSelector;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
}

export function newClaim(name: string, request: string, options: ClaimOptions = {}): PersistentVolumeClaim {
  const claim: PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace: options.namespace ?? 'default',
      uid: options.uid ?? `uid-${name}`,
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.finalizers ? { finalizers: options.finalizers } : {}),
      ...(options.deletionTimestamp ? { deletionTimestamp: options.deletionTimestamp } : {}),
    },
    spec: {
      accessModes: options.accessModes ?? ['ReadWriteOnce'],
      resources: { requests: { storage: request } },
    },
  };
  if (options.className !== undefined && options.className !== null)
    claim.spec.storageClassName = options.className;
  if (options.volumeName !== undefined) claim.spec.volumeName = options.volumeName;
  if (options.volumeMode) claim.spec.volumeMode = options.volumeMode;
  if (options.selector) claim.spec.selector = options.selector;
  if (options.phase) claim.status = { phase: options.phase };
  return claim;
}

export interface ClassOptions {
  provisioner?: string;
  bindingMode?: VolumeBindingMode;
  isDefault?: boolean;
  reclaimPolicy?: ReclaimPolicy;
  creationTimestamp?: string;
}

export function newClass(name: string, options: ClassOptions = {}): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name,
      ...(options.isDefault
        ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }
        : {}),
      ...(options.creationTimestamp ? { creationTimestamp: options.creationTimestamp } : {}),
    },
    provisioner: options.provisioner ?? 'kubernetes.io/no-provisioner',
    reclaimPolicy: options.reclaimPolicy ?? 'Delete',
    volumeBindingMode: options.bindingMode ?? 'Immediate',
  };
}

export interface PodOptions {
  namespace?: string;
  nodeName?: string;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
}

export function newPod(name: string, claimNames: string[], options: PodOptions = {}): Pod {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: options.namespace ?? 'default', uid: `uid-pod-${name}` },
    spec: {
      containers: [{ name: 'app', image: 'busybox' }],
      volumes: claimNames.map((claimName, i) => ({ name: `vol${i}`, persistentVolumeClaim: { claimName } })),
      ...(options.nodeName ? { nodeName: options.nodeName } : {}),
    },
  };
  if (options.phase) pod.status = { phase: options.phase };
  return pod;
}
