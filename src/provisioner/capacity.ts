// Wiring of capacity publishing (external-provisioner's --enable-capacity): asks the driver's
// GetCapacity for each (class, topology segment) and keeps the CSIStorageCapacity objects the
// scheduler reads in step, every poll interval and at once when a class of the driver, a node's
// labels or a CSINode change, and when one of its objects is deleted or edited by someone else
// (watched in its namespace only: the Role that allows the writes is namespaced). One work-queue
// key, so one sync at a time; a failed GetCapacity keeps the last published value and the sync
// backs off (1 s doubling to 5 min), as upstream's queue does.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { CSINode, CSIStorageCapacity, Node, StorageClass } from '../api/types.js';
import type { CsiClient } from '../csi/client.js';
import { toBigInt } from '../csi/types.js';
import { type Clock, systemClock } from '../machinery/clock.js';
import { Controller, type ReconcileResult } from '../machinery/controller.js';
import { Informer } from '../machinery/informer.js';
import { type Logger, silentLogger } from '../machinery/logger.js';
import {
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_MAX_MS,
  ItemExponentialFailureRateLimiter,
} from '../machinery/rate-limiter.js';
import { ControllerInformers, type SharedInformerCache } from '../machinery/shared-cache.js';
import type { ObjectStore } from '../store/types.js';
import {
  type CapacityAction,
  type CapacitySlot,
  type CapacityValue,
  capacityRequest,
  capacitySlots,
  managedSelector,
  planCapacity,
  type PublisherIdentity,
} from './capacity-plan.js';
import type { TopologyView } from './topology.js';

/** external-provisioner's --capacity-poll-interval. */
export const DEFAULT_CAPACITY_POLL_MS = 60_000;
/** Where the objects go when no namespace is given (upstream: the provisioner pod's namespace). */
export const DEFAULT_CAPACITY_NAMESPACE = 'kube-system';
const SYNC_KEY = 'capacity';
const DELETED = '(deleted)';

export interface CapacityPublisherDeps {
  store: ObjectStore;
  csi: CsiClient;
  driverName: string;
  /** Node-deployment mode: publish this node's segment only. */
  nodeName?: string;
  namespace?: string;
  pollIntervalMs?: number;
  /** Deadline of each GetCapacity call. Default 10 s. */
  timeoutMs?: number;
  clock?: Clock;
  log?: Logger;
  informers?: SharedInformerCache;
}

export class CapacityPublisher {
  private readonly identity: PublisherIdentity;
  private readonly store: ObjectStore;
  private readonly csi: CsiClient;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly informers: ControllerInformers;
  private readonly classes: Informer<StorageClass>;
  private readonly nodes: Informer<Node>;
  private readonly csiNodes: Informer<CSINode>;
  /** This instance's objects, in its namespace: not the shared cache's cluster-wide informer. */
  private readonly published: Informer<CSIStorageCapacity>;
  /**
   * The resourceVersion of each object as this instance last wrote it (DELETED: it withdrew it).
   * An event showing anything else is someone else's doing, and is undone at once.
   */
  private readonly written = new Map<string, string>();
  private readonly controller: Controller;
  /** Whether the driver answers GetCapacity at all; asked once. */
  private supported: boolean | undefined;

  constructor(deps: CapacityPublisherDeps) {
    this.identity = {
      driverName: deps.driverName,
      namespace: deps.namespace ?? DEFAULT_CAPACITY_NAMESPACE,
      ...(deps.nodeName !== undefined ? { nodeName: deps.nodeName } : {}),
    };
    this.store = deps.store;
    this.csi = deps.csi;
    this.pollMs = deps.pollIntervalMs ?? DEFAULT_CAPACITY_POLL_MS;
    this.timeoutMs = deps.timeoutMs ?? 10_000;
    const clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: 'capacity' });
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock,
      logger: this.log,
    });
    this.classes = this.informers.informer<StorageClass>(K.sc);
    this.nodes = this.informers.informer<Node>(K.node);
    this.csiNodes = this.informers.informer<CSINode>(K.csinode);
    this.published = new Informer<CSIStorageCapacity>({
      store: deps.store,
      kind: K.csicapacity,
      namespace: this.identity.namespace,
      labelSelector: managedSelector(this.identity),
      clock,
      logger: this.log,
    });
    this.controller = new Controller({
      name: 'provisioner-capacity',
      reconcile: () => this.sync(),
      clock,
      logger: this.log,
      rateLimiter: new ItemExponentialFailureRateLimiter(DEFAULT_RETRY_BASE_MS, DEFAULT_RETRY_MAX_MS),
    });
    this.wireHandlers();
  }

  async start(): Promise<void> {
    this.published.start();
    await Promise.all([this.informers.sync(), this.published.waitForSync()]);
    this.controller.start();
    this.controller.enqueue(SYNC_KEY);
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.informers.close();
    await this.published.stop();
  }

  /** Resolves once no sync is queued or running (a delayed poll does not count). For tests. */
  whenIdle(): Promise<void> {
    return this.controller.whenIdle();
  }

  private wireHandlers(): void {
    const resync = (): void => this.controller.enqueue(SYNC_KEY);
    const ours = (c: StorageClass): void => {
      if (c.provisioner === this.identity.driverName) resync();
    };
    this.informers.on(this.classes, { onAdd: ours, onUpdate: (_old, c) => ours(c), onDelete: ours });
    // Node heartbeats change status only; segments come from labels.
    const labels = (n: Node): string => JSON.stringify(n.metadata.labels ?? {});
    this.informers.on(this.nodes, {
      onAdd: resync,
      onUpdate: (old, n) => {
        if (labels(old) !== labels(n)) resync();
      },
      onDelete: resync,
    });
    const drivers = (n: CSINode): string => JSON.stringify(n.spec.drivers);
    this.informers.on(this.csiNodes, {
      onAdd: resync,
      onUpdate: (old, n) => {
        if (drivers(old) !== drivers(n)) resync();
      },
      onDelete: resync,
    });
    // Deleted or edited by hand: published again now, not at the next poll.
    const changed = (c: CSIStorageCapacity): void => {
      if (this.written.get(c.metadata.name ?? '') !== c.metadata.resourceVersion) resync();
    };
    this.published.addHandler({
      onAdd: changed,
      onUpdate: (_old, c) => changed(c),
      onDelete: (c) => {
        const name = c.metadata.name ?? '';
        if (this.written.get(name) !== DELETED) resync();
        this.written.delete(name);
      },
    });
  }

  private topologyView(): TopologyView {
    return {
      node: (name) => this.nodes.get(undefined, name),
      csiNode: (name) => this.csiNodes.get(undefined, name),
      csiNodes: () => this.csiNodes.list(),
    };
  }

  private async sync(): Promise<ReconcileResult> {
    if (!(await this.driverSupportsCapacity())) return;
    const slots = capacitySlots(this.identity, this.classes.list(), this.topologyView());
    const answers: { slot: CapacitySlot; value: CapacityValue | undefined }[] = [];
    const failures: string[] = [];
    for (const slot of slots) {
      const value = await this.getCapacity(slot).catch((err: unknown) => {
        failures.push(`${slot.storageClass.metadata.name ?? ''}: ${(err as Error).message}`);
        return undefined;
      });
      answers.push({ slot, value });
    }
    const existing = await this.store.list<CSIStorageCapacity>(K.csicapacity, {
      namespace: this.identity.namespace,
      labelSelector: managedSelector(this.identity),
    });
    for (const action of planCapacity(this.identity, answers, existing.items)) await this.apply(action);
    if (failures.length > 0) throw new Error(`GetCapacity failed: ${failures.join('; ')}`);
    return { requeueAfterMs: this.pollMs };
  }

  private async driverSupportsCapacity(): Promise<boolean> {
    if (this.supported === undefined) {
      const caps = await this.csi.controllerGetCapabilities({}, { timeoutMs: this.timeoutMs });
      this.supported = (caps.capabilities ?? []).some((c) => c.rpc?.type === 'GET_CAPACITY');
      if (!this.supported) {
        this.log.warn('the driver does not offer GetCapacity: no storage capacity is published', {
          driver: this.identity.driverName,
        });
      }
    }
    return this.supported;
  }

  private async getCapacity(slot: CapacitySlot): Promise<CapacityValue | undefined> {
    const request = capacityRequest(slot);
    if (!request) return undefined;
    const response = await this.csi.getCapacity(request, { timeoutMs: this.timeoutMs });
    const max = response.maximum_volume_size;
    return {
      capacity: toBigInt(response.available_capacity),
      ...(max ? { maximumVolumeSize: toBigInt(max.value) } : {}),
    };
  }

  private async apply(action: CapacityAction): Promise<void> {
    const { object } = action;
    const fields = { class: object.storageClassName, name: object.metadata.name, capacity: object.capacity };
    switch (action.type) {
      case 'create': {
        const created = await this.store.create(K.csicapacity, object);
        this.wrote(created);
        this.log.info('storage capacity published', { ...fields, name: created.metadata.name });
        return;
      }
      case 'update':
        this.wrote(await this.store.update(K.csicapacity, object));
        this.log.debug('storage capacity updated', fields);
        return;
      case 'delete':
        try {
          this.written.set(object.metadata.name ?? '', DELETED);
          await this.store.delete(K.csicapacity, object.metadata.namespace, object.metadata.name ?? '');
          this.log.info('storage capacity withdrawn', fields);
        } catch (err) {
          if (!isStatusError(err, 'NotFound')) {
            this.written.delete(object.metadata.name ?? '');
            throw err;
          }
        }
    }
  }

  private wrote(object: CSIStorageCapacity): void {
    this.written.set(object.metadata.name ?? '', object.metadata.resourceVersion ?? '');
  }
}
