// Drives pods' flex volumes on one node: attach (drivers whose init says attach: true) ->
// waitforattach -> mountdevice at the volume's global directory -> mount at the pod's volume
// directory; and back: unmount -> (last user gone) unmountdevice -> detach. One work-queue key per
// pod, so a hung driver holds only that pod; failures become Warning events on the pod (or PV)
// and are retried with per-pod exponential back-off. Each step is idempotent, so a retry redoes
// only what is missing.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../api/meta.js';
import type { Pod } from '../api/types.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import { Controller } from '../machinery/controller.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { backoffFor, type RateLimiter } from '../machinery/rate-limiter.js';
import type { FlexVolumeHost } from './host.js';
import type { AttachOperations } from '../volume/flex-spec.js';
import { escapedDriverName, type FlexPaths, parsePluginDirName } from '../volume/flex-names.js';
import type { FlexVolumeSpec } from '../volume/flex-spec.js';

/** The part of EventRecorder the reconciler uses. */
export interface FlexEventSink {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface FlexReconcilerOptions {
  host: FlexVolumeHost;
  paths: FlexPaths;
  nodeName: string;
  /** Who attaches and detaches. Default: the host itself (berth with no separate A/D controller). */
  attacher?: AttachOperations;
  recorder?: FlexEventSink;
  /** Concurrent pods. Default 2. */
  workers?: number;
  /** Per-pod retry back-off. Default kubelet's: 500 ms doubling to 2 min 2 s. */
  rateLimiter?: RateLimiter;
  clock?: Clock;
  log?: Logger;
  /** Told after every pass over a pod (set-up or tear-down, success or failure), e.g. to update its status. */
  onPodSettled?: (uid: string) => void;
}

export interface MountedFlexVolume {
  spec: FlexVolumeSpec;
  volumeName: string;
  /** Where the pod's container sees the volume. */
  podDir: string;
  /** The device mount (attachable drivers only). */
  globalDir?: string;
}

export interface FlexPodStatus {
  /** Every flex volume of the pod is mounted. */
  ready: boolean;
  /** By pod volume name (or spec name). */
  volumes: Map<string, MountedFlexVolume>;
  lastError?: string;
}

type Desired = { pod: Pod; specs: FlexVolumeSpec[]; remove: false } | { pod: Pod; remove: true };

export class FlexVolumeReconciler {
  private readonly host: FlexVolumeHost;
  private readonly paths: FlexPaths;
  private readonly nodeName: string;
  private readonly attacher: AttachOperations;
  private readonly recorder: FlexEventSink | undefined;
  private readonly log: Logger;
  private readonly controller: Controller;
  private readonly desired = new Map<string, Desired>();
  private readonly statuses = new Map<string, FlexPodStatus>();
  private readonly volumeLocks = new Map<string, Promise<void>>();
  private readonly onPodSettled: ((uid: string) => void) | undefined;

  constructor(options: FlexReconcilerOptions) {
    this.host = options.host;
    this.paths = options.paths;
    this.nodeName = options.nodeName;
    this.attacher = options.attacher ?? options.host;
    this.recorder = options.recorder;
    this.onPodSettled = options.onPodSettled;
    const clock = options.clock ?? systemClock;
    this.log = (options.log ?? silentLogger).child({ component: 'flexvolume-reconciler' });
    this.controller = new Controller({
      name: 'flexvolume',
      reconcile: (uid) => this.reconcileAndTell(uid),
      workers: options.workers ?? 2,
      clock,
      logger: this.log,
      rateLimiter: options.rateLimiter ?? backoffFor('volumeOperation'),
    });
  }

  start(): void {
    this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  /** Resolves when nothing is queued or running (waiting retries do not count). */
  whenIdle(): Promise<void> {
    return this.controller.whenIdle();
  }

  /** The pod (scheduled here, running) should have these flex volumes mounted. */
  ensurePod(pod: Pod, specs: FlexVolumeSpec[]): void {
    const uid = podUID(pod);
    this.desired.set(uid, { pod, specs, remove: false });
    this.controller.enqueue(uid);
  }

  /** The pod is gone or finished: tear its flex volumes down. */
  removePod(pod: Pod): void {
    const uid = podUID(pod);
    this.desired.set(uid, { pod, remove: true });
    this.controller.enqueue(uid);
  }

  /** Progress of a pod given to ensurePod; undefined once it was removed (or never seen). */
  podStatus(uid: string): FlexPodStatus | undefined {
    return this.statuses.get(uid);
  }

  /** Pods whose flex volumes are still being set up or torn down. */
  pendingPods(): string[] {
    return [...this.desired.keys()];
  }

  private async reconcileAndTell(uid: string): Promise<void> {
    try {
      await this.reconcile(uid);
    } finally {
      this.onPodSettled?.(uid);
    }
  }

  private async reconcile(uid: string): Promise<void> {
    const want = this.desired.get(uid);
    if (!want) return;
    if (want.remove) {
      await this.tearDownPod(want.pod);
      // ensurePod may have come in meanwhile; only a still-current removal is finished
      if (this.desired.get(uid) === want) {
        this.desired.delete(uid);
        this.statuses.delete(uid);
      }
      return;
    }
    const status = this.statuses.get(uid) ?? { ready: false, volumes: new Map<string, MountedFlexVolume>() };
    this.statuses.set(uid, status);
    try {
      await this.setUpPod(want.pod, want.specs, status);
      status.ready = true;
      delete status.lastError;
      if (this.desired.get(uid) === want) this.desired.delete(uid);
    } catch (err) {
      status.ready = false;
      status.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  /** One pass over a pod's volumes; mounts what it can and throws if any volume failed. */
  async setUpPod(pod: Pod, specs: FlexVolumeSpec[], status?: FlexPodStatus): Promise<MountedFlexVolume[]> {
    const mounted: MountedFlexVolume[] = [];
    const failures: string[] = [];
    for (const spec of specs) {
      const label = spec.podVolumeName ?? spec.name;
      const known = status?.volumes.get(label);
      try {
        const volume =
          known ??
          (await this.step(pod, 'FailedMount', `MountVolume.SetUp failed for volume "${label}"`, () =>
            this.locate(pod, spec),
          ));
        await this.withVolumeLock(spec.driver, volume.volumeName, () => this.setUpVolume(pod, volume));
        if (!known) {
          status?.volumes.set(label, volume);
          this.event(
            pod,
            'Normal',
            'SuccessfulMountVolume',
            `MountVolume.SetUp succeeded for volume "${label}"`,
          );
        }
        mounted.push(volume);
      } catch (err) {
        failures.push(`volume "${label}": ${message(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`flex volumes not ready: ${failures.join('; ')}`);
    return mounted;
  }

  /** Unmounts every flex volume found in the pod's directory; the last user also unmounts the device and detaches. */
  async tearDownPod(pod: Pod): Promise<void> {
    const uid = podUID(pod);
    const failures: string[] = [];
    for (const { driver, volumeName, podDir } of await this.volumeDirsOfPod(uid)) {
      const spec = this.specOf(uid, driver, volumeName);
      const label = spec?.podVolumeName ?? volumeName;
      const target = spec?.pv ?? pod;
      try {
        await this.withVolumeLock(driver, volumeName, async () => {
          await this.step(pod, 'FailedUnMount', `UnmountVolume.TearDown failed for volume "${label}"`, () =>
            this.host.tearDown(podDir, driver),
          );
          if (await this.stillUsed(driver, volumeName)) return;
          const globalDir = this.paths.deviceMountPath(driver, volumeName);
          await this.step(target, 'FailedUnmountDevice', `UnmountDevice failed for volume "${label}"`, () =>
            this.host.unmountDevice(globalDir, driver),
          );
          if (!this.host.driver(driver).capabilities.attach) return;
          await this.step(
            target,
            'FailedDetachVolume',
            `DetachVolume.Detach failed for volume "${label}"`,
            () => this.attacher.detach(volumeName, this.nodeName, driver),
          );
        });
      } catch (err) {
        failures.push(`volume "${label}": ${message(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`flex volumes not torn down: ${failures.join('; ')}`);
    const volumesDir = path.join(this.paths.podsDir(), uid, 'volumes');
    for (const pluginDir of await readdirOrEmpty(volumesDir)) {
      // emptied driver directories (never one that still holds something)
      const parsed = parsePluginDirName(pluginDir);
      if (parsed && parsed.vendor !== 'kubernetes.io')
        await fs.rmdir(path.join(volumesDir, pluginDir)).catch(() => undefined);
    }
    await fs.rmdir(volumesDir).catch(() => undefined);
  }

  private async locate(pod: Pod, spec: FlexVolumeSpec): Promise<MountedFlexVolume> {
    const driver = this.host.driver(spec.driver);
    const volumeName = await this.host.volumeName(spec);
    return {
      spec,
      volumeName,
      podDir: this.paths.podVolumePath(podUID(pod), driver.name, volumeName),
      ...(driver.capabilities.attach
        ? { globalDir: this.paths.deviceMountPath(driver.name, volumeName) }
        : {}),
    };
  }

  private async setUpVolume(pod: Pod, volume: MountedFlexVolume): Promise<void> {
    const { spec, globalDir } = volume;
    const label = spec.podVolumeName ?? spec.name;
    if (globalDir) {
      let device = await this.step(
        pod,
        'FailedAttachVolume',
        `AttachVolume.Attach failed for volume "${label}"`,
        () => this.attacher.attach(spec, this.nodeName),
      );
      device = await this.step(
        pod,
        'FailedMount',
        `MountVolume.WaitForAttach failed for volume "${label}"`,
        () => this.host.waitForAttach(spec, device),
      );
      await this.step(pod, 'FailedMount', `MountVolume.MountDevice failed for volume "${label}"`, () =>
        this.host.mountDevice(globalDir, device, spec, pod),
      );
    }
    await this.step(pod, 'FailedMount', `MountVolume.SetUp failed for volume "${label}"`, () =>
      this.host.setUp(volume.podDir, spec, pod, globalDir),
    );
  }

  /** Runs one step; a failure becomes a Warning event "<what> : <error>" on `obj` and is rethrown. */
  private async step<T>(obj: KubeObject, reason: string, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.event(obj, 'Warning', reason, `${what} : ${message(err)}`);
      throw err;
    }
  }

  /** Pods (by uid) that have flex volume directories on disk, mounted or not. */
  async podsOnDisk(): Promise<string[]> {
    const out: string[] = [];
    for (const uid of await readdirOrEmpty(this.paths.podsDir())) {
      if ((await this.volumeDirsOfPod(uid)).length > 0) out.push(uid);
    }
    return out;
  }

  /** The flex volume directories under pods/<uid>/volumes (in-tree "kubernetes.io~..." dirs are not ours). */
  async volumeDirsOfPod(uid: string): Promise<{ driver: string; volumeName: string; podDir: string }[]> {
    const volumesDir = path.join(this.paths.podsDir(), uid, 'volumes');
    const out: { driver: string; volumeName: string; podDir: string }[] = [];
    for (const pluginDir of await readdirOrEmpty(volumesDir)) {
      const parsed = parsePluginDirName(pluginDir);
      if (!parsed || parsed.vendor === 'kubernetes.io') continue;
      const driver = `${parsed.vendor}/${parsed.driver}`;
      for (const volumeName of await readdirOrEmpty(path.join(volumesDir, pluginDir))) {
        out.push({ driver, volumeName, podDir: this.paths.podVolumePath(uid, driver, volumeName) });
      }
    }
    return out;
  }

  /** True when another pod still has this volume's directory. */
  private async stillUsed(driver: string, volumeName: string): Promise<boolean> {
    for (const uid of await readdirOrEmpty(this.paths.podsDir())) {
      const dir = path.join(this.paths.podsDir(), uid, 'volumes', escapedDriverName(driver), volumeName);
      if (
        await fs.access(dir).then(
          () => true,
          () => false,
        )
      )
        return true;
    }
    return false;
  }

  private specOf(uid: string, driver: string, volumeName: string): FlexVolumeSpec | undefined {
    for (const v of this.statuses.get(uid)?.volumes.values() ?? []) {
      if (v.spec.driver === driver && v.volumeName === volumeName) return v.spec;
    }
    return undefined;
  }

  /** Steps on one volume never interleave (two pods sharing it, or set-up racing tear-down). */
  private async withVolumeLock(driver: string, volumeName: string, fn: () => Promise<void>): Promise<void> {
    const key = `${driver}/${volumeName}`;
    const previous = this.volumeLocks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.volumeLocks.set(key, settled);
    try {
      await run;
    } finally {
      if (this.volumeLocks.get(key) === settled) this.volumeLocks.delete(key);
    }
  }

  private event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, text: string): void {
    if (type === 'Warning') this.log.warn(text, { reason, object: obj.metadata.name });
    this.recorder?.event(obj, type, reason, text);
  }
}

function podUID(pod: Pod): string {
  const uid = pod.metadata.uid;
  if (!uid)
    throw new Error(`pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''} has no uid`);
  return uid;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch {
    return [];
  }
}
