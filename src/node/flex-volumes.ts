// The node agent's FlexVolume part: driver discovery under <rootDir>/volume-plugins, the host
// that calls drivers, and the per-pod reconciler, wrapped so the agent can hand it pods and read
// back which volumes are mounted. Attach is done either here (standalone node) or by the
// attach/detach controller: then this node reports the volume in status.volumesInUse, waits for it
// in status.volumesAttached (its devicePath is the device), and after unmountdevice stops
// reporting it so the controller may detach.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { K } from '../api/kinds.js';
import type { Node, Pod, Secret } from '../api/types.js';
import { FlexDriverProber } from '../flexvolume/discovery.js';
import { FlexVolumeHost } from '../flexvolume/host.js';
import type { AttachOperations } from '../volume/flex-spec.js';
import { FlexPaths, isSafeSegment, uniqueFlexVolumeName } from '../volume/flex-names.js';
import { type FlexEventSink, FlexVolumeReconciler } from '../flexvolume/reconciler.js';
import type { FlexVolumeSpec } from '../volume/flex-spec.js';
import { type Clock, sleep } from '../machinery/clock.js';
import type { Logger } from '../machinery/logger.js';
import type { RateLimiter } from '../machinery/rate-limiter.js';
import type { ObjectStore } from '../store/types.js';
import type { Exec, Mounter } from '../host/index.js';
import type { NodeObject } from './node-object.js';

/** Who attaches flex volumes of attachable drivers: this node itself, or the attach/detach controller. */
export type FlexAttachMode = 'node' | 'controller';

export interface NodeFlexVolumesDeps {
  store: ObjectStore;
  nodeName: string;
  rootDir: string;
  exec: Exec;
  mounter: Mounter;
  node: NodeObject;
  /** The Node as last seen (status.volumesAttached). */
  currentNode(): Node | undefined;
  attach: FlexAttachMode;
  /** How long one attach step waits for the controller before it fails (and is retried). Default 10 s. */
  attachWaitMs?: number;
  /** Driver directory rescan period. Default 5 s. */
  pollMs?: number;
  rateLimiter?: RateLimiter;
  recorder: FlexEventSink;
  clock: Clock;
  log: Logger;
  /** A driver was added, updated or removed. */
  onDriversChanged(): void;
  /** A pass over a pod's flex volumes ended. */
  onPodSettled(uid: string): void;
}

export class NodeFlexVolumes {
  readonly paths: FlexPaths;
  readonly prober: FlexDriverProber;
  readonly host: FlexVolumeHost;
  private readonly reconciler: FlexVolumeReconciler;
  private readonly deps: NodeFlexVolumesDeps;
  /** Pods handed to ensurePod, with the specs they were given (and those as JSON). */
  private readonly ensured = new Map<string, { signature: string; specs: FlexVolumeSpec[] }>();
  private readonly removing = new Set<string>();

  constructor(deps: NodeFlexVolumesDeps) {
    this.deps = deps;
    this.paths = new FlexPaths(deps.rootDir);
    this.prober = new FlexDriverProber({
      pluginDir: this.paths.pluginDir(),
      exec: deps.exec,
      clock: deps.clock,
      log: deps.log,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
      onChange: () => this.driversChanged(),
    });
    this.host = new FlexVolumeHost({
      drivers: this.prober,
      exec: deps.exec,
      mounter: deps.mounter,
      log: deps.log,
      readSecret: (ns, name) => deps.store.get<Secret>(K.secret, ns, name).catch(() => undefined),
    });
    this.reconciler = new FlexVolumeReconciler({
      host: this.host,
      paths: this.paths,
      nodeName: deps.nodeName,
      ...(deps.attach === 'controller' ? { attacher: this.controllerAttach() } : {}),
      recorder: deps.recorder,
      clock: deps.clock,
      log: deps.log,
      ...(deps.rateLimiter ? { rateLimiter: deps.rateLimiter } : {}),
      onPodSettled: (uid) => this.settled(uid),
    });
  }

  async start(): Promise<void> {
    await this.prober.start();
    this.reconciler.start();
  }

  async stop(): Promise<void> {
    await this.reconciler.stop();
    await this.prober.stop();
  }

  /**
   * Device mounts on disk (after a restart): with controller attach, these volumes must stay in
   * volumesInUse until torn down, so the controller does not detach them under a mount.
   */
  async volumesOnDisk(): Promise<string[]> {
    const root = path.join(this.paths.rootDir, 'plugins', 'kubernetes.io', 'flexvolume');
    const out: string[] = [];
    for (const vendor of await entries(root)) {
      for (const driver of await entries(path.join(root, vendor))) {
        if (!isSafeSegment(vendor) || !isSafeSegment(driver)) continue;
        for (const volumeName of await entries(path.join(root, vendor, driver, 'mounts'))) {
          out.push(uniqueFlexVolumeName(`${vendor}/${driver}`, volumeName));
        }
      }
    }
    return out;
  }

  /** The running pod should have these flex volumes; hands them over only when they changed. */
  syncPod(pod: Pod, specs: FlexVolumeSpec[]): void {
    const uid = pod.metadata.uid ?? '';
    const signature = JSON.stringify(
      specs.map((s) => [s.driver, s.name, s.podVolumeName, s.readOnly, s.source]),
    );
    if (this.ensured.get(uid)?.signature === signature || this.removing.has(uid)) return;
    this.ensured.set(uid, { signature, specs });
    this.reconciler.ensurePod(pod, specs);
  }

  /** Mounted flex volumes of a pod: pod volume name -> host path. */
  mountedVolumes(uid: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, v] of this.reconciler.podStatus(uid)?.volumes ?? []) out.set(name, v.podDir);
    return out;
  }

  /** The pod is finished or going: tears its flex volumes down; true while anything of it remains. */
  async releasePod(pod: Pod): Promise<boolean> {
    const uid = pod.metadata.uid ?? '';
    if (this.removing.has(uid)) return true;
    const onDisk = (await this.reconciler.volumeDirsOfPod(uid)).length > 0;
    if (!onDisk && !this.ensured.has(uid) && !this.reconciler.pendingPods().includes(uid)) return false;
    this.removing.add(uid);
    this.ensured.delete(uid);
    this.reconciler.removePod(pod);
    return true;
  }

  /** Tears down flex volumes of pods that no longer exist (gone while the agent was down, or force-deleted). */
  async sweep(podExists: (uid: string) => boolean): Promise<void> {
    for (const uid of await this.reconciler.podsOnDisk()) {
      if (podExists(uid) || this.removing.has(uid)) continue;
      this.deps.log.info('tearing down flex volumes of a pod that is gone', { podUID: uid });
      await this.releasePod({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: uid, namespace: 'default', uid },
        spec: { containers: [] },
      });
    }
  }

  private settled(uid: string): void {
    if (this.removing.has(uid) && !this.reconciler.pendingPods().includes(uid)) this.removing.delete(uid);
    this.deps.onPodSettled(uid);
  }

  private driversChanged(): void {
    // pods still waiting (e.g. for a driver to be installed) get a fresh try now, not after back-off
    for (const [uid, entry] of this.ensured) {
      if (this.reconciler.podStatus(uid)?.ready !== true) this.ensured.set(uid, { ...entry, signature: '' });
    }
    this.deps.onDriversChanged();
  }

  private wanted(spec: FlexVolumeSpec): boolean {
    for (const [uid, { specs }] of this.ensured) {
      if (this.removing.has(uid)) continue;
      if (specs.some((s) => s.driver === spec.driver && s.name === spec.name)) return true;
    }
    return false;
  }

  /** The node side of controller attach: report in use, then wait for the controller's attach. */
  private controllerAttach(): AttachOperations {
    const deps = this.deps;
    const attachedDevice = (unique: string) =>
      deps.currentNode()?.status?.volumesAttached?.find((a) => a.name === unique)?.devicePath;
    return {
      attach: async (spec, nodeName) => {
        const unique = uniqueFlexVolumeName(spec.driver, await this.host.volumeName(spec));
        await deps.node.setInUse(unique, true);
        const deadline = deps.clock.now().getTime() + (deps.attachWaitMs ?? 10_000);
        for (;;) {
          const device = attachedDevice(unique);
          if (device !== undefined) return device;
          // the pod went meanwhile: let its teardown run instead of waiting on
          if (!this.wanted(spec)) throw new Error('the volume is no longer used by a pod on this node');
          if (deps.clock.now().getTime() >= deadline) {
            throw new Error(
              `volume is not attached to node "${nodeName}" yet (waiting for the attach/detach controller)`,
            );
          }
          await sleep(deps.clock, 200);
        }
      },
      // unmountdevice is done: stop reporting the volume so the controller may detach it
      detach: (volumeName, _nodeName, driver) =>
        deps.node.setInUse(uniqueFlexVolumeName(driver, volumeName), false),
      isAttached: async (spec) =>
        attachedDevice(uniqueFlexVolumeName(spec.driver, await this.host.volumeName(spec))) !== undefined,
    };
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch {
    return [];
  }
}
