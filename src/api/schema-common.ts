// Building blocks shared by the kinds' schemas (zod): primitives, object metadata, references,
// selectors and the volume sources both PersistentVolumes and pods use.
import { z } from 'zod';

export const str = z.string();
export const bool = z.boolean();
export const int = z.number().int();
export const strMap = z.record(z.string(), z.string());
export const strList = z.array(z.string());
export const quantity = z.union([z.string(), z.number()]);
export const loose = z.looseObject({});

export const ownerReference = z.strictObject({
  apiVersion: str,
  kind: str,
  name: str,
  uid: str,
  controller: bool.optional(),
  blockOwnerDeletion: bool.optional(),
});

export const objectMetaDoc = "Standard object's metadata.";

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

export const objectReference = z.strictObject({
  apiVersion: str.optional(),
  kind: str.optional(),
  namespace: str.optional(),
  name: str.optional(),
  uid: str.optional(),
  resourceVersion: str.optional(),
  fieldPath: str.optional(),
});

export const labelSelector = z.strictObject({
  matchLabels: strMap.optional(),
  matchExpressions: z
    .array(z.strictObject({ key: str, operator: str, values: strList.optional() }))
    .optional(),
});

const nodeSelectorRequirement = z.strictObject({ key: str, operator: str, values: strList.optional() });
export const nodeSelector = z.strictObject({
  nodeSelectorTerms: z.array(
    z.strictObject({
      matchExpressions: z.array(nodeSelectorRequirement).optional(),
      matchFields: z.array(nodeSelectorRequirement).optional(),
    }),
  ),
});

export const secretReference = z.strictObject({ name: str.optional(), namespace: str.optional() });
export const localObjectReference = z.strictObject({ name: str.optional() });

export const csiPersistentSource = z.strictObject({
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
export const localSource = z.strictObject({ path: str, fsType: str.optional() });
export const hostPathSource = z.strictObject({ path: str, type: str.optional() });
export const nfsSource = z.strictObject({ server: str, path: str, readOnly: bool.optional() });
const rbdFields = {
  monitors: strList,
  image: str,
  fsType: str.optional(),
  pool: str.optional(),
  user: str.optional(),
  keyring: str.optional(),
  readOnly: bool.optional(),
};
export const rbdPersistentSource = z.strictObject({ ...rbdFields, secretRef: secretReference.optional() });
export const rbdPodSource = z.strictObject({ ...rbdFields, secretRef: localObjectReference.optional() });
const flexFields = {
  driver: str,
  fsType: str.optional(),
  readOnly: bool.optional(),
  options: strMap.optional(),
};
export const flexPersistentSource = z.strictObject({ ...flexFields, secretRef: secretReference.optional() });
export const flexPodSource = z.strictObject({ ...flexFields, secretRef: localObjectReference.optional() });

/** In-tree sources Kubernetes still knows but berth does not drive: kept as they are. */
export const otherPersistentSources = Object.fromEntries(
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
