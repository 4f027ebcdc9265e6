// Performs binder actions against the ObjectStore, in order, stopping at the first failure.
// Spec writes are compare-and-swap on the resourceVersion the decision saw; a status write that
// follows a write of the same object in the same batch builds on what that write returned.
// Events go to an injected recorder, each (object, type, reason, message) once until the object's
// next different event, so a periodic resync of an unchanged cluster writes nothing.
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../api/types.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import type { ObjectStore } from '../store/types.js';
import type { Action, EventType } from './actions.js';
import { recycledActions, recycleFailedActions } from './decide.js';

/** Empties a released volume so it can be handed out again (Kubernetes' deprecated Recycle policy). */
export interface Recycler {
  recycle(volume: PersistentVolume): Promise<void>;
}

/** The part of machinery's EventRecorder the binder uses. */
export interface EventSink {
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

export interface ApplierDeps {
  store: ObjectStore;
  events?: EventSink;
  recycler?: Recycler;
  clock?: Clock;
  /** Told about every object a write returned, so the private cache is never behind its own writes. */
  onVolumeWritten?: (volume: PersistentVolume) => void;
  onClaimWritten?: (claim: PersistentVolumeClaim) => void;
}

export interface ApplyResult {
  /** Store writes of volumes and claims (events not counted). */
  writes: number;
  events: number;
}

export class BinderApplier {
  private readonly store: ObjectStore;
  private readonly events: EventSink | undefined;
  private readonly recycler: Recycler | undefined;
  private readonly clock: Clock;
  private readonly onVolumeWritten: ((volume: PersistentVolume) => void) | undefined;
  private readonly onClaimWritten: ((claim: PersistentVolumeClaim) => void) | undefined;
  private readonly volumeKind = K.pv;
  private readonly claimKind = K.pvc;
  /** Last event recorded per object uid (or key): "type reason message". */
  private readonly lastEvent = new Map<string, string>();

  constructor(deps: ApplierDeps) {
    this.store = deps.store;
    this.events = deps.events;
    this.recycler = deps.recycler;
    this.clock = deps.clock ?? systemClock;
    this.onVolumeWritten = deps.onVolumeWritten;
    this.onClaimWritten = deps.onClaimWritten;
  }

  /** Drops the event memory of a deleted object. */
  forgetObject(uid: string | undefined): void {
    if (uid) this.lastEvent.delete(uid);
  }

  async apply(actions: readonly Action[]): Promise<ApplyResult> {
    const result: ApplyResult = { writes: 0, events: 0 };
    const volumes = new Map<string, PersistentVolume>();
    const claims = new Map<string, PersistentVolumeClaim>();
    const claimId = (c: PersistentVolumeClaim): string =>
      `${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`;
    for (const action of actions) {
      switch (action.type) {
        case 'updateVolume': {
          const desired = rebase(action.volume, volumes.get(action.volume.metadata.name ?? ''));
          const written = await this.store.update(this.volumeKind, desired);
          volumes.set(written.metadata.name ?? '', written);
          this.onVolumeWritten?.(written);
          result.writes++;
          break;
        }
        case 'updateVolumeStatus': {
          const base = volumes.get(action.volume.metadata.name ?? '') ?? action.volume;
          const written = await this.store.update(
            this.volumeKind,
            { ...base, status: action.status },
            { subresource: 'status' },
          );
          volumes.set(written.metadata.name ?? '', written);
          this.onVolumeWritten?.(written);
          result.writes++;
          break;
        }
        case 'updateClaim': {
          const desired = rebase(action.claim, claims.get(claimId(action.claim)));
          const written = await this.store.update(this.claimKind, desired);
          claims.set(claimId(written), written);
          this.onClaimWritten?.(written);
          result.writes++;
          break;
        }
        case 'updateClaimStatus': {
          const base = claims.get(claimId(action.claim)) ?? action.claim;
          const written = await this.store.update(
            this.claimKind,
            { ...base, status: action.status },
            { subresource: 'status' },
          );
          claims.set(claimId(written), written);
          this.onClaimWritten?.(written);
          result.writes++;
          break;
        }
        case 'event':
          if (this.record(action.object, action.eventType, action.reason, action.message)) result.events++;
          break;
        case 'recycleVolume': {
          const volume = volumes.get(action.volume.metadata.name ?? '') ?? action.volume;
          const follow = await this.recycle(volume);
          const inner = await this.apply(follow);
          result.writes += inner.writes;
          result.events += inner.events;
          break;
        }
      }
    }
    return result;
  }

  private async recycle(volume: PersistentVolume): Promise<Action[]> {
    if (!this.recycler) return recycleFailedActions(volume, 'no recycler is configured', this.clock.now());
    try {
      await this.recycler.recycle(volume);
    } catch (err) {
      return recycleFailedActions(volume, err instanceof Error ? err.message : String(err), this.clock.now());
    }
    return recycledActions(volume, this.clock.now());
  }

  private record(object: KubeObject, type: EventType, reason: string, message: string): boolean {
    if (!this.events) return false;
    const id =
      object.metadata.uid ??
      `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
    const signature = `${type} ${reason} ${message}`;
    if (this.lastEvent.get(id) === signature) return false;
    this.lastEvent.set(id, signature);
    this.events.event(object, type, reason, message);
    return true;
  }
}

/** A spec write that follows another write of the same object continues from its resourceVersion. */
function rebase<T extends KubeObject>(desired: T, latest: T | undefined): T {
  if (!latest) return desired;
  return {
    ...desired,
    metadata: { ...desired.metadata, resourceVersion: latest.metadata.resourceVersion },
    ...(latest['status'] !== undefined ? { status: latest['status'] } : {}),
  };
}
