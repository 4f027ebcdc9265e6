// The berth node agent: kubelet's storage half for one node. It registers CSI drivers (explicit
// endpoints, in-process registrations, and registration sockets in plugins_registry), keeps the
// Node and CSINode objects current, and reconciles pods bound to this node against the mounts:
// stage once per volume, publish per pod, unpublish and unstage when pods go, with pods held by a
// finalizer until their volumes are torn down. Work is keyed per volume and per pod (node-cache.ts),
// so a hung driver call only ever holds its own key. This file is the wiring and the lifecycle;
// volume-reconciler.ts, pod-reconciler.ts, pod-mounts.ts and plugin-registration.ts do the work.
import { promises as fs } from 'node:fs';
import type { FlexVolumeHost } from '../flexvolume/host.js';
import {
  type Clock,
  Controller,
  ControllerInformers,
  EventRecorder,
  backoffFor,
  type Logger,
  type SharedInformerCache,
  silentLogger,
  systemClock,
  type TimerHandle,
} from '../machinery/index.js';
import type { ObjectStore } from '../store/types.js';
import { type Exec, type Mounter, procMountInfoReader, SystemMounter, systemExec } from '../host/index.js';
import { ActualState } from './actual-state.js';
import { BindOperations } from './bind-operations.js';
import { type DiscoveryClass, LocalDiscovery } from './discovery/index.js';
import { type FlexAttachMode, NodeFlexVolumes } from './flex-volumes.js';
import { NodeCache, POD, podKey, SWEEP, VOL } from './node-cache.js';
import { NodeLease } from './node-lease.js';
import { NodeObject } from './node-object.js';
import { NODE_LEASE_RENEW_MS } from '../volume/node-health.js';
import { type MountTableReader, VolumeOperations } from './operations.js';
import { NodePaths } from './paths.js';
import { PluginRegistration } from './plugin-registration.js';
import { PodMounts } from './pod-mounts.js';
import { PodReconciler } from './pod-reconciler.js';
import { type DriverEndpoint, DriverRegistry, type RegisteredDriver } from './registration.js';
import { type PodEvents, VolumeReconciler } from './volume-reconciler.js';
import { ItemBackoff } from '../machinery/item-backoff.js';
import { reportVolumeManager } from '../volume/metrics.js';
import { VOLUME_PATHS_ANNOTATION } from './desired-state.js';
import { volumeManagerCounts } from './volume-counts.js';

export interface NodeAgentDeps {
  store: ObjectStore;
  nodeName: string;
  /** kubelet-style root directory (default layout /var/lib/berth). */
  rootDir: string;
  clock?: Clock;
  log?: Logger;
  recorder?: EventRecorder;
  /** The kernel mount table (mount points only are used). Default: /proc/self/mountinfo. */
  mountInfo?: MountTableReader;
  /** Deadline of every CSI call. Default 2 minutes (kubelet's csiTimeout). */
  csiTimeoutMs?: number;
  /**
   * Heartbeat period: the node Lease in kube-node-lease is renewed and the Ready condition checked
   * this often. Default 10 s (kubelet's); 0 disables both.
   */
  heartbeatMs?: number;
  /** Write an unchanged Ready condition this often. Default 5 min (kubelet's report frequency). */
  statusReportMs?: number;
  /** Drivers to register by endpoint at start (retried in the background until they answer). */
  drivers?: DriverEndpoint[];
  /** Concurrent volume/pod operations. Default 4. */
  workers?: number;
  /** Watch <rootDir>/plugins_registry for registration sockets. Default true. */
  watchRegistry?: boolean;
  /** Rescan period of plugins_registry. Default 2 s. */
  registryPollMs?: number;
  /** Re-check everything this often (level-triggered safety net). Default 10 s. */
  resyncMs?: number;
  /** First retry delay of a failed operation (doubling, capped at retryMaxMs). Default 500 ms. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Bind mounts of local and hostPath volumes. Default: mount(8)/umount(8) through `exec`. */
  mounter?: Mounter;
  /** Runs mount, umount and blockdev. Default: the real commands. */
  exec?: Exec;
  /** Local disk discovery: one PV per disk found under each class's hostDir. Default: off. */
  discovery?: DiscoveryClass[];
  /** Rescan period of local disk discovery. Default 10 s. */
  discoveryPeriodMs?: number;
  /** FlexVolume drivers under <rootDir>/volume-plugins mount pods' flex volumes. Default true. */
  flexVolumes?: boolean;
  /**
   * Who attaches flex volumes of attachable drivers: 'node' (this agent, default) or 'controller'
   * (an attach/detach controller given this agent's `flexHost`; the agent waits for
   * status.volumesAttached and reports status.volumesInUse).
   */
  flexAttach?: FlexAttachMode;
  /** How long one flex attach step waits for the controller before failing and retrying. Default 10 s. */
  flexAttachWaitMs?: number;
  /** Rescan period of the flex driver directory. Default 5 s. */
  flexDriverPollMs?: number;
  /** The process's shared informers; default: informers of its own. */
  informers?: SharedInformerCache;
}

/** The parts that do the work, made at start() once the root directory is canonical. */
interface Workers {
  volumes: VolumeReconciler;
  pods: PodReconciler;
  mounts: PodMounts;
}

export class NodeAgent {
  readonly nodeName: string;
  /** The on-disk layout; rootDir is made canonical at start(). */
  paths: NodePaths;
  readonly registry: DriverRegistry;
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recorder: EventRecorder;
  private readonly mountTable: MountTableReader;
  private readonly deps: NodeAgentDeps;
  private readonly node: NodeObject;
  private readonly lease: NodeLease;
  private readonly actual = new ActualState();
  private readonly controller: Controller;
  private readonly informers: ControllerInformers;
  private readonly cache: NodeCache;
  private readonly plugins: PluginRegistration;
  private readonly exec: Exec;
  private readonly mounter: Mounter;
  private workers: Workers | undefined;
  private discovery: LocalDiscovery | undefined;
  private flex: NodeFlexVolumes | undefined;
  private readonly timers = new Set<TimerHandle>();
  private started = false;
  private stopped = false;
  private unreportVolumes: (() => void) | undefined;

  constructor(deps: NodeAgentDeps) {
    this.deps = deps;
    this.store = deps.store;
    this.nodeName = deps.nodeName;
    this.paths = new NodePaths(deps.rootDir);
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: 'node-agent', node: deps.nodeName });
    this.recorder =
      deps.recorder ??
      new EventRecorder({
        store: deps.store,
        component: 'berth-node',
        host: deps.nodeName,
        clock: this.clock,
        logger: this.log,
      });
    this.mountTable = deps.mountInfo ?? procMountInfoReader();
    this.exec = deps.exec ?? systemExec();
    this.mounter = deps.mounter ?? new SystemMounter({ exec: this.exec });
    this.node = new NodeObject({
      store: deps.store,
      nodeName: deps.nodeName,
      clock: this.clock,
      log: this.log,
      heartbeatMs: deps.heartbeatMs ?? NODE_LEASE_RENEW_MS,
      ...(deps.statusReportMs !== undefined ? { statusReportMs: deps.statusReportMs } : {}),
    });
    this.lease = new NodeLease({
      store: deps.store,
      nodeName: deps.nodeName,
      clock: this.clock,
      log: this.log,
      renewMs: deps.heartbeatMs ?? NODE_LEASE_RENEW_MS,
      lastStatusPostMs: () => this.node.lastStatusPostMs,
    });
    this.registry = new DriverRegistry({
      store: deps.store,
      node: this.node,
      csiTimeoutMs: deps.csiTimeoutMs ?? 120_000,
      log: this.log,
      onChange: (driver) => this.enqueue(this.cache.keysOfDriver(driver, this.actual)),
    });
    this.plugins = new PluginRegistration({
      registry: this.registry,
      csiTimeoutMs: deps.csiTimeoutMs ?? 10_000,
      clock: this.clock,
      log: this.log,
      after: (ms, fn) => this.after(ms, fn),
      isStopped: () => this.stopped,
    });
    this.controller = new Controller({
      name: 'node-volumes',
      reconcile: (key, ctx) => this.reconcile(key, ctx.signal),
      workers: deps.workers ?? 4,
      clock: this.clock,
      logger: this.log,
      rateLimiter: this.volumeBackoff(),
    });
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.cache = new NodeCache(this.informers, deps.nodeName);
    this.cache.watchChanges((key) => {
      if (this.started && !this.stopped) this.controller.enqueue(key);
    }, this.actual);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // the kernel reports canonical paths; compare like with like
    await fs.mkdir(this.paths.rootDir, { recursive: true, mode: 0o750 });
    this.paths = new NodePaths(await fs.realpath(this.paths.rootDir));
    await this.node.ensure();
    this.lease.start();
    await this.node.ensureCsiNode();
    await this.informers.sync();

    if (this.deps.flexVolumes ?? true) this.flex = this.makeFlexVolumes();
    const workers = this.makeWorkers();
    this.workers = workers;
    const mounted = new Set((await this.mountTable()).map((m) => m.mountPoint));
    const rebuilt = await this.actual.reconstruct(this.paths, mounted);
    for (const v of rebuilt) this.node.markInUse(v.uniqueName);
    if (this.flex && this.deps.flexAttach === 'controller') {
      for (const name of await this.flex.volumesOnDisk()) this.node.markInUse(name);
    }
    await this.node.writeInUse();
    if (rebuilt.length > 0) this.log.info('reconstructed volumes from disk', { volumes: rebuilt.length });
    // bind mounts left behind by pods that went while the agent was down
    await workers.mounts
      .sweepBinds()
      .catch((err: unknown) => this.log.warn('bind mount sweep failed', { err }));

    await this.flex?.start();
    await Promise.all((this.deps.drivers ?? []).map((d) => this.plugins.registerWithRetry(d)));
    if (this.deps.watchRegistry ?? true)
      await this.plugins.watch(this.paths.registryDir(), this.deps.registryPollMs ?? 2000);
    this.controller.start();
    this.unreportVolumes = reportVolumeManager(() => this.volumeCounts());
    this.enqueueAll();
    this.node.startHeartbeat();
    this.scheduleResync();
    if (this.deps.discovery && this.deps.discovery.length > 0) {
      this.discovery = new LocalDiscovery({
        store: this.store,
        nodeName: this.nodeName,
        classes: this.deps.discovery,
        volumes: () => this.cache.volumes.list(),
        mountTable: this.mountTable,
        exec: this.exec,
        clock: this.clock,
        log: this.log,
        periodMs: this.deps.discoveryPeriodMs ?? 10_000,
      });
      this.discovery.start();
    }
    this.log.info('node agent started', { rootDir: this.paths.rootDir });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unreportVolumes?.();
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    await this.discovery?.stop();
    this.node.stop();
    this.lease.stop();
    await this.plugins.stop();
    await this.controller.stop();
    await this.flex?.stop();
    await this.informers.close();
    this.registry.closeAll();
    await this.recorder.flush();
  }

  /** Registers a driver berth runs itself (or any endpoint) without a registration socket. */
  registerDriver(target: DriverEndpoint): Promise<RegisteredDriver> {
    return this.registry.register(target);
  }

  unregisterDriver(name: string): Promise<void> {
    return this.registry.unregister(name);
  }

  /** The FlexVolume host (once started), for an attach/detach controller that attaches flex volumes. */
  get flexHost(): FlexVolumeHost | undefined {
    return this.flex?.host;
  }

  /** What the agent believes is staged and published (a copy). */
  actualState() {
    return this.actual.snapshot();
  }

  /** Resolves when no operation is queued or running (delayed retries do not count). */
  whenIdle(): Promise<void> {
    return this.controller.whenIdle();
  }

  /** kubelet's per-operation back-off (500 ms doubling to 2 min 2 s), unless told otherwise. */
  private volumeBackoff() {
    return backoffFor('volumeOperation', { baseMs: this.deps.retryBaseMs, maxMs: this.deps.retryMaxMs });
  }

  /** volume_manager_total_volumes: what this node wants mounted and what it has mounted. */
  private volumeCounts() {
    const ready = (podUID: string, volumeName: string): boolean =>
      this.cache.podsWithUID(podUID).some((pod) => {
        const paths = pod.metadata.annotations?.[VOLUME_PATHS_ANNOTATION];
        try {
          return paths !== undefined && Object.hasOwn(JSON.parse(paths) as object, volumeName);
        } catch {
          return false;
        }
      });
    return volumeManagerCounts(this.cache.desiredState(), this.actual.list(), ready);
  }

  private makeWorkers(): Workers {
    const events: PodEvents = (podUIDs, type, reason, message) => {
      for (const uid of new Set(podUIDs)) {
        for (const pod of this.cache.podsWithUID(uid)) this.recorder.event(pod, type, reason, message);
      }
    };
    const mounts = new PodMounts({
      paths: this.paths,
      binds: new BindOperations({ paths: this.paths, mounter: this.mounter, mountTable: this.mountTable }),
      flex: this.flex,
      cache: this.cache,
      events,
      log: this.log,
    });
    const volumes = new VolumeReconciler({
      nodeName: this.nodeName,
      cache: this.cache,
      actual: this.actual,
      registry: this.registry,
      node: this.node,
      operations: new VolumeOperations({
        store: this.store,
        nodeName: this.nodeName,
        paths: this.paths,
        actual: this.actual,
        node: this.node,
        mountTable: this.mountTable,
        clock: this.clock,
      }),
      events,
      touchedPods: (uids) => this.enqueuePodsByUID(uids),
      backoff: new ItemBackoff(this.clock, this.volumeBackoff()),
      log: this.log,
    });
    const pods = new PodReconciler({
      store: this.store,
      nodeName: this.nodeName,
      clock: this.clock,
      cache: this.cache,
      actual: this.actual,
      mounts,
      events,
    });
    return { volumes, pods, mounts };
  }

  private makeFlexVolumes(): NodeFlexVolumes {
    return new NodeFlexVolumes({
      store: this.store,
      nodeName: this.nodeName,
      rootDir: this.paths.rootDir,
      exec: this.exec,
      mounter: this.mounter,
      node: this.node,
      currentNode: () => this.cache.nodes.get(undefined, this.nodeName),
      attach: this.deps.flexAttach ?? 'node',
      ...(this.deps.flexAttachWaitMs !== undefined ? { attachWaitMs: this.deps.flexAttachWaitMs } : {}),
      ...(this.deps.flexDriverPollMs !== undefined ? { pollMs: this.deps.flexDriverPollMs } : {}),
      rateLimiter: this.volumeBackoff(),
      recorder: this.recorder,
      clock: this.clock,
      log: this.log,
      // the pods with flex volumes are the ones a driver change concerns
      onDriversChanged: () => this.enqueuePodsByUID(this.cache.podsWithFlexVolumes()),
      onPodSettled: (uid) => this.enqueuePodsByUID([uid]),
    });
  }

  // ---------------------------------------------------------------- queueing

  private after(ms: number, fn: () => void): void {
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(handle);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(handle);
  }

  /** Level-triggered safety net: every key gets a look this often (changes enqueue only theirs). */
  private scheduleResync(): void {
    this.after(this.deps.resyncMs ?? 10_000, () => {
      this.enqueueAll();
      this.scheduleResync();
    });
  }

  private enqueue(keys: Iterable<string>): void {
    if (!this.started || this.stopped) return;
    for (const key of keys) this.controller.enqueue(key);
  }

  private enqueueAll(): void {
    this.enqueue(this.cache.allKeys(this.actual, this.node.inUseVolumes()));
  }

  private enqueuePodsByUID(uids: Iterable<string>): void {
    for (const uid of uids) this.enqueue(this.cache.podsWithUID(uid).map(podKey));
  }

  private async reconcile(key: string, signal: AbortSignal): Promise<{ requeueAfterMs?: number } | void> {
    const workers = this.workers;
    if (!workers) return;
    if (key.startsWith(VOL)) return workers.volumes.reconcile(key.slice(VOL.length), signal);
    if (key.startsWith(POD)) return workers.pods.reconcile(key.slice(POD.length));
    if (key === SWEEP) return workers.mounts.sweep();
  }
}
