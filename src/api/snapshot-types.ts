// The snapshot.storage.k8s.io/v1 object types (external-snapshotter's API). Field names are
// upstream's; unknown fields survive a read-modify-write through the index signatures.
import type { KubeObject, ObjectReference } from './meta.js';

type Open = { [unknown: string]: unknown };

export const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
export const SNAPSHOT_API_VERSION = 'snapshot.storage.k8s.io/v1';

export type SnapshotDeletionPolicy = 'Delete' | 'Retain';

/** Why the last snapshot step failed; cleared (or replaced) by the next outcome. */
export interface VolumeSnapshotError {
  time?: string;
  message?: string;
}

export interface VolumeSnapshotClass extends KubeObject {
  apiVersion: typeof SNAPSHOT_API_VERSION;
  kind: 'VolumeSnapshotClass';
  driver: string;
  parameters?: Record<string, string>;
  deletionPolicy: SnapshotDeletionPolicy;
}

export interface VolumeSnapshotSource extends Open {
  persistentVolumeClaimName?: string;
  volumeSnapshotContentName?: string;
}

export interface VolumeSnapshotStatus extends Open {
  boundVolumeSnapshotContentName?: string;
  /** RFC 3339 time the backend took the snapshot. */
  creationTime?: string;
  readyToUse?: boolean;
  /** The smallest volume a restore needs (a quantity). */
  restoreSize?: string;
  error?: VolumeSnapshotError;
  volumeGroupSnapshotName?: string;
}

export interface VolumeSnapshot extends KubeObject {
  apiVersion: typeof SNAPSHOT_API_VERSION;
  kind: 'VolumeSnapshot';
  spec: { source: VolumeSnapshotSource; volumeSnapshotClassName?: string } & Open;
  status?: VolumeSnapshotStatus;
}

export interface VolumeSnapshotContentSource extends Open {
  volumeHandle?: string;
  snapshotHandle?: string;
}

export interface VolumeSnapshotContentStatus extends Open {
  snapshotHandle?: string;
  /** Nanoseconds since the epoch, as the CSI driver reported it. */
  creationTime?: number;
  /** Bytes. */
  restoreSize?: number;
  readyToUse?: boolean;
  error?: VolumeSnapshotError;
  volumeGroupSnapshotHandle?: string;
}

export interface VolumeSnapshotContent extends KubeObject {
  apiVersion: typeof SNAPSHOT_API_VERSION;
  kind: 'VolumeSnapshotContent';
  spec: {
    volumeSnapshotRef: ObjectReference;
    deletionPolicy: SnapshotDeletionPolicy;
    driver: string;
    volumeSnapshotClassName?: string;
    source: VolumeSnapshotContentSource;
    sourceVolumeMode?: 'Filesystem' | 'Block';
  } & Open;
  status?: VolumeSnapshotContentStatus;
}
