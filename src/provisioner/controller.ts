// Wiring of the provisioner (berth's external-provisioner): informers for claims, volumes, classes,
// nodes, CSINodes and VolumeAttachments; one queue of claims (CreateVolume) and one of volumes
// (DeleteVolume), each retried per key with exponential back-off; at most `maxInFlight` driver
// calls at once. Decisions come from plan.ts and outcomes.ts; provisioning.ts carries a claim's
// out, io.ts does the store writes and driver calls; this file reads, dispatches and deletes.
import { randomInt } from 'node:crypto';
import { K } from '../api/kinds.js';
import { sameLabels, type KubeObject } from '../api/meta.js';
import type {
  CSINode,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  StorageClass,
  VolumeAttachment,
} from '../api/types.js';
import type { CsiClient } from '../csi/client.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import type { ReconcileContext, ReconcileResult } from '../machinery/controller.js';
import { Controller } from '../machinery/controller.js';
import type { EventType } from '../machinery/events.js';
import { EventRecorder } from '../machinery/events.js';
import { attachmentsByVolume, claimsBySnapshotSource } from '../machinery/indexes.js';
import type { Informer } from '../machinery/informer.js';
import { keyOf } from '../machinery/informer.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import { ControllerInformers } from '../machinery/shared-cache.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { ItemBackoff } from '../machinery/item-backoff.js';
import { SettledResync } from '../machinery/settled-resync.js';
import {
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_MAX_MS,
  ItemExponentialFailureRateLimiter,
  backoffFor,
} from '../machinery/rate-limiter.js';
import { REASON } from '../volume/annotations.js';
import { claimClass } from '../volume/match.js';
import type { ObjectStore } from '../store/types.js';
import { ProvisionerDriver, ProvisionerStore } from './io.js';
import { deletionBlocker, messageOf } from './outcomes.js';
import { EVENT_COMPONENT } from '../volume/provisioning-names.js';
import {
  claimChangeMatters,
  decideClaim,
  decideVolume,
  deletionSecretRef,
  volumeNameFor,
  withoutProvisioningMark,
  type ClaimAction,
  type VolumeAction,
} from './plan.js';
import { ContentSources } from './content-source.js';
import { ClaimProvisioning, FAILED } from './provisioning.js';
import { SnapshotWakeup } from './snapshot-wakeup.js';
import type { TopologyView } from './topology.js';

/** external-provisioner's --timeout. */
export const DEFAULT_CSI_CALL_TIMEOUT_MS = 10_000;
/**
 * Claims reconciled at once. Each holds a worker across two store writes (the in-flight record,
 * then the PV) around its CreateVolume, so with 16 a provisioning rate was capped at 16 / (that
 * chain's latency): ~300/s at 50 ms. Upstream's --worker-threads default is 100; driver calls stay
 * limited by DEFAULT_MAX_IN_FLIGHT, so a slow backend is not asked more at once than before.
 */
export const DEFAULT_WORKERS = 64;
export const DEFAULT_MAX_IN_FLIGHT = 16;
/** Level-triggered safety net: every claim and volume is looked at again this often. */
export const DEFAULT_RESYNC_MS = 60_000;

/** Where events go: an EventRecorder, or anything with its event() method. */
export interface ProvisionerEventSink {
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

export interface ProvisionerDeps {
  store: ObjectStore;
  csi: CsiClient;
  driverName: string;
  /** Node-deployment mode: handle only claims selected onto this node, and only their volumes. */
  nodeName?: string;
  clock?: Clock;
  log?: Logger;
  recorder?: ProvisionerEventSink;
  /** Claims (and volumes) reconciled at once. Default 64. */
  workers?: number;
  /** CreateVolume/DeleteVolume calls in flight at once. Default 16. */
  maxInFlight?: number;
  /** storage.kubernetes.io/csiProvisionerIdentity; default "<ms>-<rand>-<driver>". */
  identity?: string;
  /** Deadline of each driver call. Default 10 s. */
  timeoutMs?: number;
  /** Per-key back-off; default 1 s doubling to 5 min. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Default 60 s; 0 disables it. */
  resyncMs?: number;
  /** The process's shared informers; default: informers of its own. */
  informers?: SharedInformerCache;
}

const CLAIM = K.pvc;
const VOLUME = K.pv;

export class Provisioner {
  readonly driverName: string;
  readonly nodeName: string | undefined;
  readonly identity: string;
  private readonly store: ProvisionerStore;
  private readonly driver: ProvisionerDriver;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recorder: ProvisionerEventSink;
  private readonly ownRecorder: EventRecorder | undefined;
  private readonly retryMaxMs: number;
  private readonly claimInformer: Informer<PersistentVolumeClaim>;
  private readonly volumeInformer: Informer<PersistentVolume>;
  private readonly classInformer: Informer<StorageClass>;
  private readonly nodeInformer: Informer<Node>;
  private readonly csiNodeInformer: Informer<CSINode>;
  private readonly attachmentInformer: Informer<VolumeAttachment>;
  private readonly informers: ControllerInformers;
  private readonly claims: Controller;
  private readonly volumes: Controller;
  private readonly topology: TopologyView;
  private readonly provisioning: ClaimProvisioning;
  /** Volumes this instance created whose PersistentVolume the informer may not show yet. */
  private readonly created = new Set<string>();
  /** Volumes (by uid) whose DeleteVolume succeeded; only their objects remain to be removed. */
  private readonly deletedHandles = new Set<string>();
  /**
   * Per-claim provisioning back-off (1 s doubling to 5 min). It survives the claim's own updates
   * (a new selected node after a reschedule), so a claim that cannot be provisioned is tried no
   * faster than this however often the scheduler picks again; a spec change or success resets it.
   */
  private readonly provisionBackoff: ItemBackoff;
  private started = false;

  constructor(deps: ProvisionerDeps) {
    this.driverName = deps.driverName;
    this.nodeName = deps.nodeName;
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({
      component: EVENT_COMPONENT,
      driver: deps.driverName,
      ...(deps.nodeName !== undefined ? { node: deps.nodeName } : {}),
    });
    this.identity =
      deps.identity ??
      `${this.clock.now().getTime()}-${String(randomInt(10_000)).padStart(4, '0')}-${deps.driverName}`;
    if (deps.recorder) {
      this.recorder = deps.recorder;
    } else {
      this.ownRecorder = new EventRecorder({
        store: deps.store,
        component: EVENT_COMPONENT,
        ...(deps.nodeName !== undefined ? { host: deps.nodeName } : {}),
        clock: this.clock,
        logger: this.log,
      });
      this.recorder = this.ownRecorder;
    }
    this.store = new ProvisionerStore(deps.store, this.log);
    this.driver = new ProvisionerDriver(deps.csi, {
      timeoutMs: deps.timeoutMs ?? DEFAULT_CSI_CALL_TIMEOUT_MS,
      maxInFlight: deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    });
    this.retryMaxMs = deps.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;

    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.claimInformer = this.informers.informer(CLAIM, claimsBySnapshotSource);
    this.volumeInformer = this.informers.informer(VOLUME);
    this.classInformer = this.informers.informer(K.sc);
    this.nodeInformer = this.informers.informer(K.node);
    this.csiNodeInformer = this.informers.informer(K.csinode);
    this.attachmentInformer = this.informers.informer(K.va, attachmentsByVolume);
    this.topology = {
      node: (name) => this.nodeInformer.get(undefined, name),
      csiNode: (name) => this.csiNodeInformer.get(undefined, name),
      csiNodes: () => this.csiNodeInformer.list(),
    };

    const controller = (
      name: string,
      reconcile: (key: string, ctx: ReconcileContext) => Promise<ReconcileResult>,
    ) =>
      new Controller({
        name,
        reconcile,
        workers: deps.workers ?? DEFAULT_WORKERS,
        clock: this.clock,
        logger: this.log,
        rateLimiter: new ItemExponentialFailureRateLimiter(
          deps.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
          deps.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
        ),
      });
    this.provisionBackoff = new ItemBackoff(
      this.clock,
      backoffFor('provisioner', { baseMs: deps.retryBaseMs, maxMs: deps.retryMaxMs }),
    );
    this.provisioning = new ClaimProvisioning({
      driverName: this.driverName,
      nodeName: this.nodeName,
      identity: this.identity,
      store: this.store,
      driver: this.driver,
      topology: this.topology,
      retryMaxMs: this.retryMaxMs,
      created: this.created,
      sources: new ContentSources(deps.store),
      event: (obj, type, reason, message) => this.event(obj, type, reason, message),
      clock: this.clock,
      log: this.log,
    });
    this.claims = controller('provisioner-claims', (key, ctx) => this.syncClaim(key, ctx));
    this.volumes = controller('provisioner-volumes', (key, ctx) => this.syncVolume(key, ctx));
    this.wireHandlers(deps.resyncMs ?? DEFAULT_RESYNC_MS);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.informers.sync();
    this.claims.start();
    this.volumes.start();
    this.log.info('provisioner started', { identity: this.identity });
  }

  /** Stops at once: in-flight driver calls are abandoned (their results are not written). */
  async stop(): Promise<void> {
    await Promise.all([this.claims.stop(), this.volumes.stop()]);
    await this.informers.close();
    await this.ownRecorder?.flush();
    this.log.info('provisioner stopped');
  }

  /** Resolves once both queues are momentarily idle and recorded events are written. For tests and benchmarks. */
  async whenIdle(): Promise<void> {
    for (;;) {
      await Promise.all([this.claims.whenIdle(), this.volumes.whenIdle()]);
      await this.ownRecorder?.flush();
      if (this.claims.isIdle() && this.volumes.isIdle()) return;
    }
  }

  // ---------------------------------------------------------------- informer handlers

  private wireHandlers(resyncMs: number): void {
    const on = this.informers.on.bind(this.informers);
    // The decisions are pure over these informers (and no clock): while none of them changed since
    // a pass that found everything settled, a pass finds nothing either, and is skipped. Of the
    // nodes they read only this instance's node's labels (node-deployment mode): a node's status
    // post (its heartbeat, every few minutes) is no reason for a pass over every claim and volume.
    let nodeLabelChanges = 0;
    const nodeChanged = (node: Node, old?: Node): void => {
      if (node.metadata.name !== this.nodeName) return;
      if (!old || !sameLabels(old.metadata.labels, node.metadata.labels)) nodeLabelChanges++;
    };
    on(this.nodeInformer, {
      onAdd: (n) => nodeChanged(n),
      onUpdate: (old, n) => nodeChanged(n, old),
      onDelete: (n) => nodeChanged(n),
    });
    const resync = new SettledResync(
      () =>
        this.claimInformer.changes +
        this.volumeInformer.changes +
        this.classInformer.changes +
        nodeLabelChanges,
    );
    // a restore waiting for its snapshot is retried as soon as the snapshot is ready
    const wakeup = new SnapshotWakeup(this.informers, this.claimInformer, (key) => {
      this.provisionBackoff.forget(key);
      this.claims.enqueue(key);
    });
    // Changes are queued only when the pure decision has something to do (as on resync): most
    // claim changes (created before the binder names the provisioner, bound, another driver's)
    // and most volume changes would cost a reconcile that skips.
    const claimChanged = (c: PersistentVolumeClaim): void => {
      wakeup.claimSeen(c);
      if (this.claimAction(c).type !== 'skip') this.claims.enqueue(keyOf(c));
    };
    on(
      this.claimInformer,
      {
        onAdd: claimChanged,
        onUpdate: (old, c) => {
          // A changed spec (a new size, say) is a new request: its last failure says nothing about it.
          if (old.metadata.generation !== c.metadata.generation) this.provisionBackoff.forget(keyOf(c));
          if (claimChangeMatters(old, c)) claimChanged(c);
        },
        onDelete: (c) => {
          this.created.delete(volumeNameFor(c));
          this.provisionBackoff.forget(keyOf(c));
          this.provisioning.forget(c);
        },
      },
      // a resync queues only claims with something to do (most are settled or another driver's)
      resync.options(resyncMs, (c) => this.claimAction(c).type !== 'skip'),
    );
    const volumeChanged = (v: PersistentVolume): void => {
      const name = v.metadata.name ?? '';
      // The informer has caught up with what this instance created.
      this.created.delete(name);
      if (this.volumeAction(v).type !== 'skip') this.volumes.enqueue(name);
    };
    on(
      this.volumeInformer,
      {
        onAdd: volumeChanged,
        onUpdate: (_old, v) => volumeChanged(v),
        onDelete: (v) => {
          this.deletedHandles.delete(v.metadata.uid ?? v.metadata.name ?? '');
          const ref = v.spec.claimRef;
          if (ref?.name) this.claims.enqueue(`${ref.namespace ?? ''}/${ref.name}`);
        },
      },
      resync.options(resyncMs, (v) => this.volumeAction(v).type !== 'skip'),
    );
  }

  // ---------------------------------------------------------------- claims

  private claimAction(claim: PersistentVolumeClaim): ClaimAction {
    const volumeName = volumeNameFor(claim);
    const className = claimClass(claim);
    return decideClaim(claim, {
      driverName: this.driverName,
      ...(this.nodeName !== undefined ? { nodeName: this.nodeName } : {}),
      storageClass: className === '' ? undefined : this.classInformer.get(undefined, className),
      volumeExists:
        this.created.has(volumeName) || this.volumeInformer.get(undefined, volumeName) !== undefined,
    });
  }

  private async syncClaim(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const claim = this.claimInformer.getByKey(key);
    if (!claim) return;
    const action = this.claimAction(claim);
    switch (action.type) {
      case 'skip':
        return;
      case 'waitForClass':
        throw new Error(`storageclass.storage.k8s.io "${action.className}" not found`);
      case 'clearMark':
        await this.store.updateClaim(claim, withoutProvisioningMark);
        return;
      case 'cleanup':
        return this.provisioning.cleanup(claim, action.storageClass, ctx);
      case 'provision': {
        const waitMs = this.provisionBackoff.remainingMs(key);
        if (waitMs > 0) return { requeueAfterMs: waitMs };
        try {
          const result = await this.provisioning.provision(claim, action.storageClass, ctx);
          if (result === FAILED) return { requeueAfterMs: this.provisionBackoff.failed(key) };
          this.provisionBackoff.forget(key);
          return result;
        } catch (err) {
          if (!ctx.signal.aborted) this.provisionBackoff.failed(key);
          throw err;
        }
      }
    }
  }

  // ---------------------------------------------------------------- volumes

  private volumeAction(volume: PersistentVolume): VolumeAction {
    return decideVolume(volume, {
      driverName: this.driverName,
      ...(this.nodeName !== undefined ? { nodeName: this.nodeName } : {}),
      ...(this.nodeName !== undefined ? nodeFact(this.nodeInformer.get(undefined, this.nodeName)) : {}),
    });
  }

  private async syncVolume(name: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const volume = this.volumeInformer.get(undefined, name);
    if (!volume) return;
    const action = this.volumeAction(volume);
    switch (action.type) {
      case 'skip':
        return;
      case 'removeFinalizer':
        await this.store.removeVolumeFinalizer(volume);
        return;
      case 'delete':
        return this.deleteVolume(volume, ctx);
    }
  }

  private async deleteVolume(volume: PersistentVolume, ctx: ReconcileContext): Promise<ReconcileResult> {
    const name = volume.metadata.name ?? '';
    const uid = volume.metadata.uid ?? name;
    try {
      const blocker = deletionBlocker(name, this.attachmentInformer.byIndex(attachmentsByVolume, name));
      if (blocker) throw new Error(blocker);
      const className = volume.spec.storageClassName ?? '';
      const ref = deletionSecretRef(
        volume,
        className ? this.classInformer.get(undefined, className) : undefined,
      );
      const secrets = await this.store.readSecret(ref, { missingIsEmpty: true });
      if (!this.deletedHandles.has(uid))
        await this.driver.deleteVolume(volume.spec.csi?.volumeHandle ?? '', secrets, ctx.signal);
    } catch (err) {
      if (!ctx.signal.aborted) this.event(volume, 'Warning', REASON.volumeFailedDelete, messageOf(err));
      throw err;
    }
    this.deletedHandles.add(uid);
    this.log.info('deleted volume', { volume: name, handle: volume.spec.csi?.volumeHandle });
    // Finalizer first, then delete: once the object is deleting, the binder drops pv-protection,
    // and two writers removing finalizers of a deleting object at once would race.
    // A crash in between leaves a Released volume without the finalizer, which is deleted again.
    await this.store.removeVolumeFinalizer(volume);
    await this.store.deleteVolume(volume);
    return;
  }

  private event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    this.recorder.event(obj, type, reason, message);
  }
}

function nodeFact(node: Node | undefined): { node?: Node } {
  return node ? { node } : {};
}
