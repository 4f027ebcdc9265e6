// Schemas of the storage.k8s.io kinds: StorageClass, VolumeAttachment, CSIDriver, CSINode,
// CSIStorageCapacity.
import { z } from 'zod';
import {
  str,
  bool,
  int,
  strMap,
  strList,
  loose,
  objectMeta,
  objectMetaDoc,
  labelSelector,
  quantity,
} from './schema-common.js';

export const storageClass = z
  .strictObject({
    apiVersion: str,
    kind: str,
    metadata: objectMeta.describe(objectMetaDoc),
    provisioner: str.describe('provisioner indicates the type of the provisioner.'),
    parameters: strMap
      .optional()
      .describe(
        'parameters holds the parameters for the provisioner that should create volumes of this storage class.',
      ),
    reclaimPolicy: str
      .optional()
      .describe(
        'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.',
      ),
    volumeBindingMode: str
      .optional()
      .describe(
        'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound (Immediate or WaitForFirstConsumer).',
      ),
    allowedTopologies: z
      .array(
        z.strictObject({
          matchLabelExpressions: z.array(z.strictObject({ key: str, values: strList })).optional(),
        }),
      )
      .optional(),
    mountOptions: strList.optional(),
    allowVolumeExpansion: bool
      .optional()
      .describe('allowVolumeExpansion shows whether the storage class allows volume expand.'),
  })
  .describe(
    'StorageClass describes the parameters for a class of storage for which PersistentVolumes can be dynamically provisioned.',
  );

export const volumeAttachment = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: z.strictObject({
    attacher: str,
    nodeName: str,
    source: z.strictObject({ persistentVolumeName: str.optional(), inlineVolumeSpec: loose.optional() }),
  }),
  status: loose.optional(),
});

export const csiDriver = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: z.strictObject({
    attachRequired: bool.optional(),
    podInfoOnMount: bool.optional(),
    fsGroupPolicy: str.optional(),
    requiresRepublish: bool.optional(),
    storageCapacity: bool.optional(),
    seLinuxMount: bool.optional(),
    volumeLifecycleModes: strList.optional(),
    tokenRequests: z.array(loose).optional(),
    nodeAllocatableUpdatePeriodSeconds: int.optional(),
  }),
});

export const csiNode = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: z.strictObject({
    drivers: z.array(
      z.strictObject({
        name: str,
        nodeID: str,
        topologyKeys: strList.optional(),
        allocatable: z.strictObject({ count: int.optional() }).optional(),
      }),
    ),
  }),
});

export const csiStorageCapacity = z
  .strictObject({
    apiVersion: str,
    kind: str,
    metadata: objectMeta.describe(objectMetaDoc),
    storageClassName: str.describe(
      'storageClassName represents the name of the StorageClass that the reported capacity applies to. This field is immutable.',
    ),
    nodeTopology: labelSelector
      .optional()
      .describe(
        'nodeTopology defines which nodes have access to the storage for which capacity was reported. If not set, the storage is not accessible from any node in the cluster. This field is immutable.',
      ),
    capacity: quantity
      .optional()
      .describe(
        'capacity is the value reported by the CSI driver in its GetCapacityResponse for a GetCapacityRequest with topology and parameters that match the previous fields.',
      ),
    maximumVolumeSize: quantity
      .optional()
      .describe(
        'maximumVolumeSize is the value reported by the CSI driver in its GetCapacityResponse for a GetCapacityRequest with topology and parameters that match the previous fields.',
      ),
  })
  .describe(
    'CSIStorageCapacity stores the result of one CSI GetCapacity call. For a given StorageClass, this describes the available capacity in a particular topology segment.',
  );
