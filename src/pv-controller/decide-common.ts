// What the binder's two state machines share: the view they read, status and event actions, and
// Kubernetes' bind()/unbind() steps. Pure.
import { cloneJson } from '../api/clone-json.js';
import type {
  ClaimPhase,
  PersistentVolume,
  PersistentVolumeClaim,
  PersistentVolumeClaimStatus,
  PersistentVolumeStatus,
  Pod,
  StorageClass,
  VolumePhase,
} from '../api/types.js';
import type { Action, EventType } from './actions.js';
import {
  ANN_BIND_COMPLETED,
  ANN_PROVISIONING,
  FINALIZER_PROVISIONING,
  ANN_BOUND_BY_CONTROLLER,
  ANN_YES,
  FINALIZER_PV_PROTECTION,
  FINALIZER_PVC_PROTECTION,
} from '../volume/annotations.js';
import type { MatchOptions, NodeInfo } from '../volume/match.js';
import { hasFinalizer, withFinalizer, withoutFinalizer } from '../api/finalizers.js';
import { isVolumeBoundToClaim } from '../volume/match.js';

/** What decisions may read besides the object being synced. */
export interface BinderView {
  volume(name: string): PersistentVolume | undefined;
  /** Every volume (read only to explain why none fits a claim). */
  allVolumes(): Iterable<PersistentVolume>;
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  storageClass(name: string): StorageClass | undefined;
  storageClasses(): Iterable<StorageClass>;
  node(name: string): NodeInfo | undefined;
  /** Pods in the namespace whose volumes reference the claim by name. */
  podsForClaim(namespace: string, name: string): Pod[];
  findBestMatch(claim: PersistentVolumeClaim, options: MatchOptions): PersistentVolume | undefined;
}

export interface SyncVolumeOptions {
  /** The claim named by the volume's claimRef was read live; trust the view's answer. */
  claimConfirmed?: boolean;
}

export const NO_CLASS_MESSAGE = 'no persistent volumes available for this claim and no storage class is set';
export const WFFC_MESSAGE = 'waiting for first consumer to be created before binding';

/** Kubernetes timestamps have second precision. */
export function timestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function hasAnnotation(
  obj: { metadata: { annotations?: Record<string, string> } },
  key: string,
): boolean {
  return obj.metadata.annotations?.[key] !== undefined;
}

export function event(
  object: PersistentVolume | PersistentVolumeClaim,
  eventType: EventType,
  reason: string,
  message: string,
): Action {
  return { type: 'event', object, eventType, reason, message };
}

// Status writes (only on real change)

export function volumePhaseAction(
  volume: PersistentVolume,
  phase: VolumePhase,
  message: string,
  now: Date,
): Action[] {
  if (volume.status?.phase === phase) return [];
  const status: PersistentVolumeStatus = { ...volume.status, phase, lastPhaseTransitionTime: timestamp(now) };
  if (message) status.message = message;
  else delete status.message;
  return [{ type: 'updateVolumeStatus', volume, status }];
}

export function volumePhaseWithEvent(
  volume: PersistentVolume,
  phase: VolumePhase,
  eventType: EventType,
  reason: string,
  message: string,
  now: Date,
): Action[] {
  if (volume.status?.phase === phase) return [];
  return [...volumePhaseAction(volume, phase, message, now), event(volume, eventType, reason, message)];
}

/** The claim's phase as the API server defaults it (an unset phase reads as Pending). */
export function claimPhase(claim: PersistentVolumeClaim): ClaimPhase {
  return claim.status?.phase ?? 'Pending';
}

export function claimStatusAction(
  claim: PersistentVolumeClaim,
  phase: ClaimPhase,
  volume: PersistentVolume | undefined,
): Action[] {
  const status: PersistentVolumeClaimStatus = { ...claim.status, phase };
  let dirty = claimPhase(claim) !== phase;
  if (!volume) {
    if (status.accessModes !== undefined) {
      delete status.accessModes;
      dirty = true;
    }
    if (status.capacity !== undefined) {
      delete status.capacity;
      dirty = true;
    }
  } else {
    const modes = volume.spec.accessModes ?? [];
    if (JSON.stringify(status.accessModes ?? []) !== JSON.stringify(modes)) {
      status.accessModes = [...modes];
      dirty = true;
    }
    // Capacity is copied only on the way into Bound, so a deliberate difference survives.
    const storage = volume.spec.capacity?.storage;
    if (claimPhase(claim) !== phase && storage !== undefined && status.capacity?.['storage'] !== storage) {
      status.capacity = { ...status.capacity, storage };
      dirty = true;
    }
  }
  return dirty ? [{ type: 'updateClaimStatus', claim, status }] : [];
}

export function claimStatusWithEvent(
  claim: PersistentVolumeClaim,
  phase: ClaimPhase,
  volume: PersistentVolume | undefined,
  eventType: EventType,
  reason: string,
  message: string,
): Action[] {
  if (claimPhase(claim) === phase) return [];
  return [...claimStatusAction(claim, phase, volume), event(claim, eventType, reason, message)];
}

// ---------------------------------------------------------------------------------------------
// Bind and unbind

/**
 * Kubernetes' bind(): PV claimRef, PV phase Bound, PVC volumeName + bind-completed, PVC phase
 * Bound — each step only when it changes something, so a repeat after a crash finishes the job.
 */
export function bindActions(volume: PersistentVolume, claim: PersistentVolumeClaim, now: Date): Action[] {
  const actions: Action[] = [];
  const ns = claim.metadata.namespace ?? '';
  const name = claim.metadata.name ?? '';
  const uid = claim.metadata.uid ?? '';
  const volumeName = volume.metadata.name ?? '';

  const ref = volume.spec.claimRef;
  const refDiffers = !ref || ref.name !== name || (ref.namespace ?? '') !== ns || (ref.uid ?? '') !== uid;
  // A volume that already pointed at this claim (pre-bound by a user or provisioner) is not marked.
  const markVolume = !isVolumeBoundToClaim(volume, claim) && !hasAnnotation(volume, ANN_BOUND_BY_CONTROLLER);
  const protectVolume = !volume.metadata.deletionTimestamp && !hasFinalizer(volume, FINALIZER_PV_PROTECTION);
  if (refDiffers || markVolume || protectVolume) {
    // a new spine only: the parts not written here are shared (objects are never mutated once stored)
    const next = { ...volume, metadata: { ...volume.metadata }, spec: { ...volume.spec } };
    if (refDiffers)
      next.spec.claimRef = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: ns, name, uid };
    if (markVolume)
      next.metadata.annotations = { ...next.metadata.annotations, [ANN_BOUND_BY_CONTROLLER]: ANN_YES };
    actions.push({
      type: 'updateVolume',
      volume: protectVolume ? withFinalizer(next, FINALIZER_PV_PROTECTION) : next,
    });
  }
  actions.push(...volumePhaseAction(volume, 'Bound', '', now));

  const renameClaim = claim.spec.volumeName !== volumeName;
  const markClaim = renameClaim && !hasAnnotation(claim, ANN_BOUND_BY_CONTROLLER);
  const complete = !hasAnnotation(claim, ANN_BIND_COMPLETED);
  const protectClaim = !claim.metadata.deletionTimestamp && !hasFinalizer(claim, FINALIZER_PVC_PROTECTION);
  // The provisioner's in-flight record for this very volume: it exists now, so the record goes too.
  const provisioned = claim.metadata.annotations?.[ANN_PROVISIONING] === volumeName;
  if (renameClaim || markClaim || complete || protectClaim || provisioned) {
    const next = { ...claim, metadata: { ...claim.metadata }, spec: { ...claim.spec } };
    if (renameClaim) next.spec.volumeName = volumeName;
    const annotations = { ...next.metadata.annotations };
    if (markClaim) annotations[ANN_BOUND_BY_CONTROLLER] = ANN_YES;
    if (complete) annotations[ANN_BIND_COMPLETED] = ANN_YES;
    if (provisioned) delete annotations[ANN_PROVISIONING];
    next.metadata.annotations = annotations;
    let written = protectClaim ? withFinalizer(next, FINALIZER_PVC_PROTECTION) : next;
    if (provisioned) written = withoutFinalizer(written, FINALIZER_PROVISIONING);
    actions.push({ type: 'updateClaim', claim: written });
  }
  actions.push(...claimStatusAction(claim, 'Bound', volume));
  return actions;
}

/** Kubernetes' unbindVolume: forget a binding the controller made, or just its UID if a user made it. */
export function unbindActions(volume: PersistentVolume, now: Date): Action[] {
  const next = cloneJson(volume);
  if (hasAnnotation(volume, ANN_BOUND_BY_CONTROLLER)) {
    delete next.spec.claimRef;
    const annotations = { ...next.metadata.annotations };
    delete annotations[ANN_BOUND_BY_CONTROLLER];
    if (Object.keys(annotations).length > 0) next.metadata.annotations = annotations;
    else delete next.metadata.annotations;
  } else if (next.spec.claimRef) {
    const ref = { ...next.spec.claimRef };
    delete ref.uid;
    next.spec.claimRef = ref;
  }
  return [{ type: 'updateVolume', volume: next }, ...volumePhaseAction(volume, 'Available', '', now)];
}
