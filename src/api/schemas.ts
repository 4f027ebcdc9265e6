// Structural schemas (zod) for the kinds berth models: field types, and which fields exist.
// Structs whose whole Kubernetes field set berth knows are strict (an unknown field is an error,
// as with the API server's strict field validation); the others are loose, so fields berth does
// not model (container env, other in-tree volume sources, ...) are kept untouched.
import { z } from 'zod';
import { bool, int, loose, objectMeta, objectReference, str, strMap } from './schema-common.js';
import { persistentVolume, persistentVolumeClaim } from './schema-volumes.js';
import { csiDriver, csiNode, csiStorageCapacity, storageClass, volumeAttachment } from './schema-storage.js';
import { pod, statefulSet } from './schema-workloads.js';
import { snapshotSchemaByKind } from './schema-snapshots.js';

export { objectMeta, ownerReference } from './schema-common.js';
export { persistentVolume, persistentVolumeClaim } from './schema-volumes.js';
export { csiDriver, csiNode, csiStorageCapacity, storageClass, volumeAttachment } from './schema-storage.js';
export { pod, podSpec, statefulSet } from './schema-workloads.js';

const plain = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: loose.optional(),
  status: loose.optional(),
});

export const secret = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  type: str.optional(),
  data: strMap.optional(),
  stringData: strMap.optional(),
  immutable: bool.optional(),
});

export const event = z.looseObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  involvedObject: objectReference,
  reason: str.optional(),
  message: str.optional(),
  type: str.optional(),
  count: int.optional(),
});

export const lease = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: z.strictObject({
    holderIdentity: str.optional(),
    leaseDurationSeconds: int.optional(),
    acquireTime: str.optional(),
    renewTime: str.optional(),
    leaseTransitions: int.optional(),
    strategy: str.optional(),
    preferredHolder: str.optional(),
  }),
});

/** Metadata-only schema for companion kinds (ConfigMap, Service, ...): everything else is kept. */
export const companion = z.looseObject({ apiVersion: str, kind: str, metadata: objectMeta });

export const schemaByKind: Record<string, z.ZodType> = {
  PersistentVolume: persistentVolume,
  PersistentVolumeClaim: persistentVolumeClaim,
  Pod: pod,
  Node: plain,
  Namespace: plain,
  Secret: secret,
  Event: event,
  StorageClass: storageClass,
  VolumeAttachment: volumeAttachment,
  CSIDriver: csiDriver,
  CSINode: csiNode,
  CSIStorageCapacity: csiStorageCapacity,
  StatefulSet: statefulSet,
  Lease: lease,
  ...snapshotSchemaByKind,
};
