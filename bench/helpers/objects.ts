// The objects the benchmarks create: a volume, claim or class with only the fields a run varies.
// Benchmarks keep their own builders so that changing a test helper never changes a figure.
import type { LabelSelector } from '../../src/api/meta.js';
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
