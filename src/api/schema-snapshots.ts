// Structural schemas (zod) of snapshot.storage.k8s.io/v1: VolumeSnapshotClass, VolumeSnapshot,
// VolumeSnapshotContent, with upstream's field set (strict: an unknown field is an error).
import { z } from 'zod';
import { bool, int, objectMeta, objectReference, quantity, str } from './schema-common.js';

const snapshotError = z
  .strictObject({
    time: str.optional().describe('time is the timestamp when the error was encountered.'),
    message: str
      .optional()
      .describe('message is a string detailing the encountered error during snapshot creation if specified.'),
  })
  .describe('error is the last observed error during snapshot creation, if any.');

const deletionPolicy = str.describe(
  'deletionPolicy determines whether a VolumeSnapshotContent (and its physical snapshot) is deleted when its bound VolumeSnapshot is deleted. "Delete" or "Retain". Required.',
);

const snapshotRef = objectReference;

export const volumeSnapshotClass = z
  .strictObject({
    apiVersion: str,
    kind: str,
    metadata: objectMeta,
    driver: str.describe('driver is the name of the storage driver that handles this VolumeSnapshotClass.'),
    parameters: z
      .record(z.string(), z.string())
      .optional()
      .describe(
        'parameters is a key-value map with storage driver specific parameters for creating snapshots.',
      ),
    deletionPolicy,
  })
  .describe(
    'VolumeSnapshotClass specifies parameters that an underlying storage system uses when creating a volume snapshot.',
  );

export const volumeSnapshot = z
  .strictObject({
    apiVersion: str,
    kind: str,
    metadata: objectMeta,
    spec: z
      .strictObject({
        source: z
          .strictObject({
            persistentVolumeClaimName: str
              .optional()
              .describe(
                'persistentVolumeClaimName specifies the name of the PersistentVolumeClaim object representing the volume from which a snapshot should be created. This field is immutable.',
              ),
            volumeSnapshotContentName: str
              .optional()
              .describe(
                'volumeSnapshotContentName specifies the name of a pre-existing VolumeSnapshotContent object representing an existing volume snapshot. This field is immutable.',
              ),
          })
          .describe(
            'source specifies where a snapshot will be created from. Exactly one of its members must be set.',
          ),
        volumeSnapshotClassName: str
          .optional()
          .describe(
            'VolumeSnapshotClassName is the name of the VolumeSnapshotClass requested by the VolumeSnapshot.',
          ),
      })
      .describe('spec defines the desired characteristics of a snapshot requested by a user.'),
    status: z
      .strictObject({
        boundVolumeSnapshotContentName: str.optional(),
        creationTime: str.optional(),
        readyToUse: bool.optional(),
        restoreSize: quantity.optional(),
        error: snapshotError.optional(),
        volumeGroupSnapshotName: str.optional(),
      })
      .optional(),
  })
  .describe(
    "VolumeSnapshot is a user's request for either creating a point-in-time snapshot of a persistent volume, or binding to a pre-existing snapshot.",
  );

export const volumeSnapshotContent = z
  .strictObject({
    apiVersion: str,
    kind: str,
    metadata: objectMeta,
    spec: z.strictObject({
      volumeSnapshotRef: snapshotRef.describe(
        'volumeSnapshotRef specifies the VolumeSnapshot object to which this VolumeSnapshotContent object is bound.',
      ),
      deletionPolicy,
      driver: str.describe('driver is the name of the CSI driver used to create the physical snapshot.'),
      volumeSnapshotClassName: str.optional(),
      source: z
        .strictObject({
          volumeHandle: str.optional(),
          snapshotHandle: str.optional(),
        })
        .describe(
          'source specifies whether the snapshot is (or should be) dynamically provisioned or already exists. Exactly one of its members must be set.',
        ),
      sourceVolumeMode: str.optional(),
    }),
    status: z
      .strictObject({
        snapshotHandle: str.optional(),
        creationTime: z
          .number()
          .optional()
          .describe('creationTime is the time the snapshot was taken, in nanoseconds since the epoch.'),
        restoreSize: int.optional(),
        readyToUse: bool.optional(),
        error: snapshotError.optional(),
        volumeGroupSnapshotHandle: str.optional(),
      })
      .optional(),
  })
  .describe(
    'VolumeSnapshotContent represents the actual "on-disk" snapshot object in the underlying storage system.',
  );

export const snapshotSchemaByKind: Record<string, z.ZodType> = {
  VolumeSnapshotClass: volumeSnapshotClass,
  VolumeSnapshot: volumeSnapshot,
  VolumeSnapshotContent: volumeSnapshotContent,
};
