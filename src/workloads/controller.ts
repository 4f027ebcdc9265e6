// Wiring of the StatefulSet controller: informers for sets, pods and claims; one queue of set
// keys; each sync reads the set's pods and claims from the caches, decides, and applies. A pod or
// claim change wakes the set that owns (or names) it, so ordered rollout advances as soon as
// the node agent reports a pod Running.
import type { KindInfo } from '../api/kinds.js';
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { objectKey } from '../api/meta.js';
import type { PersistentVolumeClaim, Pod, StatefulSet } from '../api/types.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import { Controller } from '../machinery/controller.js';
import { EventRecorder } from '../machinery/events.js';
import { Informer } from '../machinery/informer.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { ItemExponentialFailureRateLimiter } from '../machinery/rate-limiter.js';
import type { ObjectStore } from '../store/types.js';
import type { EventSink } from './apply.js';
import { applyStatefulSetActions } from './apply.js';
import { decideStatefulSet } from './decide.js';

export const STATEFULSET_COMPONENT = 'statefulset-controller';

/** Re-check every set this often, in case an event was missed. */
const RESYNC_MS = 30_000;
const RETRY_BASE_MS = 50;
const RETRY_MAX_MS = 30_000;
const BY_NAMESPACE = 'namespace';

export interface StatefulSetControllerDeps {
  store: ObjectStore;
  clock?: Clock;
  log?: Logger;
  recorder?: EventSink;
}

export class StatefulSetController {
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recorder: EventSink;
  private readonly ownRecorder: EventRecorder | undefined;
  private readonly sets: Informer<StatefulSet>;
  private readonly pods: Informer<Pod>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly controller: Controller;
  private started = false;

  constructor(deps: StatefulSetControllerDeps) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: STATEFULSET_COMPONENT });
    if (deps.recorder) {
      this.recorder = deps.recorder;
    } else {
      this.ownRecorder = new EventRecorder({
        store: deps.store,
        component: STATEFULSET_COMPONENT,
        clock: this.clock,
        logger: this.log,
      });
      this.recorder = this.ownRecorder;
    }
    const informer = <T extends KubeObject>(kind: KindInfo, resyncMs = 0): Informer<T> =>
      new Informer<T>({ store: deps.store, kind, resyncMs, clock: this.clock, logger: this.log });
    this.sets = informer<StatefulSet>(K.sts, RESYNC_MS);
    this.pods = informer<Pod>(K.pod);
    this.claims = informer<PersistentVolumeClaim>(K.pvc);
    this.pods.addIndex(BY_NAMESPACE, (p) => [p.metadata.namespace ?? '']);
    this.claims.addIndex(BY_NAMESPACE, (c) => [c.metadata.namespace ?? '']);
    this.controller = new Controller({
      name: 'statefulsets',
      reconcile: (key) => this.syncStatefulSet(key),
      clock: this.clock,
      logger: this.log,
      rateLimiter: new ItemExponentialFailureRateLimiter(RETRY_BASE_MS, RETRY_MAX_MS),
    });
    this.wireHandlers();
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.sets.start();
    this.pods.start();
    this.claims.start();
    await Promise.all([this.sets.waitForSync(), this.pods.waitForSync(), this.claims.waitForSync()]);
    this.controller.start();
    this.log.info('statefulset controller started');
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await Promise.all([this.sets.stop(), this.pods.stop(), this.claims.stop()]);
    await this.ownRecorder?.flush();
  }

  /** Resolves once no set is queued or being synced. For tests. */
  async whenIdle(): Promise<void> {
    await this.controller.whenIdle();
  }

  private wireHandlers(): void {
    const enqueueSet = (set: StatefulSet): void => this.controller.enqueue(objectKey(set));
    this.sets.addHandler({ onAdd: enqueueSet, onUpdate: (_old, s) => enqueueSet(s), onDelete: enqueueSet });
    const onPod = (pod: Pod): void => {
      const owner = (pod.metadata.ownerReferences ?? []).find(
        (r) => r.controller && r.kind === 'StatefulSet',
      );
      if (owner) this.controller.enqueue(`${pod.metadata.namespace ?? ''}/${owner.name}`);
    };
    this.pods.addHandler({ onAdd: onPod, onUpdate: (_old, p) => onPod(p), onDelete: onPod });
    // Claims name no owner unless the policy says so: wake the sets of the claim's namespace
    // whose name it could carry.
    const onClaim = (claim: PersistentVolumeClaim): void => {
      const name = claim.metadata.name ?? '';
      for (const set of this.sets.list()) {
        if (
          set.metadata.namespace === claim.metadata.namespace &&
          name.includes(`-${set.metadata.name ?? ''}-`)
        ) {
          enqueueSet(set);
        }
      }
    };
    this.claims.addHandler({ onAdd: onClaim, onUpdate: (_old, c) => onClaim(c), onDelete: onClaim });
  }

  private async syncStatefulSet(key: string): Promise<void> {
    const set = this.sets.getByKey(key);
    if (!set) return;
    const namespace = set.metadata.namespace ?? '';
    const actions = decideStatefulSet({
      set,
      pods: this.pods.byIndex(BY_NAMESPACE, namespace),
      claims: this.claims.byIndex(BY_NAMESPACE, namespace),
    });
    if (actions.length === 0) return;
    this.log.debug('syncing', { set: key, actions: actions.map((a) => a.type) });
    await applyStatefulSetActions(this.store, this.recorder, set, actions);
  }
}
