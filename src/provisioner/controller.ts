// Wiring of the provisioner (berth's external-provisioner): informers for claims, volumes, classes,
// nodes, CSINodes and VolumeAttachments; one queue of claims (CreateVolume) and one of volumes
// (DeleteVolume), each retried per key with exponential back-off; at most `maxInFlight` driver
// calls at once. Every decision comes from plan.ts; this file only reads, calls and writes.
import { randomInt } from 'node:crypto';
import PQueue from 'p-queue';
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type {
  CSINode,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  SecretReference,
  StorageClass,
  VolumeAttachment,
} from '../api/types.js';
import type { CsiClient } from '../csi/client.js';
import { toCsiError } from '../csi/errors.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import type { ReconcileContext, ReconcileResult } from '../machinery/controller.js';
import { Controller } from '../machinery/controller.js';
import type { EventType } from '../machinery/events.js';
import { EventRecorder } from '../machinery/events.js';
import { attachmentsByVolume } from '../machinery/indexes.js';
import type { Informer } from '../machinery/informer.js';
import { keyOf } from '../machinery/informer.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import { ControllerInformers } from '../machinery/shared-cache.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { ItemBackoff } from '../machinery/item-backoff.js';
import {
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_MAX_MS,
  ItemExponentialFailureRateLimiter,
  backoffFor,
} from '../machinery/rate-limiter.js';
import { REASON } from '../volume/annotations.js';
import { claimClass } from '../volume/match.js';
import type { ObjectStore } from '../store/types.js';
import type { DriverCapabilities } from './capabilities.js';
import { decideCapabilities } from './capabilities.js';
import {
  EVENT_COMPONENT,
  FINALIZER_EXTERNAL_PROVISIONER,
  REASON_PROVISIONING,
  REASON_PROVISIONING_CLEANUP_FAILED,
} from '../volume/provisioning-names.js';
import type { ProvisionPlan } from './plan.js';
import {
  PlanError,
  buildVolume,
  claimChangeMatters,
  decideClaim,
  decideVolume,
  deletionSecretRef,
  hasProvisioningMark,
  planProvision,
  provisioningState,
  volumeNameFor,
  withProvisioningMark,
  withoutProvisioningMark,
  withoutSelectedNode,
} from './plan.js';
import { readSecretReference } from '../volume/secrets.js';
import type { TopologyView } from './topology.js';

/** external-provisioner's --timeout. */
export const DEFAULT_CSI_CALL_TIMEOUT_MS = 10_000;
export const DEFAULT_WORKERS = 16;
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
  /** Claims (and volumes) reconciled at once. Default 16. */
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
/** provision()'s answer when it failed without throwing (it already said why in an event). */
const FAILED = Symbol('provisioning failed');

export class Provisioner {
  readonly driverName: string;
  readonly nodeName: string | undefined;
  readonly identity: string;
  private readonly store: ObjectStore;
  private readonly csi: CsiClient;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recorder: ProvisionerEventSink;
  private readonly ownRecorder: EventRecorder | undefined;
  private readonly timeoutMs: number;
  private readonly retryMaxMs: number;
  private readonly calls: PQueue;
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
  private capabilitiesCall: Promise<DriverCapabilities> | undefined;
  private started = false;

  constructor(deps: ProvisionerDeps) {
    this.store = deps.store;
    this.csi = deps.csi;
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
    this.timeoutMs = deps.timeoutMs ?? DEFAULT_CSI_CALL_TIMEOUT_MS;
    this.retryMaxMs = deps.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;
    this.calls = new PQueue({ concurrency: Math.max(1, deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT) });

    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.claimInformer = this.informers.informer(CLAIM);
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

  /** Resolves once both queues are momentarily idle. For tests and benchmarks. */
  async whenIdle(): Promise<void> {
    for (;;) {
      await Promise.all([this.claims.whenIdle(), this.volumes.whenIdle()]);
      if (this.claims.isIdle() && this.volumes.isIdle()) return;
    }
  }

  // ---------------------------------------------------------------- informer handlers

  private wireHandlers(resyncMs: number): void {
    const on = this.informers.on.bind(this.informers);
    const claimChanged = (c: PersistentVolumeClaim): void => this.claims.enqueue(keyOf(c));
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
        },
      },
      { resyncMs },
    );
    const volumeChanged = (v: PersistentVolume): void => {
      const name = v.metadata.name ?? '';
      // The informer has caught up with what this instance created.
      this.created.delete(name);
      this.volumes.enqueue(name);
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
      { resyncMs },
    );
  }

  // ---------------------------------------------------------------- claims

  private async syncClaim(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const claim = this.claimInformer.getByKey(key);
    if (!claim) return;
    const volumeName = volumeNameFor(claim);
    const className = claimClass(claim);
    const action = decideClaim(claim, {
      driverName: this.driverName,
      ...(this.nodeName !== undefined ? { nodeName: this.nodeName } : {}),
      storageClass: className === '' ? undefined : this.classInformer.get(undefined, className),
      volumeExists:
        this.created.has(volumeName) || this.volumeInformer.get(undefined, volumeName) !== undefined,
    });
    switch (action.type) {
      case 'skip':
        return;
      case 'waitForClass':
        throw new Error(`storageclass.storage.k8s.io "${action.className}" not found`);
      case 'clearMark':
        await this.updateClaim(claim, withoutProvisioningMark);
        return;
      case 'cleanup':
        return this.cleanup(claim, action.storageClass, ctx);
      case 'provision': {
        const waitMs = this.provisionBackoff.remainingMs(key);
        if (waitMs > 0) return { requeueAfterMs: waitMs };
        try {
          const result = await this.provision(claim, action.storageClass, ctx);
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

  /** Provisions the claim; FAILED when it failed in a way that is not retried by throwing. */
  private async provision(
    claim: PersistentVolumeClaim,
    storageClass: StorageClass,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | typeof FAILED> {
    const failed = (message: string): void =>
      this.event(
        claim,
        'Warning',
        REASON.provisioningFailed,
        `failed to provision volume with StorageClass "${storageClass.metadata.name ?? ''}": ${message}`,
      );
    let plan: ProvisionPlan;
    let secrets: Record<string, string>;
    try {
      plan = planProvision({
        claim,
        storageClass,
        driverName: this.driverName,
        capabilities: await this.capabilities(ctx.signal),
        topology: this.topology,
      });
      secrets = await this.readSecret(plan.provisionerSecretRef);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      failed(messageOf(err));
      if (err instanceof PlanError && err.reschedule) {
        await this.reschedule(claim);
        return FAILED;
      }
      throw err;
    }
    const ref = `${claim.metadata.namespace ?? ''}/${claim.metadata.name ?? ''}`;
    this.event(
      claim,
      'Normal',
      REASON_PROVISIONING,
      `External provisioner is provisioning volume for claim "${ref}"`,
    );
    // Durable before the driver hears of it: a crash from here on is finished or undone later.
    const marked = await this.updateClaim(claim, (c) => withProvisioningMark(c, plan.volumeName));
    if (!hasProvisioningMark(marked))
      throw new Error(`could not record the provisioning of ${plan.volumeName}`);
    let created;
    try {
      created = await this.call(ctx.signal, () =>
        this.csi.createVolume({ ...plan.request, secrets }, { timeoutMs: this.timeoutMs }),
      );
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      failed(messageOf(err));
      const state = provisioningState(err, { selectedNode: plan.selectedNode !== undefined });
      this.log.warn('CreateVolume failed', {
        claim: ref,
        volume: plan.volumeName,
        state,
        err: messageOf(err),
      });
      if (state === 'reschedule') {
        await this.reschedule(marked);
        return FAILED;
      }
      if (state === 'infeasible') return { requeueAfterMs: this.retryMaxMs };
      throw err;
    }
    const volume = created.volume;
    if (!volume) throw new Error(`CreateVolume of ${plan.volumeName} returned no volume`);
    let pv: PersistentVolume;
    try {
      pv = buildVolume({
        claim,
        storageClass,
        driverName: this.driverName,
        plan,
        volume,
        identity: this.identity,
        ...(this.nodeName !== undefined ? { nodeName: this.nodeName } : {}),
      });
    } catch (err) {
      failed(messageOf(err));
      // Too small to use: delete it so the next attempt creates it afresh.
      await this.call(ctx.signal, () =>
        this.csi.deleteVolume({ volume_id: volume.volume_id, secrets }, { timeoutMs: this.timeoutMs }),
      );
      throw err;
    }
    await this.createVolumeObject(pv);
    this.created.add(plan.volumeName);
    this.event(
      claim,
      'Normal',
      REASON.provisioningSucceeded,
      `Successfully provisioned volume ${plan.volumeName}`,
    );
    this.log.info('provisioned', { claim: ref, volume: plan.volumeName, handle: volume.volume_id });
    // The in-flight record stays: the PV controller's bind write removes it (see decideClaim).
    return;
  }

  /**
   * A claim that no longer wants the volume a CreateVolume may have made (deleted, bound
   * elsewhere): the same CreateVolume finds it (idempotent by name), DeleteVolume removes it.
   */
  private async cleanup(
    claim: PersistentVolumeClaim,
    storageClass: StorageClass | undefined,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult> {
    const volumeName = volumeNameFor(claim);
    if (!storageClass) {
      this.event(
        claim,
        'Warning',
        REASON_PROVISIONING_CLEANUP_FAILED,
        `cannot check for volume ${volumeName}: its StorageClass is gone; please delete it manually if it exists`,
      );
      await this.updateClaim(claim, withoutProvisioningMark);
      return;
    }
    const capabilities = await this.capabilities(ctx.signal);
    let plan: ProvisionPlan;
    try {
      plan = planProvision({
        claim,
        storageClass,
        driverName: this.driverName,
        capabilities,
        topology: this.topology,
      });
    } catch {
      // The topology that applied may be gone (node deleted, selection dropped); the name decides.
      plan = planProvision({
        claim,
        storageClass,
        driverName: this.driverName,
        capabilities: { ...capabilities, topology: false },
        topology: this.topology,
      });
    }
    const secrets = await this.readSecret(plan.provisionerSecretRef);
    let volumeId: string | undefined;
    try {
      const found = await this.call(ctx.signal, () =>
        this.csi.createVolume({ ...plan.request, secrets }, { timeoutMs: this.timeoutMs }),
      );
      volumeId = found.volume?.volume_id;
    } catch (err) {
      if (ctx.signal.aborted || provisioningState(err, { selectedNode: false }) === 'background') throw err;
      // A final answer for this name means the driver holds no volume by it.
      this.log.info('nothing to clean up', { volume: volumeName, err: messageOf(err) });
    }
    if (volumeId) {
      try {
        await this.call(ctx.signal, () =>
          this.csi.deleteVolume({ volume_id: volumeId, secrets }, { timeoutMs: this.timeoutMs }),
        );
      } catch (err) {
        if (!ctx.signal.aborted) {
          this.event(
            claim,
            'Warning',
            REASON.volumeFailedDelete,
            `failed to delete volume ${volumeName}: ${messageOf(err)}`,
          );
        }
        throw err;
      }
      this.log.info('deleted a volume its claim no longer wants', { volume: volumeName, handle: volumeId });
    }
    await this.updateClaim(claim, withoutProvisioningMark);
    return;
  }

  /**
   * Gives the claim back to the scheduler. The driver's answer was final, so nothing was created:
   * the in-flight record and its finalizer go in the same write, and a delete of the claim
   * finishes at once even though no provisioner is selected for it any more.
   */
  private async reschedule(claim: PersistentVolumeClaim): Promise<void> {
    await this.updateClaim(claim, (c) => {
      const unselected = withoutSelectedNode(c);
      return withoutProvisioningMark(unselected ?? c) ?? unselected;
    });
    this.log.info('dropped the selected node so the claim can be scheduled elsewhere', {
      claim: keyOf(claim),
    });
  }

  // ---------------------------------------------------------------- volumes

  private async syncVolume(name: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const volume = this.volumeInformer.get(undefined, name);
    if (!volume) return;
    const action = decideVolume(volume, {
      driverName: this.driverName,
      ...(this.nodeName !== undefined ? { nodeName: this.nodeName } : {}),
      ...(this.nodeName !== undefined ? nodeFact(this.nodeInformer.get(undefined, this.nodeName)) : {}),
    });
    switch (action.type) {
      case 'skip':
        return;
      case 'removeFinalizer':
        await this.removeVolumeFinalizer(volume);
        return;
      case 'delete':
        return this.deleteVolume(volume, ctx);
    }
  }

  private async deleteVolume(volume: PersistentVolume, ctx: ReconcileContext): Promise<ReconcileResult> {
    const name = volume.metadata.name ?? '';
    const uid = volume.metadata.uid ?? name;
    const failed = (message: string): void =>
      this.event(volume, 'Warning', REASON.volumeFailedDelete, message);
    let secrets: Record<string, string>;
    try {
      const [attachment] = this.attachmentInformer.byIndex(attachmentsByVolume, name);
      if (attachment)
        throw new Error(`persistentvolume ${name} is still attached to node ${attachment.spec.nodeName}`);
      const className = volume.spec.storageClassName ?? '';
      const ref = deletionSecretRef(
        volume,
        className ? this.classInformer.get(undefined, className) : undefined,
      );
      secrets = await this.readSecret(ref, { missingIsEmpty: true });
      if (!this.deletedHandles.has(uid))
        await this.call(ctx.signal, () =>
          this.csi.deleteVolume(
            { volume_id: volume.spec.csi?.volumeHandle ?? '', secrets },
            { timeoutMs: this.timeoutMs },
          ),
        );
    } catch (err) {
      if (!ctx.signal.aborted) failed(messageOf(err));
      throw err;
    }
    this.deletedHandles.add(uid);
    this.log.info('deleted volume', { volume: name, handle: volume.spec.csi?.volumeHandle });
    // Finalizer first, then delete: once the object is deleting, the binder drops pv-protection,
    // and two writers removing finalizers of a deleting object at once would race.
    // A crash in between leaves a Released volume without the finalizer, which is deleted again.
    await this.removeVolumeFinalizer(volume);
    try {
      await this.store.delete(VOLUME, undefined, name, {
        ...(volume.metadata.uid !== undefined ? { uid: volume.metadata.uid } : {}),
      });
    } catch (err) {
      if (!isStatusError(err, 'NotFound')) throw err;
    }
    return;
  }

  private async removeVolumeFinalizer(volume: PersistentVolume): Promise<void> {
    let current = volume;
    for (let attempt = 0; ; attempt++) {
      const finalizers = current.metadata.finalizers ?? [];
      if (!finalizers.includes(FINALIZER_EXTERNAL_PROVISIONER)) return;
      const next = structuredClone(current);
      next.metadata.finalizers = finalizers.filter((f) => f !== FINALIZER_EXTERNAL_PROVISIONER);
      try {
        await this.store.update(VOLUME, next);
        return;
      } catch (err) {
        if (isStatusError(err, 'NotFound')) return;
        if (!isStatusError(err, 'Conflict') || attempt >= 4) throw err;
        current = await this.store.get<PersistentVolume>(VOLUME, undefined, volume.metadata.name ?? '');
      }
    }
  }

  // ---------------------------------------------------------------- IO helpers

  /** Compare-and-swap update of a claim, re-reading it on conflict. Returns the claim as stored. */
  private async updateClaim(
    claim: PersistentVolumeClaim,
    edit: (c: PersistentVolumeClaim) => PersistentVolumeClaim | undefined,
  ): Promise<PersistentVolumeClaim> {
    let current = claim;
    for (let attempt = 0; ; attempt++) {
      const next = edit(current);
      if (!next) return current;
      try {
        return await this.store.update(CLAIM, next);
      } catch (err) {
        if (!isStatusError(err, 'Conflict') || attempt >= 4) throw err;
        current = await this.store.get<PersistentVolumeClaim>(
          CLAIM,
          claim.metadata.namespace,
          claim.metadata.name ?? '',
        );
      }
    }
  }

  private async createVolumeObject(pv: PersistentVolume): Promise<void> {
    try {
      await this.store.create(VOLUME, pv);
    } catch (err) {
      // An earlier attempt wrote it; its content is the same by construction.
      if (!isStatusError(err, 'AlreadyExists')) throw err;
    }
  }

  private async readSecret(
    ref: SecretReference | undefined,
    options: { missingIsEmpty?: boolean } = {},
  ): Promise<Record<string, string>> {
    try {
      return await readSecretReference(this.store, ref);
    } catch (err) {
      if (!options.missingIsEmpty || !isStatusError((err as Error).cause, 'NotFound')) throw err;
      this.log.warn('secret not found; calling without secrets', {
        secret: `${ref?.namespace ?? ''}/${ref?.name ?? ''}`,
      });
      return {};
    }
  }

  private capabilities(signal: AbortSignal): Promise<DriverCapabilities> {
    this.capabilitiesCall ??= (async () => {
      const [plugin, controller] = await Promise.all([
        this.csi.getPluginCapabilities({}, { timeoutMs: this.timeoutMs }),
        this.csi.controllerGetCapabilities({}, { timeoutMs: this.timeoutMs }),
      ]);
      return { plugin: plugin.capabilities, controller: controller.capabilities };
    })().then(
      ({ plugin, controller }) => decideCapabilities(plugin, controller),
      (err: unknown) => {
        this.capabilitiesCall = undefined;
        throw err;
      },
    );
    return abortable(this.capabilitiesCall, signal);
  }

  /** A driver call within the in-flight limit; stopping abandons the wait (the call may finish unseen). */
  private call<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    return abortable(
      this.calls.add(() => (signal.aborted ? Promise.reject(signal.reason as Error) : fn())),
      signal,
    );
  }

  private event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    this.recorder.event(obj, type, reason, message);
  }
}

function nodeFact(node: Node | undefined): { node?: Node } {
  return node ? { node } : {};
}

function messageOf(err: unknown): string {
  if (err instanceof PlanError) return err.message;
  if (err instanceof Error && err.name === 'CsiError') return toCsiError(err).message;
  return err instanceof Error ? err.message : String(err);
}

/** Rejects with the signal's reason as soon as it aborts; the promise itself keeps running. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
