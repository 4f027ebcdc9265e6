// The berth node agent: kubelet's storage half for one node. It registers CSI drivers (explicit
// endpoints, in-process registrations, and registration sockets in plugins_registry), keeps the
// Node and CSINode objects current, and reconciles pods bound to this node against the mounts:
// stage once per volume, publish per pod, unpublish and unstage when pods go, with pods held by a
// finalizer until their volumes are torn down. Work is keyed per volume ("vol|<unique name>") and
// per pod ("pod|<namespace>/<name>"), so a hung driver call only ever holds its own key.
import { promises as fs } from 'node:fs';
import { K, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type {
  CSIDriver,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  VolumeAttachment,
} from '../api/types.js';
import { isPodTerminated } from '../volume/pods.js';
import type { FlexVolumeHost } from '../flexvolume/host.js';
import { FLEX_PLUGIN_NAME_PREFIX } from '../volume/flex-names.js';
import { flexVolumesOfPod } from '../volume/flex-spec.js';
import { attachmentName } from '../attach-detach/names.js';
import {
  type Clock,
  Controller,
  EventRecorder,
  Informer,
  ItemExponentialFailureRateLimiter,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
} from '../machinery/index.js';
import type { ObjectStore } from '../store/types.js';
import { type Exec, type Mounter, procMountInfoReader, SystemMounter, systemExec } from '../host/index.js';
import { ActualState } from './actual-state.js';
import { decideBinds } from './bind-decide.js';
import { BindOperations, scanBinds } from './bind-operations.js';
import { type DiscoveryClass, LocalDiscovery } from './discovery/index.js';
import { type AttachmentState, decidePod, decideVolume, isWait, type VolumeAction } from './decide.js';
import {
  computeDesiredState,
  type DesiredBind,
  type PodVolumeState,
  type DesiredState,
  flexUniqueName,
  hasFinalizer,
  podNeedsFinalizer,
  NODE_VOLUMES_FINALIZER,
  VOLUME_PATHS_ANNOTATION,
} from './desired-state.js';
import { type FlexAttachMode, NodeFlexVolumes } from './flex-volumes.js';
import { RESIZE_REASON } from '../resizer/decide.js';
import { NodeObject } from './node-object.js';
import { type MountTableReader, VolumeOperationError, VolumeOperations } from './operations.js';
import { NodePaths } from './paths.js';
import { PluginWatcher } from './plugin-watcher.js';
import { CSI_PLUGIN_TYPE, highestSupportedVersion, RegistrationClient } from './registration-protocol.js';
import { type DriverEndpoint, DriverRegistry, type RegisteredDriver } from './registration.js';

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
  /** Node Ready heartbeat period. Default 10 s; 0 disables. */
  heartbeatMs?: number;
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
}

const VOL = 'vol|';
const POD = 'pod|';
/** Tears down bind mounts of pods that no longer exist. */
const SWEEP = 'sweep|binds';
const WAIT_REQUEUE_MS = 2000;

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
  private readonly actual = new ActualState();
  private operations: VolumeOperations;
  private readonly controller: Controller;
  private readonly pods: Informer<Pod>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly csiDrivers: Informer<CSIDriver>;
  private readonly attachments: Informer<VolumeAttachment>;
  private readonly nodes: Informer<Node>;
  private readonly exec: Exec;
  private readonly mounter: Mounter;
  private binds: BindOperations;
  private discovery: LocalDiscovery | undefined;
  private flex: NodeFlexVolumes | undefined;
  private watcher: PluginWatcher | undefined;
  /** Registration socket -> the driver it registered. */
  private readonly socketDrivers = new Map<string, DriverEndpoint>();
  private readonly timers = new Set<TimerHandle>();
  private started = false;
  private stopped = false;

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
      heartbeatMs: deps.heartbeatMs ?? 10_000,
    });
    this.registry = new DriverRegistry({
      store: deps.store,
      node: this.node,
      csiTimeoutMs: deps.csiTimeoutMs ?? 120_000,
      log: this.log,
      onChange: () => this.enqueueAll(),
    });
    this.operations = this.makeOperations();
    this.binds = this.makeBindOperations();
    this.controller = new Controller({
      name: 'node-volumes',
      reconcile: (key, ctx) => this.reconcile(key, ctx.signal),
      workers: deps.workers ?? 4,
      clock: this.clock,
      logger: this.log,
      rateLimiter: new ItemExponentialFailureRateLimiter(deps.retryBaseMs ?? 500, deps.retryMaxMs ?? 122_000),
    });
    const informer = <T extends KubeObject>(kind: KindInfo) =>
      new Informer<T>({ store: deps.store, kind, clock: this.clock, logger: this.log });
    this.pods = informer<Pod>(K.pod);
    this.claims = informer<PersistentVolumeClaim>(K.pvc);
    this.volumes = informer<PersistentVolume>(K.pv);
    this.csiDrivers = informer<CSIDriver>(K.csidriver);
    this.attachments = informer<VolumeAttachment>(K.va);
    this.nodes = informer<Node>(K.node);
    this.pods.addIndex('node', (p) => (p.spec.nodeName ? [p.spec.nodeName] : []));
    this.pods.addIndex('uid', (p) => (p.metadata.uid ? [p.metadata.uid] : []));
    const onAny = (fn: (obj: KubeObject) => void) => ({
      onAdd: fn,
      onUpdate: (_old: KubeObject, obj: KubeObject) => fn(obj),
      onDelete: fn,
    });
    const all = () => this.enqueueAll();
    this.pods.addHandler(
      onAny((p) => {
        if ((p as Pod).spec.nodeName === this.nodeName) this.enqueueAll();
      }),
    );
    this.claims.addHandler(onAny(all));
    this.volumes.addHandler(onAny(all));
    this.csiDrivers.addHandler(onAny(all));
    this.attachments.addHandler(
      onAny((va) => {
        if ((va as VolumeAttachment).spec.nodeName === this.nodeName) this.enqueueAll();
      }),
    );
  }

  private makeOperations(): VolumeOperations {
    return new VolumeOperations({
      store: this.store,
      nodeName: this.nodeName,
      paths: this.paths,
      actual: this.actual,
      node: this.node,
      mountTable: this.mountTable,
      clock: this.clock,
    });
  }

  private makeBindOperations(): BindOperations {
    return new BindOperations({ paths: this.paths, mounter: this.mounter, mountTable: this.mountTable });
  }

  private informers() {
    return [this.pods, this.claims, this.volumes, this.csiDrivers, this.attachments, this.nodes];
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // the kernel reports canonical paths; compare like with like
    await fs.mkdir(this.paths.rootDir, { recursive: true, mode: 0o750 });
    const canonical = await fs.realpath(this.paths.rootDir);
    if (canonical !== this.paths.rootDir) {
      this.paths = new NodePaths(canonical);
      this.operations = this.makeOperations();
      this.binds = this.makeBindOperations();
    }
    await this.node.ensure();
    await this.node.ensureCsiNode();
    for (const i of this.informers()) i.start();
    await Promise.all(this.informers().map((i) => i.waitForSync()));

    if (this.deps.flexVolumes ?? true) this.flex = this.makeFlexVolumes();
    const mounted = new Set((await this.mountTable()).map((m) => m.mountPoint));
    const rebuilt = await this.actual.reconstruct(this.paths, mounted);
    for (const v of rebuilt) this.node.markInUse(v.uniqueName);
    if (this.flex && this.deps.flexAttach === 'controller') {
      for (const name of await this.flex.volumesOnDisk()) this.node.markInUse(name);
    }
    await this.node.writeInUse();
    if (rebuilt.length > 0) this.log.info('reconstructed volumes from disk', { volumes: rebuilt.length });
    // bind mounts left behind by pods that went while the agent was down
    await this.sweepBinds().catch((err: unknown) => this.log.warn('bind mount sweep failed', { err }));

    await this.flex?.start();
    await Promise.all((this.deps.drivers ?? []).map((d) => this.registerWithRetry(d, 0)));
    if (this.deps.watchRegistry ?? true) {
      this.watcher = new PluginWatcher({
        dir: this.paths.registryDir(),
        onAdd: (socket) => this.onRegistrationSocket(socket),
        onRemove: (socket) => this.onRegistrationSocketGone(socket),
        pollMs: this.deps.registryPollMs ?? 2000,
        clock: this.clock,
        log: this.log,
      });
      await this.watcher.start();
    }
    this.controller.start();
    this.enqueueAll();
    this.node.startHeartbeat();
    this.scheduleResync();
    if (this.deps.discovery && this.deps.discovery.length > 0) {
      this.discovery = new LocalDiscovery({
        store: this.store,
        nodeName: this.nodeName,
        classes: this.deps.discovery,
        volumes: () => this.volumes.list(),
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
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    await this.discovery?.stop();
    this.node.stop();
    await this.watcher?.stop();
    await this.controller.stop();
    await this.flex?.stop();
    await Promise.all(this.informers().map((i) => i.stop()));
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

  private makeFlexVolumes(): NodeFlexVolumes {
    return new NodeFlexVolumes({
      store: this.store,
      nodeName: this.nodeName,
      rootDir: this.paths.rootDir,
      exec: this.exec,
      mounter: this.mounter,
      node: this.node,
      currentNode: () => this.nodes.get(undefined, this.nodeName),
      attach: this.deps.flexAttach ?? 'node',
      ...(this.deps.flexAttachWaitMs !== undefined ? { attachWaitMs: this.deps.flexAttachWaitMs } : {}),
      ...(this.deps.flexDriverPollMs !== undefined ? { pollMs: this.deps.flexDriverPollMs } : {}),
      rateLimiter: new ItemExponentialFailureRateLimiter(
        this.deps.retryBaseMs ?? 500,
        this.deps.retryMaxMs ?? 122_000,
      ),
      recorder: this.recorder,
      clock: this.clock,
      log: this.log,
      onDriversChanged: () => this.enqueueAll(),
      onPodSettled: (uid) => this.enqueuePodsByUID([uid]),
    });
  }

  /** What the agent believes is staged and published (a copy). */
  actualState() {
    return this.actual.snapshot();
  }

  /** Resolves when no operation is queued or running (delayed retries do not count). */
  whenIdle(): Promise<void> {
    return this.controller.whenIdle();
  }

  // ---------------------------------------------------------------- registration

  private async registerWithRetry(target: DriverEndpoint, failures: number): Promise<void> {
    if (this.stopped) return;
    try {
      await this.registry.register(target);
    } catch (err) {
      const delay = Math.min(1000 * 2 ** failures, 30_000);
      this.log.warn('CSI driver registration failed; retrying', {
        driver: target.name,
        endpoint: target.endpoint,
        err,
        retryInMs: delay,
      });
      this.after(delay, () => void this.registerWithRetry(target, failures + 1));
    }
  }

  private async onRegistrationSocket(socketPath: string): Promise<boolean> {
    const reg = new RegistrationClient(socketPath, Math.min(this.deps.csiTimeoutMs ?? 10_000, 10_000));
    try {
      const info = await reg.getInfo();
      const problem =
        info.type !== CSI_PLUGIN_TYPE
          ? `plugin type ${info.type} is not supported by the berth node agent`
          : (() => {
              const v = highestSupportedVersion(info.supported_versions);
              return 'error' in v ? v.error : undefined;
            })();
      if (problem) {
        this.log.warn('plugin rejected', { socketPath, name: info.name, problem });
        await reg
          .notifyRegistrationStatus({ plugin_registered: false, error: problem })
          .catch(() => undefined);
        return true; // retrying cannot help; a new socket gets a new try
      }
      try {
        await this.registry.register({ name: info.name, endpoint: info.endpoint });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        await reg.notifyRegistrationStatus({ plugin_registered: false, error }).catch(() => undefined);
        throw err;
      }
      this.socketDrivers.set(socketPath, { name: info.name, endpoint: info.endpoint });
      await reg
        .notifyRegistrationStatus({ plugin_registered: true, error: '' })
        .catch((err: unknown) => this.log.warn('NotifyRegistrationStatus failed', { socketPath, err }));
      return true;
    } finally {
      reg.close();
    }
  }

  private async onRegistrationSocketGone(socketPath: string): Promise<void> {
    const d = this.socketDrivers.get(socketPath);
    this.socketDrivers.delete(socketPath);
    if (d) await this.registry.unregister(d.name, d.endpoint);
  }

  // ---------------------------------------------------------------- queueing

  private after(ms: number, fn: () => void): void {
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(handle);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(handle);
  }

  private scheduleResync(): void {
    this.after(this.deps.resyncMs ?? 10_000, () => {
      this.enqueueAll();
      this.scheduleResync();
    });
  }

  private myPods(): Pod[] {
    return this.pods.byIndex('node', this.nodeName);
  }

  private desiredState(): DesiredState {
    return computeDesiredState({
      nodeName: this.nodeName,
      pods: this.myPods(),
      claim: (ns, name) => this.claims.get(ns, name),
      volume: (name) => this.volumes.get(undefined, name),
      csiDriver: (name) => this.csiDrivers.get(undefined, name),
      nodeLabels: this.nodes.get(undefined, this.nodeName)?.metadata.labels ?? {
        'kubernetes.io/hostname': this.nodeName,
      },
    });
  }

  /** Level-triggered: every volume wanted or held, and every pod on the node, gets a look. */
  private enqueueAll(): void {
    if (!this.started || this.stopped) return;
    const keys = new Set<string>();
    for (const name of this.desiredState().volumes.keys()) keys.add(VOL + name);
    for (const v of this.actual.list()) keys.add(VOL + v.uniqueName);
    // flex volumes' in-use reports belong to the flex part, not to the CSI volume keys
    for (const name of this.node.inUseVolumes())
      if (!name.startsWith(FLEX_PLUGIN_NAME_PREFIX)) keys.add(VOL + name);
    for (const pod of this.myPods())
      keys.add(POD + `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`);
    keys.add(SWEEP);
    for (const key of keys) this.controller.enqueue(key);
  }

  private enqueuePodsByUID(uids: Iterable<string>): void {
    for (const uid of uids) {
      for (const pod of this.pods.byIndex('uid', uid)) {
        this.controller.enqueue(POD + `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`);
      }
    }
  }

  private event(
    podUIDs: readonly string[],
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void {
    for (const uid of new Set(podUIDs)) {
      for (const pod of this.pods.byIndex('uid', uid)) this.recorder.event(pod, type, reason, message);
    }
  }

  private async reconcile(key: string, signal: AbortSignal): Promise<{ requeueAfterMs?: number } | void> {
    if (key.startsWith(VOL)) return this.reconcileVolume(key.slice(VOL.length), signal);
    if (key.startsWith(POD)) return this.reconcilePod(key.slice(POD.length));
    if (key === SWEEP) {
      await this.flex?.sweep((uid) => this.pods.byIndex('uid', uid).length > 0);
      return this.sweepBinds();
    }
  }

  // ---------------------------------------------------------------- volumes

  private attachmentState(driver: string, handle: string): AttachmentState | undefined {
    const va = this.attachments.get(undefined, attachmentName(handle, driver, this.nodeName));
    if (!va) return undefined;
    const error = va.status?.attachError?.message;
    return {
      attached: va.status?.attached === true,
      ...(va.status?.attachmentMetadata ? { metadata: va.status.attachmentMetadata } : {}),
      ...(error !== undefined ? { error } : {}),
      ...(va.metadata.deletionTimestamp ? { deleting: true } : {}),
    };
  }

  private async reconcileVolume(
    uniqueName: string,
    signal: AbortSignal,
  ): Promise<{ requeueAfterMs?: number } | void> {
    if (uniqueName.startsWith(FLEX_PLUGIN_NAME_PREFIX)) return;
    const desired = this.desiredState().volumes.get(uniqueName);
    const actual = this.actual.get(uniqueName);
    const driverName = desired?.driver ?? actual?.driver ?? '';
    const driver = this.registry.get(driverName);
    const plan = decideVolume({
      desired,
      actual,
      driver,
      attachment: desired ? this.attachmentState(desired.driver, desired.volumeHandle) : undefined,
      reportedInUse: this.node.isInUse(uniqueName),
    });
    if (plan.length === 0) return;
    this.log.debug('volume plan', { volume: uniqueName, plan: plan.map((a) => a.kind) });
    const touched = new Set<string>([
      ...(desired?.pods.map((p) => p.podUID) ?? []),
      ...(actual?.publishes.map((p) => p.podUID) ?? []),
    ]);
    try {
      for (const action of plan) {
        if (isWait(action)) {
          this.onWait(action, desired?.pods.map((p) => p.podUID) ?? []);
          return { requeueAfterMs: WAIT_REQUEUE_MS };
        }
        await this.apply(uniqueName, action, signal);
      }
    } catch (err) {
      if (err instanceof VolumeOperationError) this.event(err.podUIDs, 'Warning', err.reason, err.message);
      throw err;
    } finally {
      this.enqueuePodsByUID(touched);
    }
  }

  private onWait(action: VolumeAction, podUIDs: string[]): void {
    if (action.kind === 'WaitForAttach' && action.failed)
      this.event(podUIDs, 'Warning', 'FailedAttachVolume', action.message);
    if (action.kind === 'WaitForDriver')
      this.event(podUIDs, 'Warning', 'FailedMount', `MountVolume.MountDevice failed: ${action.message}`);
  }

  private async apply(uniqueName: string, action: VolumeAction, signal: AbortSignal): Promise<void> {
    const desired = () => {
      const d = this.desiredState().volumes.get(uniqueName);
      if (!d) throw new Error(`volume ${uniqueName} is no longer wanted`);
      return d;
    };
    const actualVolume = () => {
      const a = this.actual.get(uniqueName);
      if (!a) throw new Error(`no record of volume ${uniqueName}`);
      return a;
    };
    const driverFor = (name: string) => {
      const d = this.registry.get(name);
      if (!d) throw new Error(`driver name ${name} not found in the list of registered CSI drivers`);
      return d;
    };
    switch (action.kind) {
      case 'ReportInUse':
        await this.node.setInUse(uniqueName, true);
        return;
      case 'ReportNotInUse':
        await this.node.setInUse(uniqueName, false);
        return;
      case 'Stage': {
        const d = desired();
        await this.operations.stage(d, driverFor(d.driver), action.publishContext, signal);
        return;
      }
      case 'Publish': {
        const d = desired();
        await this.operations.publish(d, action.pod, driverFor(d.driver), action.publishContext, signal);
        this.event(
          [action.pod.podUID],
          'Normal',
          'SuccessfulMountVolume',
          `MountVolume.SetUp succeeded for volume "${d.specName}"`,
        );
        return;
      }
      case 'Unpublish': {
        const a = actualVolume();
        await this.operations.unpublish(a, action.podUID, action.targetPath, driverFor(a.driver), signal);
        return;
      }
      case 'Unstage': {
        const a = actualVolume();
        await this.operations.unstage(a, driverFor(a.driver), signal);
        return;
      }
      case 'ExpandOnNode': {
        const d = desired();
        if (await this.operations.expand(d, driverFor(d.driver), signal)) {
          this.event(
            d.pods.map((p) => p.podUID),
            'Normal',
            RESIZE_REASON.fsResizeSuccessful,
            `MountVolume.NodeExpandVolume succeeded for volume "${d.specName}" ${this.nodeName}`,
          );
        }
        return;
      }
      case 'WaitForAttach':
      case 'WaitForDriver':
        return;
    }
  }

  // ---------------------------------------------------------------- pods

  private async reconcilePod(key: string): Promise<void> {
    const cached = this.pods.getByKey(key);
    if (!cached || cached.spec.nodeName !== this.nodeName) return;
    const uid = cached.metadata.uid ?? '';
    const records = this.actual.publishesOfPod(uid);
    const mounted = new Map(
      records.filter((r) => r.state === 'mounted').map((r) => [r.uniqueName, r.targetPath]),
    );
    const volumes = this.desiredState().podVolumes.get(uid) ?? [];
    for (const v of volumes) {
      if (v.kind === 'pending' && v.failedMount) this.event([uid], 'Warning', 'FailedMount', v.failedMount);
    }
    const wantBinds =
      hasFinalizer(cached) && !isPodTerminated(cached)
        ? volumes.flatMap((v) => (v.kind === 'bind' ? [v.bind] : []))
        : [];
    const binds = await this.reconcileBinds(uid, wantBinds);
    for (const [uniqueName, target] of binds.mounted) mounted.set(uniqueName, target);
    const flexBusy = await this.reconcileFlex(cached, volumes, mounted);
    const actions = decidePod({
      pod: cached,
      volumes,
      mounted,
      hasMounts: records.length > 0 || binds.remaining > 0 || flexBusy,
      now: this.clock.now(),
    });
    const namespace = cached.metadata.namespace ?? 'default';
    const name = cached.metadata.name ?? '';
    for (const action of actions) {
      switch (action.kind) {
        case 'AddFinalizer':
        case 'RemoveFinalizer': {
          const fresh = await this.store.get<Pod>(K.pod, namespace, name);
          if (fresh.metadata.uid !== uid) return;
          const current = fresh.metadata.finalizers ?? [];
          const finalizers =
            action.kind === 'AddFinalizer'
              ? current.includes(NODE_VOLUMES_FINALIZER)
                ? current
                : [...current, NODE_VOLUMES_FINALIZER]
              : current.filter((f) => f !== NODE_VOLUMES_FINALIZER);
          if (finalizers === current) break;
          // compare-and-swap on resourceVersion: a conflict retries the key
          await this.store.update<Pod>(K.pod, { ...fresh, metadata: { ...fresh.metadata, finalizers } });
          break;
        }
        case 'SetVolumePaths':
          await this.store.patch(K.pod, namespace, name, {
            metadata: { annotations: { [VOLUME_PATHS_ANNOTATION]: action.value } },
          });
          break;
        case 'SetStatus':
          await this.store.patch(
            K.pod,
            namespace,
            name,
            { status: action.status },
            { subresource: 'status' },
          );
          break;
      }
    }
    if (binds.error) throw binds.error;
  }

  // ---------------------------------------------------------------- flex volumes

  /**
   * Hands a running pod's flex volumes to the FlexVolume reconciler and adds those mounted to
   * `mounted`; a finished or going pod's are torn down. True while a teardown is unfinished.
   */
  private async reconcileFlex(
    pod: Pod,
    volumes: readonly PodVolumeState[],
    mounted: Map<string, string>,
  ): Promise<boolean> {
    // A pod with no claim, CSI, hostPath or flex volume has no flex directory to look for.
    if (!this.flex || !podNeedsFinalizer(pod)) return false;
    const uid = pod.metadata.uid ?? '';
    if (!hasFinalizer(pod) || isPodTerminated(pod)) return this.flex.releasePod(pod);
    const flexNames = new Set(volumes.flatMap((v) => (v.kind === 'flex' ? [v.volumeName] : [])));
    if (flexNames.size === 0) return false;
    const { specs } = flexVolumesOfPod(pod, {
      claim: (ns, name) => this.claims.get(ns, name),
      volume: (name) => this.volumes.get(undefined, name),
    });
    // only volumes the desired state resolved (claims bound, PVs present)
    this.flex.syncPod(
      pod,
      specs.filter((s) => flexNames.has(s.podVolumeName ?? s.name)),
    );
    for (const [name, podDir] of this.flex.mountedVolumes(uid)) mounted.set(flexUniqueName(name), podDir);
    return false;
  }

  // ---------------------------------------------------------------- local and hostPath volumes

  /**
   * Brings one pod's bind mounts in line; a failure is reported (event) and returned, so the
   * pod's status is still written before the key is retried.
   */
  private async reconcileBinds(
    podUID: string,
    want: readonly DesiredBind[],
  ): Promise<{ mounted: Map<string, string>; remaining: number; error?: Error }> {
    const mountPoints = await this.binds.mountPoints();
    const found = await scanBinds(this.paths, mountPoints, [podUID]);
    const plan = decideBinds(this.paths, want, found);
    const mountedTargets = new Set(found.filter((f) => f.mounted).map((f) => f.targetPath));
    let error: Error | undefined;
    let remaining = found.length;
    for (const action of plan) {
      try {
        if (action.kind === 'Mount') {
          await this.binds.mount(action.bind, action.targetPath);
          mountedTargets.add(action.targetPath);
          this.event(
            [podUID],
            'Normal',
            'SuccessfulMountVolume',
            `MountVolume.SetUp succeeded for volume "${action.bind.specName}"`,
          );
        } else {
          await this.binds.teardown(action.podUID, action.targetPath);
          mountedTargets.delete(action.targetPath);
          remaining--;
        }
      } catch (err) {
        if (err instanceof VolumeOperationError) this.event(err.podUIDs, 'Warning', err.reason, err.message);
        error ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    const mounted = new Map<string, string>();
    for (const bind of want) {
      const target = this.paths.bindTarget(bind.podUID, bind.plugin, bind.specName, bind.block);
      if (mountedTargets.has(target)) mounted.set(bind.uniqueName, target);
    }
    return { mounted, remaining, ...(error !== undefined ? { error } : {}) };
  }

  /** Unmounts and removes bind targets of pods the agent no longer knows (gone, or gone while down). */
  private async sweepBinds(): Promise<void> {
    const found = await scanBinds(this.paths, await this.binds.mountPoints());
    let error: Error | undefined;
    for (const f of found) {
      if (this.pods.byIndex('uid', f.podUID).length > 0) continue;
      try {
        await this.binds.teardown(f.podUID, f.targetPath);
        this.log.info('tore down bind mount of a pod that is gone', { target: f.targetPath });
      } catch (err) {
        this.log.warn('bind mount teardown failed', { target: f.targetPath, err });
        error ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (error) throw error;
  }
}
