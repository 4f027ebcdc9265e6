// The CreateVolume request for a claim and its class: name, capacity, capabilities, parameters
// (reserved ones removed), secrets and topology. Pure.
import type { PersistentVolumeClaim, SecretReference, StorageClass } from '../api/types.js';
import type { CreateVolumeRequest, PartialMessage, VolumeCapability } from '../csi/types.js';
import { fromBigInt } from '../csi/types.js';
import { requestedBytes, volumeModeOf } from '../volume/match.js';
import type { DriverCapabilities } from './capabilities.js';
import { csiAccessMode } from './capabilities.js';
import {
  DEFAULT_FSTYPE,
  PARAM_FSTYPE,
  PARAM_LEGACY_FSTYPE,
  RESERVED_PARAMETER_PREFIX,
} from '../volume/provisioning-names.js';
import { PlanError } from '../volume/plan-error.js';
import type { SecretTemplateContext } from '../volume/secrets.js';
import { KNOWN_RESERVED_PARAMETERS, secretReference } from '../volume/secrets.js';
import type { TopologyView } from './topology.js';
import { accessibilityRequirements } from './topology.js';

import { volumeNameFor, selectedNodeOf } from './claim-plan.js';

export interface ProvisionInputs {
  claim: PersistentVolumeClaim;
  storageClass: StorageClass;
  driverName: string;
  capabilities: DriverCapabilities;
  topology: TopologyView;
}

export interface VolumeSecretRefs {
  controllerPublishSecretRef?: SecretReference;
  nodeStageSecretRef?: SecretReference;
  nodePublishSecretRef?: SecretReference;
  controllerExpandSecretRef?: SecretReference;
  nodeExpandSecretRef?: SecretReference;
}

export interface ProvisionPlan {
  volumeName: string;
  /** Everything but the secrets, which the caller reads from provisionerSecretRef. */
  request: Omit<PartialMessage<CreateVolumeRequest>, 'secrets'>;
  provisionerSecretRef: SecretReference | undefined;
  volumeSecretRefs: VolumeSecretRefs;
  /** Undefined for Block volumes. */
  fsType: string | undefined;
  requestedBytes: bigint;
  selectedNode: string | undefined;
}

/** prepareProvision: the CreateVolume request for a claim. Throws PlanError when it cannot be built. */
export function planProvision(inputs: ProvisionInputs): ProvisionPlan {
  const { claim, storageClass, driverName, capabilities } = inputs;
  if (claim.spec.selector) throw new PlanError('claim Selector is not supported');
  const volumeName = volumeNameFor(claim);
  const parameters = storageClass.parameters ?? {};
  const volumeMode = volumeModeOf(claim.spec);
  const fsType = volumeMode === 'Block' ? undefined : (fsTypeParameter(parameters) ?? DEFAULT_FSTYPE);
  const mode = csiAccessMode(claim.spec.accessModes ?? [], capabilities.singleNodeMultiWriter);
  const capability: PartialMessage<VolumeCapability> =
    volumeMode === 'Block'
      ? { block: {}, access_mode: { mode } }
      : {
          mount: { fs_type: fsType ?? '', mount_flags: [...(storageClass.mountOptions ?? [])] },
          access_mode: { mode },
        };
  const bytes = requestedBytes(claim);
  const selectedNode = selectedNodeOf(claim);
  const context: SecretTemplateContext = {
    pvName: volumeName,
    pvc: {
      name: claim.metadata.name ?? '',
      namespace: claim.metadata.namespace ?? '',
      annotations: claim.metadata.annotations ?? {},
    },
  };
  const request: ProvisionPlan['request'] = {
    name: volumeName,
    capacity_range: { required_bytes: fromBigInt(bytes) },
    volume_capabilities: [capability],
    // external-provisioner's --extra-create-metadata, always on: drivers may template with them
    parameters: {
      ...driverParameters(parameters),
      'csi.storage.k8s.io/pvc/name': claim.metadata.name ?? '',
      'csi.storage.k8s.io/pvc/namespace': claim.metadata.namespace ?? '',
      'csi.storage.k8s.io/pv/name': volumeName,
    },
  };
  if (capabilities.topology) {
    request.accessibility_requirements = accessibilityRequirements(
      driverName,
      selectedNode,
      storageClass.allowedTopologies,
      inputs.topology,
    );
  }
  return {
    volumeName,
    request,
    provisionerSecretRef: secretReference('provisioner', parameters, context),
    volumeSecretRefs: volumeSecretRefs(parameters, context),
    fsType,
    requestedBytes: bytes,
    selectedNode,
  };
}

function fsTypeParameter(parameters: Record<string, string>): string | undefined {
  const legacyKey = Object.keys(parameters).find((k) => k.toLowerCase() === PARAM_LEGACY_FSTYPE);
  const current = parameters[PARAM_FSTYPE];
  if (legacyKey !== undefined && current !== undefined) {
    throw new PlanError(`fstype specified in parameters with both "${legacyKey}" and "${PARAM_FSTYPE}" keys`);
  }
  const value = current ?? (legacyKey !== undefined ? parameters[legacyKey] : undefined);
  return value === '' ? undefined : value;
}

/** Class parameters the driver sees: without the provisioner's own csi.storage.k8s.io/ keys. */
export function driverParameters(parameters: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parameters)) {
    if (!key.startsWith(RESERVED_PARAMETER_PREFIX)) {
      out[key] = value;
      continue;
    }
    if (!KNOWN_RESERVED_PARAMETERS.has(key)) {
      throw new PlanError(
        `found unknown parameter key "${key}" with reserved namespace ${RESERVED_PARAMETER_PREFIX}`,
      );
    }
  }
  return out;
}

function volumeSecretRefs(
  parameters: Record<string, string>,
  context: SecretTemplateContext,
): VolumeSecretRefs {
  const refs: VolumeSecretRefs = {};
  const set = (key: keyof VolumeSecretRefs, ref: SecretReference | undefined): void => {
    if (ref) refs[key] = ref;
  };
  set('controllerPublishSecretRef', secretReference('controller-publish', parameters, context));
  set('nodeStageSecretRef', secretReference('node-stage', parameters, context));
  set('nodePublishSecretRef', secretReference('node-publish', parameters, context));
  set('controllerExpandSecretRef', secretReference('controller-expand', parameters, context));
  set('nodeExpandSecretRef', secretReference('node-expand', parameters, context));
  return refs;
}
