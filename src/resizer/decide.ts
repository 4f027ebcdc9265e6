// The resizer's decisions (PURE), after external-resizer: a bound claim whose request is larger
// than its status.capacity gets its volume grown by the driver (ControllerExpandVolume); then either
// the claim is done, or it waits (FileSystemResizePending) for the node to grow the filesystem.
import { tryStorageBytes } from '../api/quantity.js';
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  PersistentVolumeClaimCondition,
  PersistentVolumeClaimStatus,
} from '../api/types.js';
import { ANN_PROVISIONED_ON_NODE } from '../volume/provisioning-names.js';
import { rfc3339Seconds } from '../store/object-rules.js';

export const CONDITION_RESIZING = 'Resizing';
export const CONDITION_FS_RESIZE_PENDING = 'FileSystemResizePending';
/** Why the last controller (or node) step of a resize failed, until one succeeds. */
export const CONDITION_CONTROLLER_RESIZE_ERROR = 'ControllerResizeError';
export const CONDITION_NODE_RESIZE_ERROR = 'NodeResizeError';

const RESIZE_CONDITIONS: ReadonlySet<string> = new Set([
  CONDITION_RESIZING,
  CONDITION_FS_RESIZE_PENDING,
  CONDITION_CONTROLLER_RESIZE_ERROR,
  CONDITION_NODE_RESIZE_ERROR,
]);

/** Event reasons, as external-resizer and kubelet record them. */
export const RESIZE_REASON = {
  resizing: 'Resizing',
  failed: 'VolumeResizeFailed',
  fsResizeRequired: 'FileSystemResizeRequired',
  successful: 'VolumeResizeSuccessful',
  fsResizeSuccessful: 'FileSystemResizeSuccessful',
  fsResizeFailed: 'FileSystemResizeFailed',
} as const;

export const FS_RESIZE_PENDING_MESSAGE =
  'Waiting for user to (re-)start a pod to finish file system resize of volume on node.';

export type ResizeDecision =
  | { type: 'skip' }
  /** Grow the volume to `bytes` (the claim's request); `requested` is the claim's quantity text. */
  | { type: 'expand'; bytes: bigint; requested: string };

export function hasCondition(claim: PersistentVolumeClaim, type: string): boolean {
  return (claim.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

export function fsResizePending(claim: PersistentVolumeClaim): boolean {
  return hasCondition(claim, CONDITION_FS_RESIZE_PENDING);
}

/**
 * What the resizer of `driverName` does for a claim and its volume. Growing is level-triggered
 * and idempotent: while the claim's status.capacity is below its request the driver is asked for
 * the requested size, unless the volume already has it and only the node's part is left.
 */
export function decideResize(
  claim: PersistentVolumeClaim,
  volume: PersistentVolume | undefined,
  driverName: string,
  nodeName?: string,
): ResizeDecision {
  if (claim.metadata.deletionTimestamp || claim.status?.phase !== 'Bound') return { type: 'skip' };
  if (!volume || volume.spec.csi?.driver !== driverName) return { type: 'skip' };
  // In node-deployment mode only the volumes this node's driver made are its to grow.
  if (nodeName !== undefined && volume.metadata.annotations?.[ANN_PROVISIONED_ON_NODE] !== nodeName)
    return { type: 'skip' };
  if (volume.spec.claimRef?.uid !== undefined && volume.spec.claimRef.uid !== claim.metadata.uid)
    return { type: 'skip' };
  const requestedText = claim.spec.resources?.requests?.['storage'];
  const requested = tryStorageBytes(requestedText);
  const current = tryStorageBytes(claim.status.capacity?.['storage']);
  if (requested === undefined || current === undefined || requested <= current) return { type: 'skip' };
  const volumeSize = tryStorageBytes(volume.spec.capacity?.['storage']) ?? 0n;
  if (volumeSize >= requested && fsResizePending(claim)) return { type: 'skip' };
  return { type: 'expand', bytes: requested, requested: String(requestedText) };
}

/**
 * What decideResize reads of a claim, as one comparable value. An update that leaves it unchanged
 * (the resizer's own status writes, a label) is no reason to look again: it must not bring a
 * backed-off retry forward, as external-resizer only reacts to a larger request.
 */
export function claimResizeInputs(claim: PersistentVolumeClaim): string {
  return JSON.stringify([
    claim.metadata.uid,
    claim.metadata.deletionTimestamp ?? null,
    claim.status?.phase,
    claim.spec.volumeName,
    claim.spec.resources?.requests?.['storage'],
    claim.status?.capacity?.['storage'],
    fsResizePending(claim),
  ]);
}

/** What decideResize reads of a volume, as one comparable value (see claimResizeInputs). */
export function volumeResizeInputs(volume: PersistentVolume): string {
  return JSON.stringify([
    volume.spec.csi?.driver,
    volume.metadata.annotations?.[ANN_PROVISIONED_ON_NODE] ?? null,
    volume.spec.claimRef?.uid,
    volume.spec.claimRef?.namespace,
    volume.spec.claimRef?.name,
    volume.spec.capacity?.['storage'],
  ]);
}

/** The claim's conditions with `type` set (kept with its old transition time if already set). */
export function withCondition(
  conditions: readonly PersistentVolumeClaimCondition[] | undefined,
  condition: Omit<PersistentVolumeClaimCondition, 'lastTransitionTime'>,
  now: Date,
): PersistentVolumeClaimCondition[] {
  const old = (conditions ?? []).find((c) => c.type === condition.type);
  const others = (conditions ?? []).filter((c) => c.type !== condition.type);
  const since =
    old?.status === condition.status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339Seconds(now);
  return [...others, { ...condition, lastTransitionTime: since }];
}

/** The claim's conditions without the resize ones (a finished resize leaves none). */
export function withoutResizeConditions(
  conditions: readonly PersistentVolumeClaimCondition[] | undefined,
): PersistentVolumeClaimCondition[] {
  return (conditions ?? []).filter((c) => !RESIZE_CONDITIONS.has(c.type));
}

/** The conditions with `type` saying `message`, or undefined when they already say it. */
export function withErrorCondition(
  conditions: readonly PersistentVolumeClaimCondition[] | undefined,
  type: string,
  message: string,
  now: Date,
): PersistentVolumeClaimCondition[] | undefined {
  const current = (conditions ?? []).find((c) => c.type === type);
  if (current?.status === 'True' && current.message === message) return undefined;
  return withCondition(conditions, { type, status: 'True', message }, now);
}

/** The capacity to record: the driver's answer, or the request when the driver gave none. */
export function grownCapacity(answerBytes: bigint, requested: string, requestedBytes: bigint): string {
  return answerBytes === 0n || answerBytes === requestedBytes ? requested : answerBytes.toString();
}

/** status.allocatedResourceStatuses values (RecoverVolumeExpansionFailure, GA in Kubernetes 1.34). */
export type ClaimResizeStatus =
  | 'ControllerResizeInProgress'
  | 'ControllerResizeInfeasible'
  | 'NodeResizePending'
  | 'NodeResizeInProgress'
  | 'NodeResizeInfeasible';

/**
 * The claim's status with allocatedResources.storage (what the volume is being grown to) and the
 * storage entry of allocatedResourceStatuses set; `undefined` removes the entry (resize finished).
 */
export function withResizeStatus(
  status: PersistentVolumeClaimStatus | undefined,
  resizeStatus: ClaimResizeStatus | undefined,
  allocated?: string,
): PersistentVolumeClaimStatus {
  const next: PersistentVolumeClaimStatus = { ...status };
  if (allocated !== undefined)
    next.allocatedResources = { ...status?.allocatedResources, storage: allocated };
  const statuses = { ...status?.allocatedResourceStatuses };
  if (resizeStatus === undefined) delete statuses['storage'];
  else statuses['storage'] = resizeStatus;
  if (Object.keys(statuses).length > 0) next.allocatedResourceStatuses = statuses;
  else delete next.allocatedResourceStatuses;
  return next;
}
