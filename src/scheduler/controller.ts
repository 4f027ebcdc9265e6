// Wiring of the scheduler: informers for pods, nodes, volumes, claims, classes and the CSI
// objects answer the SchedulerView; one queue of pod keys runs decideSchedule and performs what
// it says. Pods that cannot be placed yet wait in the unschedulable set: they are tried again
// when something they could be waiting for changes (a node, a volume, a claim, a class, a
// driver), but never sooner than their per-pod back-off (1 s doubling to 10 s), and at the latest
// after 5 minutes, as kube-scheduler does.
import { K, kindFor } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { objectKey } from '../api/meta.js';
import type {
  CSIDriver,
  CSINode,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from '../api/types.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import type { ReconcileResult } from '../machinery/controller.js';
import { Controller } from '../machinery/controller.js';
import { EventRecorder } from '../machinery/events.js';
import { isPodTerminated, podClaimKeys } from '../volume/pods.js';
import { csiNodesByDriver, podsByClaim, podsByNode, volumesByClass } from '../machinery/indexes.js';
import type { Informer } from '../machinery/informer.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import { ControllerInformers } from '../machinery/shared-cache.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { ItemBackoff } from '../machinery/item-backoff.js';
import { ItemExponentialFailureRateLimiter, backoffFor } from '../machinery/rate-limiter.js';
import { ANN_SELECTED_NODE } from '../volume/annotations.js';
import type { ObjectStore } from '../store/types.js';
import type { EventSink } from './apply.js';
import { SchedulerApplier } from './apply.js';
import { decideSchedule } from './decide.js';
import { EVENT_FAILED_SCHEDULING, EVENT_SCHEDULED, SCHEDULER_NAME } from './reasons.js';
import type { SchedulerView, StorageCapacity } from './view.js';
import { WrittenObjects } from './written.js';

/** kube-scheduler's podMaxInUnschedulablePodsDuration: tried again after this without any change. */
const UNSCHEDULABLE_RETRY_MS = 5 * 60_000;
/** Safety re-check of a pod whose claims are being bound (changes to them wake it sooner). */
const BINDING_RECHECK_MS = 5_000;
/** An unchanged FailedScheduling message is recorded again at most this often. */
const EVENT_REPEAT_MS = 60_000;
/** Conflicts mean a cache is behind: retry soon, backing off if it persists. */
const RETRY_BASE_MS = 50;
const RETRY_MAX_MS = 30_000;

export interface SchedulerDeps {
  store: ObjectStore;
  clock?: Clock;
  log?: Logger;
  recorder?: EventSink;
  workers?: number;
  /** Per-pod back-off between attempts; default 1 s doubling to 10 s, with jitter. */
  podBackoff?: ItemBackoff;
  /** The process's shared informers; default: informers of its own. */
  informers?: SharedInformerCache;
}

export class Scheduler {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recorder: EventSink;
  private readonly ownRecorder: EventRecorder | undefined;
  private readonly written = new WrittenObjects();
  private readonly applier: SchedulerApplier;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly classes: Informer<StorageClass>;
  private readonly csiNodes: Informer<CSINode>;
  private readonly csiDrivers: Informer<CSIDriver>;
  /** Only when the store serves CSIStorageCapacity; otherwise capacity is unknown and not checked. */
  private readonly capacities: Informer | undefined;
  private readonly informers: ControllerInformers;
  private readonly controller: Controller;
  /** Pods not yet placed (or still binding): re-checked when the cluster changes. */
  private readonly pending = new Set<string>();
  private readonly backoff: ItemBackoff;
  private readonly lastEvent = new Map<string, { message: string; atMs: number }>();
  private readonly view: SchedulerView;
  private started = false;

  constructor(deps: SchedulerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: SCHEDULER_NAME });
    if (deps.recorder) {
      this.recorder = deps.recorder;
    } else {
      this.ownRecorder = new EventRecorder({
        store: deps.store,
        component: SCHEDULER_NAME,
        clock: this.clock,
        logger: this.log,
      });
      this.recorder = this.ownRecorder;
    }
    this.backoff = deps.podBackoff ?? new ItemBackoff(this.clock, backoffFor('schedulerPod'));
    this.applier = new SchedulerApplier({
      store: deps.store,
      clock: this.clock,
      onWritten: (obj) => this.written.remember(obj),
    });
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    const informer = this.informers.informer.bind(this.informers);
    this.pods = informer<Pod>(K.pod, podsByClaim, podsByNode);
    this.nodes = informer<Node>(K.node);
    this.volumes = informer<PersistentVolume>(K.pv, volumesByClass);
    this.claims = informer<PersistentVolumeClaim>(K.pvc);
    this.classes = informer<StorageClass>(K.sc);
    this.csiNodes = informer<CSINode>(K.csinode, csiNodesByDriver);
    this.csiDrivers = informer<CSIDriver>(K.csidriver);
    const capacityKind = kindFor('storage.k8s.io/v1', 'CSIStorageCapacity');
    this.capacities = capacityKind ? informer(capacityKind) : undefined;

    this.controller = new Controller({
      name: 'scheduler',
      reconcile: (key) => this.schedulePod(key),
      workers: deps.workers ?? 1,
      clock: this.clock,
      logger: this.log,
      rateLimiter: new ItemExponentialFailureRateLimiter(RETRY_BASE_MS, RETRY_MAX_MS),
    });
    this.view = this.makeView();
    this.wireHandlers();
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.informers.sync();
    this.controller.start();
    this.log.info('scheduler started');
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.informers.close();
    await this.ownRecorder?.flush();
  }

  /** Resolves once no pod is queued or being scheduled. For tests. */
  async whenIdle(): Promise<void> {
    await this.controller.whenIdle();
  }

  private wireHandlers(): void {
    const on = this.informers.on.bind(this.informers);
    const onClaimKey = (key: string): void => {
      for (const pod of this.pods.byIndex(podsByClaim, key)) this.wake(objectKey(pod));
    };
    // A pod that ends frees its ReadWriteOncePod claims for the pods waiting on them.
    const onPodGone = (pod: Pod): void => {
      for (const claimKey of podClaimKeys(pod)) onClaimKey(claimKey);
    };
    const onPod = (pod: Pod): void => {
      this.written.observe(pod);
      this.wake(objectKey(pod));
    };
    on(this.pods, {
      onAdd: onPod,
      onUpdate: (old, pod) => {
        onPod(pod);
        if (!isPodTerminated(old) && isPodTerminated(pod)) onPodGone(pod);
      },
      onDelete: (pod) => {
        onPodGone(pod);
        const key = objectKey(pod);
        this.pending.delete(key);
        this.backoff.forget(key);
        this.lastEvent.delete(pod.metadata.uid ?? key);
        this.written.forget(pod);
      },
    });
    const onClaim = (claim: PersistentVolumeClaim): void => {
      this.written.observe(claim);
      onClaimKey(objectKey(claim));
    };
    const onClaimUpdate = (old: PersistentVolumeClaim, claim: PersistentVolumeClaim): void => {
      // The provisioner gave the selected node back (it could not provision there): that
      // attempt failed, so the pods of the claim pick again only after their back-off.
      const selected = (c: PersistentVolumeClaim): string | undefined =>
        c.metadata.annotations?.[ANN_SELECTED_NODE];
      if (selected(old) !== undefined && selected(claim) === undefined) {
        for (const pod of this.pods.byIndex(podsByClaim, objectKey(claim)))
          this.backoff.failed(objectKey(pod));
      }
      onClaim(claim);
    };
    on(this.claims, { onAdd: onClaim, onUpdate: onClaimUpdate, onDelete: onClaim });
    const wakePending = (): void => {
      for (const key of this.pending) this.wake(key);
    };
    const wake = { onAdd: wakePending, onUpdate: wakePending, onDelete: wakePending };
    on(this.volumes, {
      onAdd: wakePending,
      onUpdate: (_old, v) => {
        this.written.observe(v);
        // A claimRef set or cleared concerns the pods of that claim, even ones not pending.
        const ref = v.spec.claimRef;
        if (ref?.name) onClaimKey(`${ref.namespace ?? ''}/${ref.name}`);
        wakePending();
      },
      onDelete: wakePending,
    });
    on(this.nodes, wake);
    on(this.classes, wake);
    on(this.csiNodes, wake);
    on(this.csiDrivers, wake);
    if (this.capacities) on(this.capacities, wake);
  }

  /** Queues `key` now, or when its back-off ends if it is waiting out a failed attempt. */
  private wake(key: string): void {
    const waitMs = this.backoff.remainingMs(key);
    if (waitMs > 0) this.controller.enqueueAfter(key, waitMs);
    else this.controller.enqueue(key);
  }

  private makeView(): SchedulerView {
    const fresh = <T extends KubeObject>(obj: T | undefined): T | undefined => this.written.fresher(obj);
    return {
      nodes: () => this.nodes.list(),
      node: (name) => this.nodes.get(undefined, name),
      claim: (namespace, name) => fresh(this.claims.get(namespace, name)),
      volume: (name) => fresh(this.volumes.get(undefined, name)),
      volumesOfClass: (className) =>
        this.volumes.byIndex(volumesByClass, className).map((v) => fresh(v) ?? v),
      storageClass: (name) => this.classes.get(undefined, name),
      csiNode: (name) => this.csiNodes.get(undefined, name),
      csiDriver: (name) => this.csiDrivers.get(undefined, name),
      isDriverRegistered: (driver) => this.csiNodes.byIndex(csiNodesByDriver, driver).length > 0,
      capacities: () => this.capacities?.list() as StorageCapacity[] | undefined,
      podCountOnNode: (name) => this.pods.byIndex(podsByNode, name).length,
      podsUsingClaim: (namespace, name) => this.pods.byIndex(podsByClaim, `${namespace}/${name}`),
    };
  }

  private async schedulePod(key: string): Promise<ReconcileResult> {
    const pod = this.written.fresher(this.pods.getByKey(key));
    if (!pod) {
      this.pending.delete(key);
      return;
    }
    const decision = decideSchedule(pod, this.view);
    switch (decision.outcome) {
      case 'ignore':
        this.pending.delete(key);
        return;
      case 'unschedulable':
        this.pending.add(key);
        this.backoff.failed(key);
        this.recordFailure(pod, decision.message);
        if (!pod.spec.nodeName) await this.applier.markUnschedulable(pod, decision.message);
        return { requeueAfterMs: UNSCHEDULABLE_RETRY_MS };
      case 'place':
        // A write that loses a compare-and-swap throws: the queue retries it shortly, by which
        // time the informers have brought the newer objects.
        await this.applier.applyVolumeActions(decision.actions);
        if (decision.bindPod) {
          await this.applier.bindPod(pod, decision.node);
          this.pending.delete(key);
          this.backoff.forget(key);
          this.lastEvent.delete(pod.metadata.uid ?? key);
          const name = `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
          this.recorder.event(
            pod,
            'Normal',
            EVENT_SCHEDULED,
            `Successfully assigned ${name} to ${decision.node}`,
          );
          return;
        }
        this.pending.add(key);
        if (decision.actions.length > 0) {
          this.log.info('binding volumes', { pod: key, node: decision.node, claims: decision.waitingFor });
        }
        return { requeueAfterMs: BINDING_RECHECK_MS };
    }
  }

  private recordFailure(pod: Pod, message: string): void {
    const id = pod.metadata.uid ?? objectKey(pod);
    const nowMs = this.clock.now().getTime();
    const last = this.lastEvent.get(id);
    if (last && last.message === message && nowMs - last.atMs < EVENT_REPEAT_MS) return;
    this.lastEvent.set(id, { message, atMs: nowMs });
    this.recorder.event(pod, 'Warning', EVENT_FAILED_SCHEDULING, message);
  }
}
