// Schemas of pods and the workloads that make them.
import { z } from 'zod';
import {
  str,
  bool,
  int,
  strMap,
  loose,
  objectMeta,
  labelSelector,
  nodeSelector,
  localObjectReference,
  hostPathSource,
  nfsSource,
  rbdPodSource,
  flexPodSource,
} from './schema-common.js';
import { claimSpec } from './schema-volumes.js';

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
