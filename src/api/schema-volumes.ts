// Schemas of PersistentVolume and PersistentVolumeClaim.
import { z } from 'zod';
import {
  str,
  strList,
  quantity,
  loose,
  objectMeta,
  objectMetaDoc,
  objectReference,
  labelSelector,
  nodeSelector,
  csiPersistentSource,
  localSource,
  hostPathSource,
  nfsSource,
  rbdPersistentSource,
  flexPersistentSource,
  otherPersistentSources,
} from './schema-common.js';

export const persistentVolume = z
  .strictObject({
    apiVersion: str,
    kind: str,
    metadata: objectMeta.describe(objectMetaDoc),
    spec: z
      .strictObject({
        capacity: z
          .record(z.string(), quantity)
          .optional()
          .describe("capacity is the description of the persistent volume's resources and capacity."),
        accessModes: strList.optional().describe('accessModes contains all ways the volume can be mounted.'),
        persistentVolumeReclaimPolicy: str
          .optional()
          .describe(
            'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim: Retain, Delete or Recycle.',
          ),
        storageClassName: str
          .optional()
          .describe('storageClassName is the name of StorageClass to which this persistent volume belongs.'),
        mountOptions: strList.optional(),
        volumeMode: str.optional(),
        volumeAttributesClassName: str.optional(),
        nodeAffinity: z.strictObject({ required: nodeSelector.optional() }).optional(),
        claimRef: objectReference
          .optional()
          .describe(
            'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
          ),
        csi: csiPersistentSource.optional(),
        local: localSource.optional(),
        hostPath: hostPathSource.optional(),
        nfs: nfsSource.optional(),
        rbd: rbdPersistentSource.optional(),
        flexVolume: flexPersistentSource.optional(),
        ...otherPersistentSources,
      })
      .describe('spec defines a specification of a persistent volume owned by the cluster.'),
    status: loose
      .optional()
      .describe('status represents the current information/status for the persistent volume. Read-only.'),
  })
  .describe('PersistentVolume (PV) is a storage resource provisioned by an administrator or a provisioner.');

export const claimSpec = z.strictObject({
  accessModes: strList
    .optional()
    .describe(
      'accessModes contains the desired access modes the volume should have (ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod).',
    ),
  selector: labelSelector
    .optional()
    .describe('selector is a label query over volumes to consider for binding.'),
  resources: z
    .strictObject({
      requests: z.record(z.string(), quantity).optional(),
      limits: z.record(z.string(), quantity).optional(),
    })
    .optional()
    .describe(
      'resources represents the minimum resources the volume should have; requests.storage may only grow, and only when the class allows volume expansion.',
    ),
  volumeName: str
    .optional()
    .describe('volumeName is the binding reference to the PersistentVolume backing this claim.'),
  storageClassName: str
    .optional()
    .describe('storageClassName is the name of the StorageClass required by the claim.'),
  volumeMode: str
    .optional()
    .describe(
      'volumeMode defines what type of volume is required by the claim (Filesystem or Block). Filesystem is implied when not included in the claim spec.',
    ),
  dataSource: loose.optional(),
  dataSourceRef: loose.optional(),
  volumeAttributesClassName: str.optional(),
});

export const persistentVolumeClaim = z
  .strictObject({
    apiVersion: str,
    kind: str,
    metadata: objectMeta.describe(objectMetaDoc),
    spec: claimSpec.describe(
      'spec defines the desired characteristics of a volume requested by a pod author.',
    ),
    status: loose
      .optional()
      .describe('status represents the current information/status of a persistent volume claim. Read-only.'),
  })
  .describe("PersistentVolumeClaim is a user's request for and claim to a persistent volume");
