// The objects the snapshot end-to-end tests make: a ReadWriteOnce claim (optionally restored or
// cloned from a data source), a VolumeSnapshot of a claim, and data-source references.
import type { VolumeSnapshot } from '../../src/api/snapshot-types.js';
import type { PersistentVolumeClaim } from '../../src/api/types.js';

export const SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';

export const claim = (
  name: string,
  className: string,
  size: string,
  dataSource?: Record<string, string>,
): PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'default' },
  spec: {
    accessModes: ['ReadWriteOnce'],
    storageClassName: className,
    resources: { requests: { storage: size } },
    ...(dataSource ? { dataSource } : {}),
  },
});

export const snapshotOf = (name: string, claimName: string, className?: string): VolumeSnapshot => ({
  apiVersion: SNAPSHOT_API,
  kind: 'VolumeSnapshot',
  metadata: { name, namespace: 'default' },
  spec: {
    source: { persistentVolumeClaimName: claimName },
    ...(className ? { volumeSnapshotClassName: className } : {}),
  },
});

export const fromSnapshot = (name: string) => ({
  apiGroup: 'snapshot.storage.k8s.io',
  kind: 'VolumeSnapshot',
  name,
});

export const fromClaim = (name: string) => ({ kind: 'PersistentVolumeClaim', name });
