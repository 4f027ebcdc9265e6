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
  labels: strMap.optional(),
  annotations: strMap.optional(),
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

export const persistentVolume = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: z.strictObject({
    capacity: z.record(z.string(), quantity).optional(),
    accessModes: strList.optional(),
    persistentVolumeReclaimPolicy: str.optional(),
    storageClassName: str.optional(),
    mountOptions: strList.optional(),
    volumeMode: str.optional(),
    volumeAttributesClassName: str.optional(),
    nodeAffinity: z.strictObject({ required: nodeSelector.optional() }).optional(),
    claimRef: objectReference.optional(),
    csi: csiPersistentSource.optional(),
    local: localSource.optional(),
    hostPath: hostPathSource.optional(),
    nfs: nfsSource.optional(),
    rbd: rbdPersistentSource.optional(),
    flexVolume: flexPersistentSource.optional(),
    ...otherPersistentSources,
  }),
  status: loose.optional(),
});

const claimSpec = z.strictObject({
  accessModes: strList.optional(),
  selector: labelSelector.optional(),
  resources: z
    .strictObject({
      requests: z.record(z.string(), quantity).optional(),
      limits: z.record(z.string(), quantity).optional(),
    })
    .optional(),
  volumeName: str.optional(),
  storageClassName: str.optional(),
  volumeMode: str.optional(),
  dataSource: loose.optional(),
  dataSourceRef: loose.optional(),
  volumeAttributesClassName: str.optional(),
});

export const persistentVolumeClaim = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  spec: claimSpec,
  status: loose.optional(),
});

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

export const storageClass = z.strictObject({
  apiVersion: str,
  kind: str,
  metadata: objectMeta,
  provisioner: str,
  parameters: strMap.optional(),
  reclaimPolicy: str.optional(),
  volumeBindingMode: str.optional(),
  allowedTopologies: z
    .array(
      z.strictObject({
        matchLabelExpressions: z.array(z.strictObject({ key: str, values: strList })).optional(),
      }),
    )
    .optional(),
  mountOptions: strList.optional(),
  allowVolumeExpansion: bool.optional(),
});

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
