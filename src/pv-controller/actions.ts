// What a binder decision asks to be done. Decisions are pure; apply.ts performs these in order and
// stops at the first failure, so every prefix of an action list must leave a state the next sync
// can repair (Kubernetes' bind order is built that way).
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  PersistentVolumeClaimStatus,
  PersistentVolumeStatus,
} from '../api/types.js';

export type EventType = 'Normal' | 'Warning';

export type Action =
  /** Replace the volume's metadata and spec (compare-and-swap on its resourceVersion). */
  | { type: 'updateVolume'; volume: PersistentVolume }
  /** Write the volume's status subresource; `volume` is the base it was decided on. */
  | { type: 'updateVolumeStatus'; volume: PersistentVolume; status: PersistentVolumeStatus }
  | { type: 'updateClaim'; claim: PersistentVolumeClaim }
  | { type: 'updateClaimStatus'; claim: PersistentVolumeClaim; status: PersistentVolumeClaimStatus }
  | {
      type: 'event';
      object: PersistentVolume | PersistentVolumeClaim;
      eventType: EventType;
      reason: string;
      message: string;
    }
  /** Scrub a released volume's contents, then make it Available again (IO; see apply.ts). */
  | { type: 'recycleVolume'; volume: PersistentVolume };

export interface Decision {
  actions: Action[];
  /** Sync this key again after this long even if nothing changes. */
  requeueAfterMs?: number;
  /** Claim keys ("namespace/name") whose sync should run soon. */
  enqueueClaims?: string[];
  /**
   * The claim this volume points at is missing from (or differs in) the cache. Kubernetes reads
   * the claim live before releasing a volume, so that a lagging cache never reclaims a volume a
   * provisioner just created; the caller does the read and decides again with `claimConfirmed`.
   */
  confirmClaim?: { namespace: string; name: string };
  /** A state Kubernetes reports as an error (retried with back-off). */
  error?: string;
}

/** Nothing to write, report, retry, read or wake: syncing the object again changes nothing. */
export function isSettled(decision: Decision): boolean {
  return (
    decision.actions.length === 0 &&
    decision.error === undefined &&
    decision.requeueAfterMs === undefined &&
    decision.confirmClaim === undefined &&
    (decision.enqueueClaims ?? []).length === 0
  );
}
