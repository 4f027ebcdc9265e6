// Structural schemas (zod) for the kinds berth models: field types, and which fields exist.
// Structs whose whole Kubernetes field set berth knows are strict (an unknown field is an error,
// as with the API server's strict field validation); the others are loose, so fields berth does
// not model (container env, other in-tree volume sources, ...) are kept untouched.
import { z } from 'zod';

const str = z.string();
const bool = z.boolean();
const int = z.number().int();
const strMap = z.record(z.string(), z.string());
const strList = z.array(z.string());
const quantity = z.union([z.string(), z.number()]);
const loose = z.looseObject({});

export const ownerReference = z.strictObject({
  apiVersion: str,
  kind: str,
  name: str,
  uid: str,
  controller: bool.optional(),
  blockOwnerDeletion: bool.optional(),
});

const objectMetaDoc = "Standard object's metadata.";

export const objectMeta = z.strictObject({
  name: str.optional(),
  generateName: str.optional(),
  namespace: str.optional(),
  selfLink: str.optional(),
  uid: str.optional(),
  resourceVersion: str.optional(),
  generation: int.optional(),
  creationTimestamp: z.union([str, z.null()]).optional(),
  deletionTimestamp: str.optional(),
  deletionGracePeriodSeconds: int.optional(),
  labels: strMap
    .optional()
    .describe(
      'Map of string keys and values that can be used to organize and categorize (scope and select) objects.',
    ),
  annotations: strMap
    .optional()
    .describe(
      'Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata.',
    ),
  ownerReferences: z.array(ownerReference).optional(),
  finalizers: strList.optional(),
  managedFields: z.array(loose).optional(),
});

const objectReference = z.strictObject({
  apiVersion: str.optional(),
  kind: str.optional(),
  namespace: str.optional(),
  name: str.optional(),
  uid: str.optional(),
  resourceVersion: str.optional(),
  fieldPath: str.optional(),
});

const labelSelector = z.strictObject({
  matchLabels: strMap.optional(),
  matchExpressions: z
    .array(z.strictObject({ key: str, operator: str, values: strList.optional() }))
    .optional(),
});

const nodeSelectorRequirement = z.strictObject({ key: str, operator: str, values: strList.optional() });
const nodeSelector = z.strictObject({
  nodeSelectorTerms: z.array(
    z.strictObject({
      matchExpressions: z.array(nodeSelectorRequirement).optional(),
      matchFields: z.array(nodeSelectorRequirement).optional(),
    }),
  ),
});

const secretReference = z.strictObject({ name: str.optional(), namespace: str.optional() });
const localObjectReference = z.strictObject({ name: str.optional() });

const csiPersistentSource = z.strictObject({
  driver: str,
  volumeHandle: str,
  readOnly: bool.optional(),
  fsType: str.optional(),
  volumeAttributes: strMap.optional(),
  controllerPublishSecretRef: secretReference.optional(),
  nodeStageSecretRef: secretReference.optional(),
  nodePublishSecretRef: secretReference.optional(),
  controllerExpandSecretRef: secretReference.optional(),
  nodeExpandSecretRef: secretReference.optional(),
});
const localSource = z.strictObject({ path: str, fsType: str.optional() });
const hostPathSource = z.strictObject({ path: str, type: str.optional() });
const nfsSource = z.strictObject({ server: str, path: str, readOnly: bool.optional() });
const rbdFields = {
  monitors: strList,
  image: str,
  fsType: str.optional(),
  pool: str.optional(),
  user: str.optional(),
  keyring: str.optional(),
  readOnly: bool.optional(),
};
const rbdPersistentSource = z.strictObject({ ...rbdFields, secretRef: secretReference.optional() });
const rbdPodSource = z.strictObject({ ...rbdFields, secretRef: localObjectReference.optional() });
const flexFields = {
  driver: str,
  fsType: str.optional(),
  readOnly: bool.optional(),
  options: strMap.optional(),
};
const flexPersistentSource = z.strictObject({ ...flexFields, secretRef: secretReference.optional() });
const flexPodSource = z.strictObject({ ...flexFields, secretRef: localObjectReference.optional() });

/** In-tree sources Kubernetes still knows but berth does not drive: kept as they are. */
const otherPersistentSources = Object.fromEntries(
  [
    'awsElasticBlockStore',
    'azureDisk',
    'azureFile',
    'cephfs',
    'cinder',
    'fc',
    'flocker',
    'gcePersistentDisk',
    'glusterfs',
    'iscsi',
    'photonPersistentDisk',
    'portworxVolume',
    'quobyte',
    'scaleIO',
    'storageos',
    'vsphereVolume',
  ].map((k) => [k, loose.optional()]),
);

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

const claimSpec = z.strictObject({
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

const volumeMount = z.looseObject({
  name: str,
  mountPath: str,
  readOnly: bool.optional(),
  subPath: str.optional(),
});
const container = z.looseObject({
  name: str,
  image: str.optional(),
  volumeMounts: z.array(volumeMount).optional(),
  volumeDevices: z.array(z.strictObject({ name: str, devicePath: str })).optional(),
});

const podVolume = z.looseObject({
  name: str,
  persistentVolumeClaim: z.strictObject({ claimName: str, readOnly: bool.optional() }).optional(),
  flexVolume: flexPodSource.optional(),
  csi: z
    .strictObject({
      driver: str,
      readOnly: bool.optional(),
      fsType: str.optional(),
      volumeAttributes: strMap.optional(),
      nodePublishSecretRef: localObjectReference.optional(),
    })
    .optional(),
  hostPath: hostPathSource.optional(),
  nfs: nfsSource.optional(),
  rbd: rbdPodSource.optional(),
});

const nodeAffinity = z.looseObject({
  requiredDuringSchedulingIgnoredDuringExecution: nodeSelector.optional(),
});
export const podSpec = z.looseObject({
  volumes: z.array(podVolume).optional(),
  containers: z.array(container).optional(),
  initContainers: z.array(container).optional(),
  nodeName: str.optional(),
  nodeSelector: strMap.optional(),
  affinity: z.looseObject({ nodeAffinity: nodeAffinity.optional() }).optional(),
  schedulerName: str.optional(),
});

export const pod = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: podSpec,
  status: loose.optional(),
});

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

export const statefulSet = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: z.looseObject({
    replicas: int.optional(),
    selector: labelSelector,
    serviceName: str.optional(),
    template: z.looseObject({ metadata: objectMeta.optional(), spec: podSpec }),
    volumeClaimTemplates: z
      .array(z.looseObject({ metadata: objectMeta, spec: claimSpec, status: loose.optional() }))
      .optional(),
    podManagementPolicy: str.optional(),
    persistentVolumeClaimRetentionPolicy: z
      .strictObject({ whenDeleted: str.optional(), whenScaled: str.optional() })
      .optional(),
  }),
  status: loose.optional(),
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
  StatefulSet: statefulSet,
  Lease: lease,
};
