// Wiring of the StatefulSet controller: informers for sets, pods and claims; one queue of set
// keys; each sync reads the set's pods and claims from the caches, decides, and applies. A pod or
// claim change wakes the set that owns (or names) it, so ordered rollout advances as soon as
// the node agent reports a pod Running.
import { K } from '../api/kinds.js';
import { objectKey } from '../api/meta.js';
import type { PersistentVolumeClaim, Pod, StatefulSet } from '../api/types.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import { Controller } from '../machinery/controller.js';
import { EventRecorder } from '../machinery/events.js';
import { byNamespace } from '../machinery/indexes.js';
import type { Informer } from '../machinery/informer.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import { ControllerInformers } from '../machinery/shared-cache.js';
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

export interface StatefulSetControllerDeps {
  store: ObjectStore;
  clock?: Clock;
  log?: Logger;
  recorder?: EventSink;
  /** The process's shared informers; default: informers of its own. */
  informers?: SharedInformerCache;
}

export class StatefulSetController {
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recorder: EventSink;
  private readonly ownRecorder: EventRecorder | undefined;
  private readonly informers: ControllerInformers;
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
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.sets = this.informers.informer<StatefulSet>(K.sts, byNamespace);
    this.pods = this.informers.informer<Pod>(K.pod, byNamespace);
    this.claims = this.informers.informer<PersistentVolumeClaim>(K.pvc, byNamespace);
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
    await this.informers.sync();
    this.controller.start();
    this.log.info('statefulset controller started');
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.informers.close();
    await this.ownRecorder?.flush();
  }

  /** Resolves once no set is queued or being synced. For tests. */
  async whenIdle(): Promise<void> {
    await this.controller.whenIdle();
  }

  private wireHandlers(): void {
    const enqueueSet = (set: StatefulSet): void => this.controller.enqueue(objectKey(set));
    const on = this.informers.on.bind(this.informers);
    on(
      this.sets,
      { onAdd: enqueueSet, onUpdate: (_old, s) => enqueueSet(s), onDelete: enqueueSet },
      { resyncMs: RESYNC_MS },
    );
    const onPod = (pod: Pod): void => {
      const owner = (pod.metadata.ownerReferences ?? []).find(
        (r) => r.controller && r.kind === 'StatefulSet',
      );
      if (owner) this.controller.enqueue(`${pod.metadata.namespace ?? ''}/${owner.name}`);
    };
    on(this.pods, { onAdd: onPod, onUpdate: (_old, p) => onPod(p), onDelete: onPod });
    // Claims name no owner unless the policy says so: wake the sets of the claim's namespace
    // whose name it could carry.
    const onClaim = (claim: PersistentVolumeClaim): void => {
      const name = claim.metadata.name ?? '';
      for (const set of this.sets.byIndex(byNamespace, claim.metadata.namespace ?? '')) {
        if (name.includes(`-${set.metadata.name ?? ''}-`)) enqueueSet(set);
      }
    };
    on(this.claims, { onAdd: onClaim, onUpdate: (_old, c) => onClaim(c), onDelete: onClaim });
  }

  private async syncStatefulSet(key: string): Promise<void> {
    const set = this.sets.getByKey(key);
    if (!set) return;
    const namespace = set.metadata.namespace ?? '';
    const actions = decideStatefulSet({
      set,
      pods: this.pods.byIndex(byNamespace, namespace),
      claims: this.claims.byIndex(byNamespace, namespace),
    });
    if (actions.length === 0) return;
    this.log.debug('syncing', { set: key, actions: actions.map((a) => a.type) });
    await applyStatefulSetActions(this.store, this.recorder, set, actions);
  }
}
