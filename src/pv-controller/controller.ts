// Wiring of the PV controller: informers for volumes, claims, classes, pods and nodes feed the
// binder's private cache; two rate-limited work queues run syncClaim and syncVolume; decisions are
// applied to the store. Level-triggered: every sync starts from the cache, and a periodic resync
// re-checks everything: it queues only what its decision would act on (a settled pair costs a
// pure decision, not a queued sync; a settled, unchanged cache costs nothing), and writes only
// when something really changed.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from '../api/types.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import type { ReconcileResult } from '../machinery/controller.js';
import { Controller } from '../machinery/controller.js';
import { EventRecorder } from '../machinery/events.js';
import type { Informer } from '../machinery/informer.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import { ControllerInformers } from '../machinery/shared-cache.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { ItemExponentialFailureRateLimiter } from '../machinery/rate-limiter.js';
import { SettledResync } from '../machinery/settled-resync.js';
import type { ObjectStore } from '../store/types.js';
import type { Action, Decision } from './actions.js';
import { isSettled } from './actions.js';
import { EVENT_COMPONENT } from '../volume/annotations.js';
import type { EventSink, Recycler } from './apply.js';
import { BinderApplier } from './apply.js';
import { BinderCache } from './cache.js';
import { syncClaim, syncVolume } from './decide.js';
import { claimKey, isCandidateVolume } from '../volume/match.js';

/** Kubernetes' PVClaimBinderSyncPeriod. */
export const DEFAULT_RESYNC_MS = 15_000;
/** Kubernetes' operation back-off: 500 ms doubling to about 2 minutes. */
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 122_000;
/** How many waiting claims a newly Available volume wakes. */
const WAKE_LIMIT = 4;

export interface PvControllerDeps {
  store: ObjectStore;
  clock?: Clock;
  log?: Logger;
  /** Where events go; default: an EventRecorder writing Events to the store. */
  recorder?: EventSink;
  recycler?: Recycler;
  /** Workers per queue (claims, volumes). Default 1, as in Kubernetes. */
  workers?: number;
  /** Periodic full re-check. Default 15 s; 0 disables it. */
  resyncMs?: number;
  /** The process's shared informers; default: informers of its own. */
  informers?: SharedInformerCache;
}

export class PvController {
  readonly cache = new BinderCache();
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recorder: EventSink;
  private readonly ownRecorder: EventRecorder | undefined;
  private readonly applier: BinderApplier;
  private readonly volumeKind = K.pv;
  private readonly claimKind = K.pvc;
  private readonly informers: ControllerInformers;
  private readonly volumeInformer: Informer<PersistentVolume>;
  private readonly claimInformer: Informer<PersistentVolumeClaim>;
  private readonly classInformer: Informer<StorageClass>;
  private readonly podInformer: Informer<Pod>;
  private readonly nodeInformer: Informer<Node>;
  private readonly claims: Controller;
  private readonly volumes: Controller;
  private started = false;
  /** Claims woken by a newly Available volume, and which volume woke them. */
  private readonly wokenBy = new Map<string, string>();

  constructor(deps: PvControllerDeps) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: EVENT_COMPONENT });
    if (deps.recorder) {
      this.recorder = deps.recorder;
    } else {
      this.ownRecorder = new EventRecorder({
        store: deps.store,
        component: EVENT_COMPONENT,
        clock: this.clock,
        logger: this.log,
      });
      this.recorder = this.ownRecorder;
    }
    this.applier = new BinderApplier({
      store: deps.store,
      events: this.recorder,
      ...(deps.recycler ? { recycler: deps.recycler } : {}),
      clock: this.clock,
      onVolumeWritten: (v) => this.onVolume(v),
      onClaimWritten: (c) => this.onClaim(c),
    });
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.volumeInformer = this.informers.informer(this.volumeKind);
    this.claimInformer = this.informers.informer(this.claimKind);
    this.classInformer = this.informers.informer(K.sc);
    this.podInformer = this.informers.informer(K.pod);
    this.nodeInformer = this.informers.informer(K.node);

    const workers = deps.workers ?? 1;
    const queueOptions = (name: string, reconcile: (key: string) => Promise<ReconcileResult>) => ({
      name,
      reconcile,
      workers,
      clock: this.clock,
      logger: this.log,
      rateLimiter: new ItemExponentialFailureRateLimiter(RETRY_BASE_MS, RETRY_MAX_MS),
    });
    this.claims = new Controller(queueOptions('claims', (key) => this.syncClaimKey(key)));
    this.volumes = new Controller(queueOptions('volumes', (key) => this.syncVolumeKey(key)));
    this.wireHandlers(deps.resyncMs ?? DEFAULT_RESYNC_MS);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.informers.sync();
    this.claims.start();
    this.volumes.start();
    this.log.info('pv controller started');
  }

  async stop(): Promise<void> {
    await Promise.all([this.claims.stop(), this.volumes.stop()]);
    await this.informers.close();
    await this.ownRecorder?.flush();
  }

  /** Resolves once both queues are momentarily idle and recorded events are written. For tests and benchmarks. */
  async whenIdle(): Promise<void> {
    for (;;) {
      await Promise.all([this.claims.whenIdle(), this.volumes.whenIdle()]);
      await this.ownRecorder?.flush();
      if (this.claims.isIdle() && this.volumes.isIdle()) return;
    }
  }

  // --- informer handlers

  private wireHandlers(resyncMs: number): void {
    const on = this.informers.on.bind(this.informers);
    // decisions are pure over the cache: an unchanged cache whose objects were all settled stays so
    const resync = new SettledResync(() => this.cache.generation);
    on(
      this.volumeInformer,
      {
        onAdd: (v) => this.onVolume(v, true),
        onUpdate: (_old, v) => this.onVolume(v, true),
        onDelete: (v) => {
          this.cache.removeVolume(v.metadata.name ?? '', v.metadata.resourceVersion);
          this.applier.forgetObject(v.metadata.uid);
          const ref = v.spec.claimRef;
          // The claim becomes Lost promptly instead of at the next resync.
          if (ref?.name) this.claims.enqueue(`${ref.namespace ?? ''}/${ref.name}`);
        },
      },
      resync.options(resyncMs, (v) => {
        const volume = this.cache.volume(v.metadata.name ?? '') ?? v;
        return !isSettled(syncVolume(volume, this.cache, this.clock.now()));
      }),
    );
    on(
      this.claimInformer,
      {
        onAdd: (c) => this.onClaim(c, true),
        onUpdate: (_old, c) => this.onClaim(c, true),
        onDelete: (c) => {
          const key = claimKey(c);
          this.cache.removeClaim(key, c.metadata.resourceVersion);
          this.applier.forgetObject(c.metadata.uid);
          // Its volume becomes Released promptly.
          if (c.spec.volumeName) this.volumes.enqueue(c.spec.volumeName);
          for (const v of this.cache.index.preBoundTo(key)) this.volumes.enqueue(v.metadata.name ?? '');
        },
      },
      resync.options(resyncMs, (c) => {
        const claim = this.cache.claimByKey(claimKey(c)) ?? c;
        return !isSettled(syncClaim(claim, this.cache, this.clock.now()));
      }),
    );
    on(this.classInformer, {
      onAdd: (sc) => this.onClass(sc),
      onUpdate: (_old, sc) => this.onClass(sc),
      onDelete: (sc) => this.cache.removeClass(sc.metadata.name ?? ''),
    });
    const podChanged = (keys: string[]): void => {
      for (const key of keys) if (this.cache.claimByKey(key)) this.claims.enqueue(key);
    };
    on(this.podInformer, {
      onAdd: (p) => podChanged(this.cache.upsertPod(p)),
      onUpdate: (_old, p) => podChanged(this.cache.upsertPod(p)),
      onDelete: (p) =>
        podChanged(this.cache.removePod(`${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`)),
    });
    on(this.nodeInformer, {
      onAdd: (n) => this.cache.upsertNode(n),
      onUpdate: (_old, n) => this.cache.upsertNode(n),
      onDelete: (n) => this.cache.removeNode(n.metadata.name ?? ''),
    });
  }

  private onVolume(volume: PersistentVolume, enqueue = false): void {
    const { stored, becameCandidate } = this.cache.upsertVolume(volume);
    if (!stored) return;
    if (enqueue) this.volumes.enqueue(volume.metadata.name ?? '');
    // Claims waiting for a volume need not wait for the resync when one appears.
    if (becameCandidate) this.wake(volume);
  }

  private wake(volume: PersistentVolume): void {
    for (const key of this.cache.takeWaitingClaimsFor(volume, WAKE_LIMIT)) {
      this.wokenBy.set(key, volume.metadata.name ?? '');
      this.claims.enqueue(key);
    }
  }

  private onClaim(claim: PersistentVolumeClaim, enqueue = false): void {
    if (this.cache.upsertClaim(claim) && enqueue) this.claims.enqueue(claimKey(claim));
  }

  private onClass(storageClass: StorageClass): void {
    this.cache.upsertClass(storageClass);
    for (const key of this.cache.waitingClaims(storageClass.metadata.name ?? '')) this.claims.enqueue(key);
  }

  // --- reconcilers

  private async syncClaimKey(key: string): Promise<ReconcileResult> {
    const claim = this.cache.claimByKey(key);
    if (!claim) return;
    const decision = syncClaim(claim, this.cache, this.clock.now());
    const bindsTo = decision.actions.find(
      (a) => a.type === 'updateVolume' || a.type === 'updateVolumeStatus',
    );
    // Found nothing: a volume that becomes Available later wakes it. Marked before the first
    // await, so a volume arriving meanwhile is not missed.
    if (!bindsTo) this.cache.markWaiting(key);
    const waker = this.wokenBy.get(key);
    this.wokenBy.delete(key);
    const result = await this.perform(decision);
    // The volume that woke this claim is still free (the claim found a better one): wake another.
    if (waker !== undefined && bindsTo && 'volume' in bindsTo && bindsTo.volume.metadata.name !== waker) {
      const volume = this.cache.volume(waker);
      if (volume && isCandidateVolume(volume)) this.wake(volume);
    }
    return result;
  }

  private async syncVolumeKey(name: string): Promise<ReconcileResult> {
    const volume = this.cache.volume(name);
    if (!volume) return;
    let decision = syncVolume(volume, this.cache, this.clock.now());
    if (decision.confirmClaim) {
      const { namespace, name: claimName } = decision.confirmClaim;
      try {
        const live = await this.store.get<PersistentVolumeClaim>(this.claimKind, namespace, claimName);
        this.cache.upsertClaim(live);
      } catch (err) {
        if (!isStatusError(err, 'NotFound')) throw err;
      }
      decision = syncVolume(this.cache.volume(name) ?? volume, this.cache, this.clock.now(), {
        claimConfirmed: true,
      });
    }
    return this.perform(decision);
  }

  private async perform(decision: Decision): Promise<ReconcileResult> {
    const assumed = this.assume(decision.actions);
    try {
      await this.applier.apply(decision.actions);
    } catch (err) {
      this.rollback(assumed);
      if (isStatusError(err, 'Conflict') || isStatusError(err, 'NotFound')) {
        // Someone else wrote first: read what they wrote and decide again straight away.
        await this.refresh(decision.actions);
        return { requeueAfterMs: 0 };
      }
      throw err;
    }
    for (const key of decision.enqueueClaims ?? []) this.claims.enqueue(key);
    if (decision.error) throw new Error(decision.error);
    return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : undefined;
  }

  /**
   * Takes a volume the decision is about to claim out of the candidate set before the first
   * await, so a concurrent claim sync cannot pick the same volume meanwhile.
   */
  private assume(
    actions: readonly Action[],
  ): Map<string, { before: PersistentVolume; assumed: PersistentVolume }> {
    const assumed = new Map<string, { before: PersistentVolume; assumed: PersistentVolume }>();
    for (const action of actions) {
      if (action.type !== 'updateVolume') continue;
      const name = action.volume.metadata.name ?? '';
      const before = this.cache.volume(name);
      if (!before || assumed.has(name)) continue;
      this.cache.upsertVolume(action.volume, true);
      assumed.set(name, { before, assumed: action.volume });
    }
    return assumed;
  }

  private rollback(assumed: Map<string, { before: PersistentVolume; assumed: PersistentVolume }>): void {
    for (const [name, { before, assumed: ours }] of assumed) {
      if (this.cache.volume(name) === ours) this.cache.upsertVolume(before, true);
    }
  }

  private async refresh(actions: readonly Action[]): Promise<void> {
    const volumes = new Set<string>();
    const claims = new Map<string, { namespace: string; name: string }>();
    for (const a of actions) {
      if (a.type === 'updateVolume' || a.type === 'updateVolumeStatus' || a.type === 'recycleVolume') {
        volumes.add(a.volume.metadata.name ?? '');
      } else if (a.type === 'updateClaim' || a.type === 'updateClaimStatus') {
        claims.set(claimKey(a.claim), {
          namespace: a.claim.metadata.namespace ?? '',
          name: a.claim.metadata.name ?? '',
        });
      }
    }
    for (const name of volumes) {
      try {
        this.cache.upsertVolume(await this.store.get<PersistentVolume>(this.volumeKind, undefined, name));
      } catch (err) {
        if (!isStatusError(err, 'NotFound')) throw err;
        this.cache.removeVolume(name);
      }
    }
    for (const [key, { namespace, name }] of claims) {
      try {
        this.cache.upsertClaim(await this.store.get<PersistentVolumeClaim>(this.claimKind, namespace, name));
      } catch (err) {
        if (!isStatusError(err, 'NotFound')) throw err;
        this.cache.removeClaim(key);
      }
    }
  }
}
