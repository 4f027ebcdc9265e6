// The provisioner's decisions, free of IO: whether a claim is ours to provision, the CreateVolume
// request for it, the PersistentVolume for the driver's answer, what a failed call means, and
// whether a volume is ours to delete. controller.ts performs what these decide.
import type { ObjectReference } from '../api/meta.js';
import type {
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  SecretReference,
  StorageClass,
} from '../api/types.js';
import { quantityFromBytes } from '../api/quantity.js';
import { status, toCsiError, classify } from '../csi/errors.js';
import type { CreateVolumeRequest, PartialMessage, Volume, VolumeCapability } from '../csi/types.js';
import { fromBigInt, toBigInt } from '../csi/types.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  FINALIZER_PV_PROTECTION,
  LABEL_HOSTNAME,
} from '../volume/annotations.js';
import { claimClass, nodeSelectorMatches, requestedBytes, volumeModeOf } from '../volume/match.js';
import type { DriverCapabilities } from './capabilities.js';
import { csiAccessMode } from './capabilities.js';
import {
  ANN_DELETION_SECRET_NAME,
  ANN_DELETION_SECRET_NAMESPACE,
  ANN_PROVISIONED_ON_NODE,
  ANN_PROVISIONING,
  ATTR_PROVISIONER_IDENTITY,
  DEFAULT_FSTYPE,
  FINALIZER_EXTERNAL_PROVISIONER,
  FINALIZER_PROVISIONING,
  PARAM_FSTYPE,
  PARAM_LEGACY_FSTYPE,
  RESERVED_PARAMETER_PREFIX,
  VOLUME_NAME_PREFIX,
} from '../volume/provisioning-names.js';
import { hasFinalizer, withFinalizer, withoutFinalizer } from '../volume/finalizers.js';
import { PlanError } from '../volume/plan-error.js';
import type { SecretTemplateContext } from '../volume/secrets.js';
import { KNOWN_RESERVED_PARAMETERS, secretReference } from '../volume/secrets.js';
import type { TopologyView } from './topology.js';
import { accessibilityRequirements, nodeAffinityFor } from './topology.js';

export { PlanError } from '../volume/plan-error.js';

/** The volume (and backend volume) name for a claim: "pvc-<uid>". */
export function volumeNameFor(claim: PersistentVolumeClaim): string {
  return `${VOLUME_NAME_PREFIX}-${claim.metadata.uid ?? ''}`;
}

export function claimProvisioner(claim: PersistentVolumeClaim): string | undefined {
  const annotations = claim.metadata.annotations ?? {};
  return annotations[ANN_STORAGE_PROVISIONER] ?? annotations[ANN_BETA_STORAGE_PROVISIONER];
}

export function selectedNodeOf(claim: PersistentVolumeClaim): string | undefined {
  const node = claim.metadata.annotations?.[ANN_SELECTED_NODE];
  return node === undefined || node === '' ? undefined : node;
}

/** True while the claim records a CreateVolume that may have started. */
export function hasProvisioningMark(claim: PersistentVolumeClaim): boolean {
  return (
    claim.metadata.annotations?.[ANN_PROVISIONING] !== undefined ||
    hasFinalizer(claim, FINALIZER_PROVISIONING)
  );
}

// ---------------------------------------------------------------- claims

export type ClaimAction =
  | { type: 'skip'; reason: string }
  /** The class does not exist (yet): retry later. */
  | { type: 'waitForClass'; className: string }
  | { type: 'provision'; storageClass: StorageClass }
  /** The volume exists; drop the in-flight record. */
  | { type: 'clearMark' }
  /** The claim no longer wants the volume a CreateVolume may have made: delete it, then drop the record. */
  | { type: 'cleanup'; storageClass: StorageClass | undefined };

export interface ClaimFacts {
  driverName: string;
  /** Node-deployment mode: only claims selected onto this node are ours. */
  nodeName?: string;
  storageClass: StorageClass | undefined;
  /** A PersistentVolume named volumeNameFor(claim) exists (or this instance just created it). */
  volumeExists: boolean;
}

/** shouldProvision, plus what to do about a claim that carries an in-flight record. */
export function decideClaim(claim: PersistentVolumeClaim, facts: ClaimFacts): ClaimAction {
  const marked = hasProvisioningMark(claim);
  const selected = selectedNodeOf(claim);
  if (facts.nodeName !== undefined && selected !== facts.nodeName) {
    return { type: 'skip', reason: 'the claim is not selected onto this node' };
  }
  if (facts.volumeExists) {
    if (!marked) return { type: 'skip', reason: 'its volume already exists' };
    // berth's PV controller clears the record in its bind write; a claim bound (or going) without
    // that, as under another binder, gets it cleared here.
    const settled = claim.spec.volumeName !== undefined && claim.spec.volumeName !== '';
    return settled || claim.metadata.deletionTimestamp
      ? { type: 'clearMark' }
      : { type: 'skip', reason: 'its volume exists; the bind clears the in-flight record' };
  }
  const cleanup = (reason: string): ClaimAction =>
    marked ? { type: 'cleanup', storageClass: facts.storageClass } : { type: 'skip', reason };
  if (claim.metadata.deletionTimestamp) return cleanup('the claim is being deleted');
  if (claim.spec.volumeName) return cleanup('the claim already names a volume');
  if (claimProvisioner(claim) !== facts.driverName) return cleanup('the claim is for another provisioner');
  const className = claimClass(claim);
  const storageClass = facts.storageClass;
  if (!storageClass) return { type: 'waitForClass', className };
  if (storageClass.provisioner !== facts.driverName) return cleanup('the class is for another provisioner');
  if (storageClass.volumeBindingMode === 'WaitForFirstConsumer' && selected === undefined) {
    return { type: 'skip', reason: 'waiting for a node to be selected' };
  }
  return { type: 'provision', storageClass };
}

/**
 * Whether an update of a claim can change what the provisioner does. Status changes and the
 * provisioner's own in-flight record do not: re-running on them would defeat the back-off.
 */
export function claimChangeMatters(before: PersistentVolumeClaim, after: PersistentVolumeClaim): boolean {
  if (before === after) return true; // a resync: look again
  return JSON.stringify(decisionInputs(before)) !== JSON.stringify(decisionInputs(after));
}

function decisionInputs(claim: PersistentVolumeClaim): unknown {
  const annotations = { ...claim.metadata.annotations };
  delete annotations[ANN_PROVISIONING];
  return {
    annotations: Object.entries(annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    finalizers: withoutFinalizer(claim, FINALIZER_PROVISIONING).metadata.finalizers,
    deletionTimestamp: claim.metadata.deletionTimestamp,
    uid: claim.metadata.uid,
    spec: claim.spec,
  };
}

/** The claim with the in-flight record added, or undefined when it already has it. */
export function withProvisioningMark(
  claim: PersistentVolumeClaim,
  volumeName: string,
): PersistentVolumeClaim | undefined {
  if (
    claim.metadata.annotations?.[ANN_PROVISIONING] === volumeName &&
    hasFinalizer(claim, FINALIZER_PROVISIONING)
  )
    return undefined;
  const next = structuredClone(claim);
  next.metadata.annotations = { ...next.metadata.annotations, [ANN_PROVISIONING]: volumeName };
  return withFinalizer(next, FINALIZER_PROVISIONING);
}

export function withoutProvisioningMark(claim: PersistentVolumeClaim): PersistentVolumeClaim | undefined {
  if (!hasProvisioningMark(claim)) return undefined;
  const next = structuredClone(claim);
  const annotations = { ...next.metadata.annotations };
  delete annotations[ANN_PROVISIONING];
  next.metadata.annotations = annotations;
  return withoutFinalizer(next, FINALIZER_PROVISIONING);
}

/** The claim without its selected node, so the scheduler picks again. */
export function withoutSelectedNode(claim: PersistentVolumeClaim): PersistentVolumeClaim | undefined {
  if (claim.metadata.annotations?.[ANN_SELECTED_NODE] === undefined) return undefined;
  const next = structuredClone(claim);
  const annotations = { ...next.metadata.annotations };
  delete annotations[ANN_SELECTED_NODE];
  next.metadata.annotations = annotations;
  return next;
}

// ---------------------------------------------------------------- CreateVolume

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

// ---------------------------------------------------------------- the PersistentVolume

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
}

/**
 * The PersistentVolume for a created volume, pre-bound to its claim. Throws a PlanError when the
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

// ---------------------------------------------------------------- errors

/**
 * external-provisioner's ProvisioningState, plus 'infeasible' (a final InvalidArgument, retried
 * only after the longest back-off).
 * - background: the driver may still be creating it; retry the same request.
 * - finished: it failed; retry with back-off.
 * - reschedule: drop the selected node so the pod can go elsewhere.
 */
const RESOURCE_EXHAUSTED: number = status.RESOURCE_EXHAUSTED;
const INVALID_ARGUMENT: number = status.INVALID_ARGUMENT;

export type ProvisioningState = 'background' | 'finished' | 'reschedule' | 'infeasible';

export function provisioningState(err: unknown, options: { selectedNode: boolean }): ProvisioningState {
  if (err instanceof PlanError) return err.reschedule && options.selectedNode ? 'reschedule' : 'finished';
  const csi = toCsiError(err);
  const code: number = csi.code;
  if (code === RESOURCE_EXHAUSTED && options.selectedNode && !csi.local) return 'reschedule';
  if (classify(err) === 'in-progress') return 'background';
  if (code === INVALID_ARGUMENT) return 'infeasible';
  return 'finished';
}

// ---------------------------------------------------------------- deletion

export type VolumeAction =
  | { type: 'skip'; reason: string }
  | { type: 'delete' }
  /** Not a Delete volume: it keeps no provisioner finalizer. */
  | { type: 'removeFinalizer' };

export interface VolumeFacts {
  driverName: string;
  nodeName?: string;
  /** The node object of nodeName, for matching node affinity. */
  node?: Node;
}

/** shouldDelete: a Released Delete volume this driver (and, per node, this instance) provisioned. */
export function decideVolume(volume: PersistentVolume, facts: VolumeFacts): VolumeAction {
  if (volume.metadata.annotations?.[ANN_DYNAMICALLY_PROVISIONED] !== facts.driverName) {
    return { type: 'skip', reason: 'not provisioned by this driver' };
  }
  if (volume.spec.csi?.driver !== facts.driverName)
    return { type: 'skip', reason: 'not a volume of this driver' };
  if (facts.nodeName !== undefined && !isOnNode(volume, facts.nodeName, facts.node)) {
    return { type: 'skip', reason: 'the volume belongs to another node' };
  }
  const protectedByUs = hasFinalizer(volume, FINALIZER_EXTERNAL_PROVISIONER);
  if (volume.spec.persistentVolumeReclaimPolicy !== 'Delete') {
    return protectedByUs
      ? { type: 'removeFinalizer' }
      : { type: 'skip', reason: 'reclaim policy is not Delete' };
  }
  if (volume.metadata.deletionTimestamp && !protectedByUs)
    return { type: 'skip', reason: 'already being deleted' };
  if (volume.status?.phase !== 'Released') return { type: 'skip', reason: 'the volume is not Released' };
  return { type: 'delete' };
}

function isOnNode(volume: PersistentVolume, nodeName: string, node: Node | undefined): boolean {
  const recorded = volume.metadata.annotations?.[ANN_PROVISIONED_ON_NODE];
  if (recorded !== undefined) return recorded === nodeName;
  const required = volume.spec.nodeAffinity?.required;
  if (!required) return false;
  const labels = node?.metadata.labels ?? { [LABEL_HOSTNAME]: nodeName };
  return nodeSelectorMatches(required, { name: nodeName, labels });
}

/**
 * The secret DeleteVolume needs: the one remembered on the volume, else the class's provisioner
 * secret templated with what is still known (the volume name only).
 */
export function deletionSecretRef(
  volume: PersistentVolume,
  storageClass: StorageClass | undefined,
): SecretReference | undefined {
  const annotations = volume.metadata.annotations ?? {};
  const name = annotations[ANN_DELETION_SECRET_NAME];
  const namespace = annotations[ANN_DELETION_SECRET_NAMESPACE];
  if (name !== undefined && namespace !== undefined) {
    return name === '' && namespace === '' ? undefined : { name, namespace };
  }
  if (!storageClass) return undefined;
  return secretReference('provisioner', storageClass.parameters ?? {}, {
    pvName: volume.metadata.name ?? '',
  });
}
