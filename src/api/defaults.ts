// Defaulting as the API server does it before validation (pkg/apis/*/v1/defaults.go upstream).
// Mutates and returns the object it is given.
import type { KindInfo } from './kinds.js';
import type { KubeObject } from './meta.js';
import type {
  CSIDriver,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Secret,
  StatefulSet,
  StorageClass,
} from './types.js';

export function applyDefaults(obj: KubeObject, info: KindInfo): KubeObject {
  if (info.namespaced) {
    if (!obj.metadata.namespace) obj.metadata.namespace = 'default';
  } else {
    // the API server drops a namespace sent with a cluster-scoped object
    delete obj.metadata.namespace;
  }
  switch (obj.kind) {
    case 'PersistentVolume': {
      const pv = obj as PersistentVolume;
      pv.spec ??= {};
      pv.spec.persistentVolumeReclaimPolicy ??= 'Retain';
      pv.spec.volumeMode ??= 'Filesystem';
      if (pv.spec.hostPath) pv.spec.hostPath.type ??= '';
      pv.status ??= {};
      pv.status.phase ??= 'Pending';
      break;
    }
    case 'PersistentVolumeClaim': {
      const pvc = obj as PersistentVolumeClaim;
      pvc.spec ??= {};
      pvc.spec.volumeMode ??= 'Filesystem';
      pvc.status ??= {};
      pvc.status.phase ??= 'Pending';
      break;
    }
    case 'StorageClass': {
      const sc = obj as StorageClass;
      sc.reclaimPolicy ??= 'Delete';
      sc.volumeBindingMode ??= 'Immediate';
      break;
    }
    case 'Pod': {
      const pod = obj as Pod;
      pod.spec ??= { containers: [] };
      pod.spec.schedulerName ??= 'default-scheduler';
      for (const v of pod.spec.volumes ?? []) if (v.hostPath) v.hostPath.type ??= '';
      pod.status ??= {};
      pod.status.phase ??= 'Pending';
      break;
    }
    case 'StatefulSet': {
      const sts = obj as StatefulSet;
      sts.spec ??= {} as StatefulSet['spec'];
      sts.spec.replicas ??= 1;
      sts.spec.podManagementPolicy ??= 'OrderedReady';
      sts.spec['revisionHistoryLimit'] ??= 10;
      sts.spec['updateStrategy'] ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
      sts.spec.persistentVolumeClaimRetentionPolicy = {
        whenDeleted: 'Retain',
        whenScaled: 'Retain',
        ...sts.spec.persistentVolumeClaimRetentionPolicy,
      };
      for (const t of sts.spec.volumeClaimTemplates ?? []) {
        t.spec ??= {};
        t.spec.volumeMode ??= 'Filesystem';
      }
      break;
    }
    case 'CSIDriver': {
      const d = obj as CSIDriver;
      d.spec ??= {};
      d.spec.attachRequired ??= true;
      d.spec.podInfoOnMount ??= false;
      d.spec.requiresRepublish ??= false;
      d.spec.storageCapacity ??= false;
      d.spec.fsGroupPolicy ??= 'ReadWriteOnceWithFSType';
      d.spec.volumeLifecycleModes ??= ['Persistent'];
      break;
    }
    case 'Secret': {
      const s = obj as Secret;
      s.type ??= 'Opaque';
      break;
    }
    default:
      break;
  }
  return obj;
}
