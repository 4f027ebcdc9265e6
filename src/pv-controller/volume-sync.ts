// Kubernetes' syncVolume state machine and reclaim (Retain, Delete, Recycle) as pure functions: a
// volume and a read-only view in, actions out; `now` is passed in.
import type { PersistentVolume } from '../api/types.js';
import type { Action, Decision } from './actions.js';
import {
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_MIGRATED_TO,
  FINALIZER_PV_PROTECTION,
  REASON,
} from '../volume/annotations.js';
import { hasFinalizer, withoutFinalizer } from '../api/finalizers.js';
import { isPodTerminated } from '../volume/pods.js';
import { volumeModeOf } from '../volume/match.js';

import {
  event,
  hasAnnotation,
  volumePhaseAction,
  volumePhaseWithEvent,
  unbindActions,
  type BinderView,
  type SyncVolumeOptions,
} from './decide-common.js';

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
