// The PersistentVolume for a driver's CreateVolume answer, as external-provisioner builds it. Pure.
import type { ObjectReference } from '../api/meta.js';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../api/types.js';
import { quantityFromBytes } from '../api/quantity.js';
import type { PartialMessage, Volume } from '../csi/types.js';
import { toBigInt } from '../csi/types.js';
import { ANN_DYNAMICALLY_PROVISIONED, FINALIZER_PV_PROTECTION } from '../volume/annotations.js';
import { claimClass, volumeModeOf } from '../volume/match.js';
import {
  ANN_DELETION_SECRET_NAME,
  ANN_DELETION_SECRET_NAMESPACE,
  ANN_PROVISIONED_ON_NODE,
  ATTR_PROVISIONER_IDENTITY,
  FINALIZER_EXTERNAL_PROVISIONER,
} from '../volume/provisioning-names.js';
import { PlanError } from '../volume/plan-error.js';
import { nodeAffinityFor } from './topology.js';

import type { ProvisionPlan } from './create-request.js';

export interface VolumeInputs {
  claim: PersistentVolumeClaim;
  storageClass: StorageClass;
  driverName: string;
  plan: ProvisionPlan;
  /** The driver's answer. */
  volume: PartialMessage<Volume>;
  /** storage.kubernetes.io/csiProvisionerIdentity. */
  identity: string;
  /** Node-deployment mode: the node that made it. */
  nodeName?: string;
  /** When it was made: its phase's transition time. */
  now: Date;
}

/**
 * The PersistentVolume for a created volume, pre-bound to its claim and so Bound from the start
 * (Kubernetes' binder counts a volume whose claimRef carries the claim's uid as Bound while the
 * claim catches up; written at creation, the binder's status write is saved). Throws a PlanError when the
 * driver made a volume smaller than asked (the caller deletes it and tries again).
 */
export function buildVolume(inputs: VolumeInputs): PersistentVolume {
  const { claim, storageClass, driverName, plan, volume } = inputs;
  let bytes = toBigInt(volume.capacity_bytes ?? '0');
  if (bytes === 0n) bytes = plan.requestedBytes;
  if (bytes < plan.requestedBytes) {
    throw new PlanError(
      `created volume capacity ${bytes} less than requested capacity ${plan.requestedBytes}`,
    );
  }
  const claimRef: ObjectReference = {
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    namespace: claim.metadata.namespace ?? '',
    name: claim.metadata.name ?? '',
    uid: claim.metadata.uid ?? '',
  };
  const deletionSecret = plan.provisionerSecretRef;
  const annotations: Record<string, string> = {
    [ANN_DYNAMICALLY_PROVISIONED]: driverName,
    [ANN_DELETION_SECRET_NAME]: deletionSecret?.name ?? '',
    [ANN_DELETION_SECRET_NAMESPACE]: deletionSecret?.namespace ?? '',
  };
  if (inputs.nodeName !== undefined) annotations[ANN_PROVISIONED_ON_NODE] = inputs.nodeName;
  const topologies = (volume.accessible_topology ?? []).map((t) => ({
    segments: definedValues(t?.segments),
  }));
  const nodeAffinity = nodeAffinityFor(topologies);
  const pv: PersistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    // pv-protection as the API server's admission adds it to every PV (this write bypasses admission)
    metadata: {
      name: plan.volumeName,
      annotations,
      finalizers: [FINALIZER_EXTERNAL_PROVISIONER, FINALIZER_PV_PROTECTION],
    },
    spec: {
      capacity: { storage: quantityFromBytes(bytes).toString() },
      accessModes: [...(claim.spec.accessModes ?? [])],
      volumeMode: volumeModeOf(claim.spec),
      persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
      storageClassName: claimClass(claim),
      claimRef,
      csi: {
        driver: driverName,
        volumeHandle: volume.volume_id ?? '',
        volumeAttributes: { ...(volume.volume_context ?? {}), [ATTR_PROVISIONER_IDENTITY]: inputs.identity },
        ...(plan.fsType !== undefined ? { fsType: plan.fsType } : {}),
        ...plan.volumeSecretRefs,
      },
    },
  };
  pv.status = { phase: 'Bound', lastPhaseTransitionTime: inputs.now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  if (storageClass.mountOptions && storageClass.mountOptions.length > 0)
    pv.spec.mountOptions = [...storageClass.mountOptions];
  if (nodeAffinity) pv.spec.nodeAffinity = { required: nodeAffinity };
  return pv;
}

function definedValues(map: Partial<Record<string, string | undefined>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map ?? {})) if (v !== undefined) out[k] = v;
  return out;
}
