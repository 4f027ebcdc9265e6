// The binder's decisions, Kubernetes' syncClaim and syncVolume state machines as pure functions:
// objects and a read-only view in, actions out. No IO and no clock: `now` is passed in.
// Kubernetes' rules are followed step for step (see the PV controller's syncUnboundClaim,
// syncBoundClaim, syncVolume, bind, reclaimVolume and the protection controllers), with two
// berth choices: a claim being deleted is never bound, and protection finalizers are installed by
// the same writes that bind (for objects created without admission).
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
import type { Action, Decision, EventType } from './actions.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  IN_TREE_REPLACEMENTS,
  ANN_PROVISIONING,
  FINALIZER_PROVISIONING,
  ANN_BOUND_BY_CONTROLLER,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_MIGRATED_TO,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  ANN_YES,
  FINALIZER_PV_PROTECTION,
  FINALIZER_PVC_PROTECTION,
  LABEL_HOSTNAME,
  NO_PROVISIONER,
  REASON,
} from '../volume/annotations.js';
import type { MatchOptions, NodeInfo } from '../volume/match.js';
import { defaultClass } from '../volume/default-class.js';
import { hasFinalizer, withFinalizer, withoutFinalizer } from '../volume/finalizers.js';
import { isPodTerminated } from '../volume/pods.js';
import {
  claimClass,
  claimHasClass,
  isVolumeBoundToClaim,
  volumeModeOf,
  volumeSatisfyProblem,
} from '../volume/match.js';

/** What decisions may read besides the object being synced. */
export interface BinderView {
  volume(name: string): PersistentVolume | undefined;
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

const NO_CLASS_MESSAGE = 'no persistent volumes available for this claim and no storage class is set';
const WFFC_MESSAGE = 'waiting for first consumer to be created before binding';

/** Kubernetes timestamps have second precision. */
function timestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function hasAnnotation(obj: { metadata: { annotations?: Record<string, string> } }, key: string): boolean {
  return obj.metadata.annotations?.[key] !== undefined;
}

function event(
  object: PersistentVolume | PersistentVolumeClaim,
  eventType: EventType,
  reason: string,
  message: string,
): Action {
  return { type: 'event', object, eventType, reason, message };
}

// ---------------------------------------------------------------------------------------------
// Status writes (only on real change)

function volumePhaseAction(
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

function volumePhaseWithEvent(
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
function claimPhase(claim: PersistentVolumeClaim): ClaimPhase {
  return claim.status?.phase ?? 'Pending';
}

function claimStatusAction(
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

function claimStatusWithEvent(
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
    const next = structuredClone(volume);
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
    const next = structuredClone(claim);
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
  const next = structuredClone(volume);
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

// ---------------------------------------------------------------------------------------------
// syncClaim

export function isDelayBinding(claim: PersistentVolumeClaim, view: BinderView): boolean {
  const className = claimClass(claim);
  if (className === '') return false;
  return view.storageClass(className)?.volumeBindingMode === 'WaitForFirstConsumer';
}

/** A pod uses a claim while it is scheduled and not finished (pvc-protection's rule). */
function podsHoldingClaim(claim: PersistentVolumeClaim, view: BinderView): Pod[] {
  return view
    .podsForClaim(claim.metadata.namespace ?? '', claim.metadata.name ?? '')
    .filter((p) => !!p.spec.nodeName && !isPodTerminated(p));
}

function protectClaimOnDelete(claim: PersistentVolumeClaim, view: BinderView): Action[] {
  if (!hasFinalizer(claim, FINALIZER_PVC_PROTECTION)) return [];
  if (podsHoldingClaim(claim, view).length > 0) return [];
  return [{ type: 'updateClaim', claim: withoutFinalizer(claim, FINALIZER_PVC_PROTECTION) }];
}

export function syncClaim(claim: PersistentVolumeClaim, view: BinderView, now: Date): Decision {
  if (claim.metadata.deletionTimestamp) {
    const release = protectClaimOnDelete(claim, view);
    if (release.length > 0 || !hasAnnotation(claim, ANN_BIND_COMPLETED)) return { actions: release };
  }
  if (!hasAnnotation(claim, ANN_BIND_COMPLETED)) return syncUnboundClaim(claim, view, now);
  return syncBoundClaim(claim, view, now);
}

function selectedNode(claim: PersistentVolumeClaim, view: BinderView): NodeInfo | undefined {
  const name = claim.metadata.annotations?.[ANN_SELECTED_NODE];
  if (!name) return undefined;
  return view.node(name) ?? { name, labels: { [LABEL_HOSTNAME]: name } };
}

function syncUnboundClaim(claim: PersistentVolumeClaim, view: BinderView, now: Date): Decision {
  const wanted = claim.spec.volumeName;
  if (!wanted) return syncClaimWithoutVolumeName(claim, view, now);

  const volume = view.volume(wanted);
  if (!volume) return { actions: claimStatusAction(claim, 'Pending', undefined) };
  if (!volume.spec.claimRef) {
    const problem = volumeSatisfyProblem(volume, claim);
    if (problem) {
      return {
        actions: [
          event(
            claim,
            'Warning',
            REASON.volumeMismatch,
            `Cannot bind to requested volume "${wanted}": ${problem}`,
          ),
          ...claimStatusAction(claim, 'Pending', undefined),
        ],
      };
    }
    return { actions: bindActions(volume, claim, now) };
  }
  if (isVolumeBoundToClaim(volume, claim)) return { actions: bindActions(volume, claim, now) };

  const taken = event(
    claim,
    'Warning',
    REASON.failedBinding,
    `volume "${wanted}" already bound to a different claim.`,
  );
  if (!hasAnnotation(claim, ANN_BOUND_BY_CONTROLLER)) {
    return { actions: [taken, ...claimStatusAction(claim, 'Pending', undefined)] };
  }
  const ref = volume.spec.claimRef;
  return {
    actions: [taken],
    error: `invalid binding of claim "${claim.metadata.namespace ?? ''}/${claim.metadata.name ?? ''}" to volume "${wanted}": volume already claimed by "${ref.namespace ?? ''}/${ref.name ?? ''}"`,
  };
}

function syncClaimWithoutVolumeName(claim: PersistentVolumeClaim, view: BinderView, now: Date): Decision {
  const delayBinding = isDelayBinding(claim, view);
  const node = delayBinding ? selectedNode(claim, view) : undefined;
  const volume = view.findBestMatch(claim, { delayBinding, ...(node ? { node } : {}) });
  if (volume) return { actions: bindActions(volume, claim, now) };

  if (!claimHasClass(claim)) {
    const fallback = defaultClass(view.storageClasses());
    if (fallback?.metadata.name) {
      // Retroactive default class: the next sync matches and provisions with it.
      const next = structuredClone(claim);
      next.spec.storageClassName = fallback.metadata.name;
      return { actions: [{ type: 'updateClaim', claim: next }] };
    }
  }
  const className = claimClass(claim);
  if (delayBinding && !node) {
    return {
      actions: [waitForConsumerEvent(claim, view), ...claimStatusAction(claim, 'Pending', undefined)],
    };
  }
  if (className !== '') return { actions: provisionActions(claim, className, view) };
  return {
    actions: [
      event(claim, 'Normal', REASON.failedBinding, NO_CLASS_MESSAGE),
      ...claimStatusAction(claim, 'Pending', undefined),
    ],
  };
}

function waitForConsumerEvent(claim: PersistentVolumeClaim, view: BinderView): Action {
  const unscheduled = view
    .podsForClaim(claim.metadata.namespace ?? '', claim.metadata.name ?? '')
    .filter((p) => !isPodTerminated(p) && !p.spec.nodeName)
    .map((p) => p.metadata.name ?? '');
  if (unscheduled.length === 0) return event(claim, 'Normal', REASON.waitForFirstConsumer, WFFC_MESSAGE);
  const message =
    unscheduled.length === 1
      ? `waiting for pod ${unscheduled[0] ?? ''} to be scheduled`
      : `waiting for pods ${unscheduled.join(',')} to be scheduled`;
  return event(claim, 'Normal', REASON.waitForPodScheduled, message);
}

/** Hands the claim to its class's external provisioner (Kubernetes' provisionClaim, external path). */
function provisionActions(claim: PersistentVolumeClaim, className: string, view: BinderView): Action[] {
  const storageClass = view.storageClass(className);
  if (!storageClass) {
    return [
      event(
        claim,
        'Warning',
        REASON.provisioningFailed,
        `storageclass.storage.k8s.io "${className}" not found`,
      ),
    ];
  }
  const provisioner = storageClass.provisioner;
  if (provisioner === NO_PROVISIONER || provisioner.startsWith('kubernetes.io/')) {
    // berth has no in-tree provisioners: such classes bind only to volumes made by hand.
    const replacement = IN_TREE_REPLACEMENTS[provisioner];
    const hint = replacement
      ? ` (berth serves these volumes with the CSI driver ${replacement.driver}: use a StorageClass with that provisioner, see ${replacement.example})`
      : '';
    return [
      event(
        claim,
        'Warning',
        REASON.provisioningFailed,
        `no volume plugin matched name: ${provisioner}${hint}`,
      ),
    ];
  }
  if (claim.spec.selector) {
    return [event(claim, 'Warning', REASON.provisioningFailed, 'claim Selector is not supported')];
  }
  const actions: Action[] = [];
  const annotations = claim.metadata.annotations ?? {};
  if (
    annotations[ANN_STORAGE_PROVISIONER] !== provisioner ||
    annotations[ANN_BETA_STORAGE_PROVISIONER] !== provisioner
  ) {
    const next = structuredClone(claim);
    next.metadata.annotations = {
      ...next.metadata.annotations,
      [ANN_BETA_STORAGE_PROVISIONER]: provisioner,
      [ANN_STORAGE_PROVISIONER]: provisioner,
    };
    actions.push({ type: 'updateClaim', claim: next });
  }
  actions.push(
    event(
      claim,
      'Normal',
      REASON.externalProvisioning,
      `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
    ),
  );
  return actions;
}

function syncBoundClaim(claim: PersistentVolumeClaim, view: BinderView, now: Date): Decision {
  const volumeName = claim.spec.volumeName;
  if (!volumeName) {
    return {
      actions: claimStatusWithEvent(
        claim,
        'Lost',
        undefined,
        'Warning',
        REASON.claimLost,
        'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!',
      ),
    };
  }
  const volume = view.volume(volumeName);
  if (!volume) {
    return {
      actions: claimStatusWithEvent(
        claim,
        'Lost',
        undefined,
        'Warning',
        REASON.claimLost,
        'Bound claim has lost its PersistentVolume. Data on the volume is lost!',
      ),
    };
  }
  const ref = volume.spec.claimRef;
  // An empty claimRef cannot be told apart from "not yet observed": bind again.
  if (!ref || ref.uid === claim.metadata.uid) return { actions: bindActions(volume, claim, now) };
  return {
    actions: claimStatusWithEvent(
      claim,
      'Lost',
      undefined,
      'Warning',
      REASON.claimMisbound,
      'Two claims are bound to the same volume, this one is bound incorrectly',
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// syncVolume

export function syncVolume(
  volume: PersistentVolume,
  view: BinderView,
  now: Date,
  options: SyncVolumeOptions = {},
): Decision {
  if (
    volume.metadata.deletionTimestamp &&
    hasFinalizer(volume, FINALIZER_PV_PROTECTION) &&
    volume.status?.phase !== 'Bound'
  ) {
    return { actions: [{ type: 'updateVolume', volume: withoutFinalizer(volume, FINALIZER_PV_PROTECTION) }] };
  }
  const ref = volume.spec.claimRef;
  if (!ref || !ref.uid) return { actions: volumePhaseAction(volume, 'Available', '', now) };

  const namespace = ref.namespace ?? '';
  const name = ref.name ?? '';
  const cached = view.claim(namespace, name);
  const claim = cached && cached.metadata.uid === ref.uid ? cached : undefined;
  const phase = volume.status?.phase;
  if (!claim) {
    if (phase !== 'Released' && phase !== 'Failed' && !options.claimConfirmed) {
      return { actions: [], confirmClaim: { namespace, name } };
    }
    return { actions: releaseAndReclaim(volume, view, now) };
  }
  if (!claim.spec.volumeName) {
    if (volumeModeOf(claim.spec) !== volumeModeOf(volume.spec)) {
      return {
        actions: [
          event(
            volume,
            'Warning',
            REASON.volumeMismatch,
            `Cannot bind PersistentVolume to requested PersistentVolumeClaim "${name}" due to incompatible volumeMode.`,
          ),
          event(
            claim,
            'Warning',
            REASON.volumeMismatch,
            `Cannot bind PersistentVolume "${volume.metadata.name ?? ''}" to requested PersistentVolumeClaim due to incompatible volumeMode.`,
          ),
        ],
      };
    }
    // The claim's own sync binds it; asking for it now speeds up freshly provisioned volumes.
    return { actions: [], enqueueClaims: [`${namespace}/${name}`] };
  }
  if (claim.spec.volumeName === volume.metadata.name) {
    return { actions: volumePhaseAction(volume, 'Bound', '', now) };
  }
  // The claim is bound to another volume.
  if (
    hasAnnotation(volume, ANN_DYNAMICALLY_PROVISIONED) &&
    volume.spec.persistentVolumeReclaimPolicy === 'Delete'
  ) {
    return { actions: releaseAndReclaim(volume, view, now) };
  }
  return { actions: unbindActions(volume, now) };
}

/** Marks the volume Released (once) and runs its reclaim policy; a policy that fails it skips Released. */
function releaseAndReclaim(volume: PersistentVolume, view: BinderView, now: Date): Action[] {
  const phase = volume.status?.phase;
  const release =
    phase !== 'Released' && phase !== 'Failed' ? volumePhaseAction(volume, 'Released', '', now) : [];
  const released: PersistentVolume =
    release.length > 0 ? { ...volume, status: { ...volume.status, phase: 'Released' } } : volume;
  const reclaim = reclaimActions(released, volume, view, now);
  // A reclaim that already writes the phase (Failed) makes the Released write redundant.
  if (reclaim.some((a) => a.type === 'updateVolumeStatus')) return reclaim;
  return [...release, ...reclaim];
}

/** The volume sources berth's recycler can scrub. */
export function isRecyclable(volume: PersistentVolume): boolean {
  return !!(volume.spec.hostPath ?? volume.spec.local ?? volume.spec.nfs);
}

/** Deleted by someone else: a CSI driver's provisioner (or the provisioner named on the volume). */
function hasExternalDeleter(volume: PersistentVolume): boolean {
  const provisionedBy = volume.metadata.annotations?.[ANN_DYNAMICALLY_PROVISIONED];
  return !!volume.spec.csi || (provisionedBy !== undefined && !provisionedBy.startsWith('kubernetes.io/'));
}

/**
 * Kubernetes' reclaimVolume. `released` is the volume as it reads once Released; `base` is the
 * stored object that status writes build on.
 */
function reclaimActions(
  released: PersistentVolume,
  base: PersistentVolume,
  view: BinderView,
  now: Date,
): Action[] {
  if (hasAnnotation(released, ANN_MIGRATED_TO)) return [];
  const failed = (reason: string, message: string): Action[] =>
    volumePhaseWithEvent(base, 'Failed', 'Warning', reason, message, now);
  const policy = released.spec.persistentVolumeReclaimPolicy ?? 'Retain';
  switch (policy) {
    case 'Retain':
      return [];
    case 'Delete':
      if (hasExternalDeleter(released)) return [];
      return failed(
        REASON.volumeFailedDelete,
        `error getting deleter volume plugin for volume "${released.metadata.name ?? ''}": no deletable volume plugin matched`,
      );
    case 'Recycle': {
      const ref = released.spec.claimRef;
      const ns = ref?.namespace ?? '';
      const claimName = ref?.name ?? '';
      const claimCached = view.claim(ns, claimName) !== undefined;
      const users = view
        .podsForClaim(ns, claimName)
        .filter((p) => !isPodTerminated(p))
        .map((p) => `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`)
        .sort();
      if (users.length > 0 && !claimCached) {
        return [
          event(released, 'Normal', REASON.volumeFailedRecycle, `Volume is used by pods: ${users.join(',')}`),
        ];
      }
      if (!isRecyclable(released))
        return failed(REASON.volumeFailedRecycle, 'No recycler plugin found for the volume!');
      return [{ type: 'recycleVolume', volume: released }];
    }
    default:
      return failed(
        REASON.volumeUnknownReclaimPolicy,
        'Volume has unrecognized PersistentVolumeReclaimPolicy',
      );
  }
}

/** After a successful scrub: the Kubernetes event, then the volume is Available again. */
export function recycledActions(volume: PersistentVolume, now: Date): Action[] {
  return [event(volume, 'Normal', REASON.volumeRecycled, 'Volume recycled'), ...unbindActions(volume, now)];
}

/** After a failed scrub: Failed with the reason; the next sync tries again. */
export function recycleFailedActions(volume: PersistentVolume, error: string, now: Date): Action[] {
  const message = `Recycle failed: ${error}`;
  return [
    ...volumePhaseAction(volume, 'Failed', message, now),
    event(volume, 'Warning', REASON.volumeFailedRecycle, message),
  ];
}
