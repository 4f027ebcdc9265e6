// The objects the benchmarks create: a volume, claim or class with only the fields a run varies.
// Benchmarks keep their own builders so that changing a test helper never changes a figure.
import type { KubeObject, LabelSelector } from '../../src/api/meta.js';
import type {
  AccessMode,
  PersistentVolume,
  PersistentVolumeClaim,
  StorageClass,
  VolumePhase,
} from '../../src/api/types.js';

export interface BenchVolumeOptions {
  phase?: VolumePhase;
  className?: string;
  accessModes?: AccessMode[];
  labels?: Record<string, string>;
}

/** A hostPath volume under /tmp (never mounted: the binder only reads its spec). */
export function benchVolume(
  name: string,
  capacity: string,
  options: BenchVolumeOptions = {},
): PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, ...(options.labels ? { labels: options.labels } : {}) },
    spec: {
      capacity: { storage: capacity },
      accessModes: options.accessModes ?? ['ReadWriteOnce'],
      ...(options.className !== undefined ? { storageClassName: options.className } : {}),
      hostPath: { path: `/tmp/berth-pv/${name}` },
    },
    ...(options.phase ? { status: { phase: options.phase } } : {}),
  };
}

export interface BenchClaimOptions {
  className?: string;
  accessModes?: AccessMode[];
  selector?: LabelSelector;
}

export function benchClaim(
  name: string,
  request: string,
  options: BenchClaimOptions = {},
): PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: {
      accessModes: options.accessModes ?? ['ReadWriteOnce'],
      resources: { requests: { storage: request } },
      ...(options.className !== undefined ? { storageClassName: options.className } : {}),
      ...(options.selector ? { selector: options.selector } : {}),
    },
  };
}

export function benchClass(name: string, provisioner: string): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  };
}

/** managedFields of one Update by `manager` at `time`, as the API server records a create. */
function createdBy(manager: string, time: string, fieldsV1: unknown): unknown[] {
  return [{ manager, operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1, time }];
}

/**
 * Static volume `pv-<i>` as the scale run creates it through the API (defaults, finalizer and
 * managedFields filled in), or, with `bound`, as that run leaves it once `claim-<i>` is Bound.
 */
export function scaleRunVolume(
  i: number,
  options: { manager: string; time: string; bound?: boolean },
): KubeObject {
  const { manager, time, bound } = options;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: `pv-${i}`,
      finalizers: ['kubernetes.io/pv-protection'],
      managedFields: createdBy(manager, time, {
        'f:metadata': { 'f:finalizers': { '.': {}, 'v:"kubernetes.io/pv-protection"': {} } },
        'f:spec': {
          'f:capacity': { '.': {}, 'f:storage': {} },
          'f:accessModes': {},
          'f:storageClassName': {},
          'f:persistentVolumeReclaimPolicy': {},
          'f:hostPath': { '.': {}, 'f:path': {}, 'f:type': {} },
          'f:volumeMode': {},
        },
      }),
      ...(bound ? { annotations: { 'pv.kubernetes.io/bound-by-controller': 'yes' } } : {}),
    },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'bench-static',
      persistentVolumeReclaimPolicy: 'Retain',
      hostPath: { path: `/tmp/berth-bench-scale/pv-${i}`, type: '' },
      volumeMode: 'Filesystem',
      ...(bound
        ? {
            claimRef: {
              kind: 'PersistentVolumeClaim',
              apiVersion: 'v1',
              namespace: 'default',
              name: `claim-${i}`,
              uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            },
          }
        : {}),
    },
    status: bound ? { phase: 'Bound', lastPhaseTransitionTime: time } : { phase: 'Available' },
  };
}

/** Claim `claim-<i>` as the scale run creates it through the API, still Pending. */
export function scaleRunClaim(i: number, options: { manager: string; time: string }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: `claim-${i}`,
      namespace: 'default',
      finalizers: ['kubernetes.io/pvc-protection'],
      managedFields: createdBy(options.manager, options.time, {
        'f:metadata': { 'f:finalizers': { '.': {}, 'v:"kubernetes.io/pvc-protection"': {} } },
        'f:spec': {
          'f:accessModes': {},
          'f:resources': { 'f:requests': { '.': {}, 'f:storage': {} } },
          'f:storageClassName': {},
          'f:volumeMode': {},
        },
      }),
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'bench-static',
      volumeMode: 'Filesystem',
    },
    status: { phase: 'Pending' },
  };
}
