// berth's external-resizer: for one driver, grows the volumes of claims whose request went up.
// The claim is marked Resizing, the driver is asked (ControllerExpandVolume, with the volume's
// controller-expand secret), the PV's capacity is raised, and the claim either records its new
// capacity or waits in FileSystemResizePending for the node agent. Decisions are in decide.ts.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import { tryStorageBytes } from '../api/quantity.js';
import type { KubeObject } from '../api/meta.js';
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  PersistentVolumeClaimStatus,
  Pod,
} from '../api/types.js';
import { isPodTerminated, podClaimKeys } from '../volume/pods.js';
import { volumeCapability } from '../csi/capability.js';
import type { CsiClient } from '../csi/client.js';
import { classify, CsiError, toCsiError } from '../csi/errors.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import { Controller } from '../machinery/controller.js';
import type { EventType } from '../machinery/events.js';
import { podsByClaim } from '../machinery/indexes.js';
import type { Informer } from '../machinery/informer.js';
import { keyOf } from '../machinery/informer.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import { ControllerInformers } from '../machinery/shared-cache.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { backoffFor } from '../machinery/rate-limiter.js';
import { readSecretReference } from '../volume/secrets.js';
import type { ObjectStore } from '../store/types.js';
import {
  CONDITION_CONTROLLER_RESIZE_ERROR,
  CONDITION_FS_RESIZE_PENDING,
  CONDITION_RESIZING,
  FS_RESIZE_PENDING_MESSAGE,
  RESIZE_REASON,
  claimResizeInputs,
  decideResize,
  hasCondition,
  grownCapacity,
  withCondition,
  withErrorCondition,
  withoutResizeConditions,
  withResizeStatus,
  volumeResizeInputs,
} from './decide.js';
import { QueueController } from '../machinery/queue-controller.js';

function orUndefinedIfNotFound(err: unknown): undefined {
  if (isStatusError(err, 'NotFound')) return undefined;
  throw err;
}

export interface ResizerEventSink {
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

export interface ResizerDeps {
  store: ObjectStore;
  csi: CsiClient;
  driverName: string;
  /** Node-deployment mode: only volumes provisioned on this node (berth.io/provisioned-on-node). */
  nodeName?: string;
  recorder: ResizerEventSink;
  clock?: Clock;
  log?: Logger;
  workers?: number;
  /** Deadline of each driver call. Default 10 s. */
  timeoutMs?: number;
  /** Per-key back-off; default 1 s doubling to 5 min. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** The process's shared informers; default: informers of its own. */
  informers?: SharedInformerCache;
}

interface ExpansionCapabilities {
  /** ControllerExpandVolume exists; without it the node does all the growing. */
  controller: boolean;
  /** Volumes may grow while published. */
  online: boolean;
}

interface GrownVolume {
  capacity: string;
  nodeExpansionRequired: boolean;
}

export class Resizer extends QueueController {
  private readonly deps: ResizerDeps;
  private readonly clock: Clock;
  private readonly log: Logger;
  protected readonly informers: ControllerInformers;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  protected readonly controller: Controller;
  private readonly pods: Informer<Pod>;
  private capabilities: Promise<ExpansionCapabilities> | undefined;

  constructor(deps: ResizerDeps) {
    super();
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: 'external-resizer', driver: deps.driverName });
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.claims = this.informers.informer<PersistentVolumeClaim>(K.pvc);
    this.volumes = this.informers.informer<PersistentVolume>(K.pv);
    this.pods = this.informers.informer<Pod>(K.pod, podsByClaim);
    this.controller = new Controller({
      name: 'resizer',
      reconcile: (key) => this.sync(key),
      workers: deps.workers ?? 4,
      clock: this.clock,
      logger: this.log,
      rateLimiter: backoffFor('resizer', { baseMs: deps.retryBaseMs, maxMs: deps.retryMaxMs }),
    });
    // Updates count only when they change what the decision reads: a claim waiting out its back-off
    // is not retried early because of the resizer's own status writes or unrelated edits.
    const enqueueClaim = (c: PersistentVolumeClaim) => this.controller.enqueue(keyOf(c));
    const on = this.informers.on.bind(this.informers);
    // Every claim and volume is added when the caches fill (at start: 100k at 50k pairs); only
    // those that sync would not skip at once are queued. Any later change to what the decision
    // reads comes as an update, which queues the claim.
    on(this.claims, {
      onAdd: (c) => {
        if (this.mayNeedResize(c)) enqueueClaim(c);
      },
      onUpdate: (old, c) => {
        if (claimResizeInputs(old) !== claimResizeInputs(c)) enqueueClaim(c);
      },
    });
    const enqueueVolumeClaim = (v: PersistentVolume) => {
      const ref = v.spec.claimRef;
      if (ref?.name) this.controller.enqueue(`${ref.namespace ?? 'default'}/${ref.name}`);
    };
    on(this.volumes, {
      onAdd: (v) => {
        const ref = v.spec.claimRef;
        const claim = ref?.name
          ? this.claims.getByKey(`${ref.namespace ?? 'default'}/${ref.name}`)
          : undefined;
        // a claim not cached yet is queued by its own add, once its volume can be looked up
        if (claim && this.mayNeedResize(claim, claim.spec.volumeName === v.metadata.name ? v : undefined))
          enqueueVolumeClaim(v);
      },
      onUpdate: (old, v) => {
        if (volumeResizeInputs(old) !== volumeResizeInputs(v)) enqueueVolumeClaim(v);
      },
    });
    // A claim waiting for its pods to stop (offline expansion) is looked at again when they do.
    const enqueuePodClaims = (p: Pod) => podClaimKeys(p).forEach((key) => this.controller.enqueue(key));
    on(this.pods, {
      onUpdate: (old, p) => {
        if (isPodTerminated(old) !== isPodTerminated(p)) enqueuePodClaims(p);
      },
      onDelete: enqueuePodClaims,
    });
  }

  /** False when the cached claim (and `volume`, else its cached volume) needs nothing of this resizer. */
  private mayNeedResize(claim: PersistentVolumeClaim, volume?: PersistentVolume): boolean {
    const bound =
      volume ?? (claim.spec.volumeName ? this.volumes.get(undefined, claim.spec.volumeName) : undefined);
    return decideResize(claim, bound, this.deps.driverName, this.deps.nodeName).type !== 'skip';
  }

  private async sync(key: string): Promise<void> {
    const cached = this.claims.getByKey(key);
    if (!cached || !this.mayNeedResize(cached)) return;
    const cachedVolume = cached.spec.volumeName
      ? this.volumes.get(undefined, cached.spec.volumeName)
      : undefined;
    // The caches may lag behind this resizer's own last writes: look again before acting.
    const claim = await this.deps.store
      .get<PersistentVolumeClaim>(K.pvc, cached.metadata.namespace, cached.metadata.name ?? '')
      .catch(orUndefinedIfNotFound);
    const volume = await this.deps.store
      .get<PersistentVolume>(K.pv, undefined, cachedVolume?.metadata.name ?? '')
      .catch(orUndefinedIfNotFound);
    if (!claim || !volume) return;
    const decision = decideResize(claim, volume, this.deps.driverName, this.deps.nodeName);
    if (decision.type === 'skip') return;
    const pvName = volume.metadata.name ?? '';
    const resizing = await this.markResizing(claim, pvName, decision.requested);
    let grown: GrownVolume;
    try {
      grown = await this.expand(claim, volume, decision.bytes, decision.requested);
    } catch (err) {
      const message = `resize volume "${pvName}" by resizer "${this.deps.driverName}" failed: ${toCsiError(err).message}`;
      this.event(resizing, 'Warning', RESIZE_REASON.failed, message);
      await this.recordFailure(resizing, message, err instanceof CsiError && classify(err) === 'final');
      throw err;
    }
    await this.raiseVolumeCapacity(volume, grown.capacity);
    await this.recordGrown(resizing, grown);
  }

  /** The Resizing condition and ControllerResizeInProgress for `requested` (once), with its event. */
  private async markResizing(
    claim: PersistentVolumeClaim,
    pvName: string,
    requested: string,
  ): Promise<PersistentVolumeClaim> {
    const status = claim.status;
    // Retries of the same request keep what is recorded (in progress, or infeasible so far).
    const recorded = status?.allocatedResourceStatuses?.['storage'];
    if (
      hasCondition(claim, CONDITION_RESIZING) &&
      status?.allocatedResources?.['storage'] === requested &&
      (recorded === 'ControllerResizeInProgress' || recorded === 'ControllerResizeInfeasible')
    )
      return claim;
    const now = this.clock.now();
    const marked = await this.updateClaimStatus(claim, {
      ...withResizeStatus(claim.status, 'ControllerResizeInProgress', requested),
      conditions: withCondition(claim.status?.conditions, { type: CONDITION_RESIZING, status: 'True' }, now),
    });
    this.event(marked, 'Normal', RESIZE_REASON.resizing, `External resizer is resizing volume ${pvName}`);
    return marked;
  }

  /**
   * The ControllerResizeError condition says why (written only when the reason changes); a driver's
   * final answer also makes the size ControllerResizeInfeasible until the request changes.
   */
  private async recordFailure(claim: PersistentVolumeClaim, message: string, final: boolean): Promise<void> {
    const conditions = withErrorCondition(
      claim.status?.conditions,
      CONDITION_CONTROLLER_RESIZE_ERROR,
      message,
      this.clock.now(),
    );
    const infeasible =
      final && claim.status?.allocatedResourceStatuses?.['storage'] !== 'ControllerResizeInfeasible';
    if (!conditions && !infeasible) return;
    await this.updateClaimStatus(claim, {
      ...(infeasible ? withResizeStatus(claim.status, 'ControllerResizeInfeasible') : claim.status),
      ...(conditions ? { conditions } : {}),
    });
  }

  /** Done, or waiting for the node to grow the filesystem (FileSystemResizePending). */
  private async recordGrown(claim: PersistentVolumeClaim, grown: GrownVolume): Promise<void> {
    if (grown.nodeExpansionRequired) {
      const pending = {
        type: CONDITION_FS_RESIZE_PENDING,
        status: 'True' as const,
        message: FS_RESIZE_PENDING_MESSAGE,
      };
      const now = this.clock.now();
      await this.updateClaimStatus(claim, {
        ...withResizeStatus(claim.status, 'NodeResizePending'),
        conditions: withCondition(withoutResizeConditions(claim.status?.conditions), pending, now),
      });
      this.event(
        claim,
        'Normal',
        RESIZE_REASON.fsResizeRequired,
        'Require file system resize of volume on node',
      );
      return;
    }
    await this.updateClaimStatus(claim, {
      ...withResizeStatus(claim.status, undefined),
      capacity: { ...claim.status?.capacity, storage: grown.capacity },
      conditions: withoutResizeConditions(claim.status?.conditions),
    });
    this.event(claim, 'Normal', RESIZE_REASON.successful, 'Resize volume succeeded');
  }

  /** ControllerExpandVolume; a driver without controller expansion leaves it all to the node. */
  private async expand(
    claim: PersistentVolumeClaim,
    volume: PersistentVolume,
    bytes: bigint,
    requested: string,
  ): Promise<GrownVolume> {
    const timeoutMs = this.deps.timeoutMs ?? 10_000;
    const capabilities = await this.expansionCapabilities(timeoutMs);
    if (!capabilities.controller) return { capacity: requested, nodeExpansionRequired: true };
    if (!capabilities.online) {
      const users = this.podsUsing(claim);
      if (users.length > 0) {
        throw new Error(
          `CSI driver ${this.deps.driverName} only supports offline expansion and the volume is in use by pod(s) ${users.join(', ')}; it grows once they stop`,
        );
      }
    }
    const csi = volume.spec.csi!;
    const secrets = await readSecretReference(this.deps.store, csi.controllerExpandSecretRef);
    const answer = await this.deps.csi.controllerExpandVolume(
      {
        volume_id: csi.volumeHandle,
        capacity_range: { required_bytes: bytes.toString() },
        secrets,
        volume_capability: volumeCapability(volume.spec, csi.fsType ?? ''),
      },
      { timeoutMs },
    );
    return {
      capacity: grownCapacity(BigInt(answer.capacity_bytes), requested, bytes),
      nodeExpansionRequired: answer.node_expansion_required,
    };
  }

  /** Controller EXPAND_VOLUME, and the plugin's ONLINE (or OFFLINE only) volume expansion; asked once. */
  private expansionCapabilities(timeoutMs: number): Promise<ExpansionCapabilities> {
    this.capabilities ??= Promise.all([
      this.deps.csi.getPluginCapabilities({}, { timeoutMs }),
      this.deps.csi.controllerGetCapabilities({}, { timeoutMs }),
    ]).then(
      ([plugin, controller]) => ({
        controller: controller.capabilities.some((c) => c.rpc?.type === 'EXPAND_VOLUME'),
        // A driver that names no expansion type is taken at its controller capability (online).
        online:
          !plugin.capabilities.some((c) => c.volume_expansion?.type === 'OFFLINE') ||
          plugin.capabilities.some((c) => c.volume_expansion?.type === 'ONLINE'),
      }),
      (err: unknown) => {
        this.capabilities = undefined;
        throw err;
      },
    );
    return this.capabilities;
  }

  /** Pods (not finished) that use the claim, as namespace/name. */
  private podsUsing(claim: PersistentVolumeClaim): string[] {
    return this.pods
      .byIndex(podsByClaim, keyOf(claim))
      .filter((p) => !isPodTerminated(p))
      .map((p) => keyOf(p));
  }

  private async raiseVolumeCapacity(pv: PersistentVolume, capacity: string): Promise<void> {
    if ((tryStorageBytes(pv.spec.capacity?.['storage']) ?? 0n) >= (tryStorageBytes(capacity) ?? 0n)) return;
    const spec = { ...pv.spec, capacity: { ...pv.spec.capacity, storage: capacity } };
    await this.deps.store.update(K.pv, { ...pv, spec });
  }

  /** A status write on the version decided on: a conflict requeues the claim (level-triggered). */
  private updateClaimStatus(
    claim: PersistentVolumeClaim,
    status: PersistentVolumeClaimStatus,
  ): Promise<PersistentVolumeClaim> {
    return this.deps.store.update(K.pvc, { ...claim, status }, { subresource: 'status' });
  }

  private event(claim: PersistentVolumeClaim, type: EventType, reason: string, message: string): void {
    this.deps.recorder.event(claim, type, reason, message);
  }
}
