// The mounts a pod gets besides CSI: bind mounts of local and hostPath volumes (set up and torn
// down here, per pod) and FlexVolume volumes (handed to the FlexVolume reconciler). Also the
// sweep that tears down what pods that no longer exist left behind.
import type { Pod } from '../api/types.js';
import { isPodTerminated } from '../volume/pods.js';
import type { Logger } from '../machinery/index.js';
import { flexVolumesOfPod } from '../volume/flex-spec.js';
import { decideBinds } from './bind-decide.js';
import { type BindOperations, scanBinds } from './bind-operations.js';
import {
  type DesiredBind,
  flexUniqueName,
  hasFinalizer,
  podNeedsFinalizer,
  type PodVolumeState,
} from './desired-state.js';
import type { NodeFlexVolumes } from './flex-volumes.js';
import type { NodeCache } from './node-cache.js';
import { VolumeOperationError } from './operations.js';
import type { NodePaths } from './paths.js';
import type { PodEvents } from './volume-reconciler.js';

export interface PodMountsDeps {
  paths: NodePaths;
  binds: BindOperations;
  flex: NodeFlexVolumes | undefined;
  cache: NodeCache;
  events: PodEvents;
  log: Logger;
}

export interface BindResult {
  /** Unique name -> target path of the pod's bind mounts that are in place. */
  mounted: Map<string, string>;
  /** Bind mounts found for the pod that are not torn down yet. */
  remaining: number;
  error?: Error;
}

export class PodMounts {
  private readonly deps: PodMountsDeps;

  constructor(deps: PodMountsDeps) {
    this.deps = deps;
  }

  /**
   * Hands a running pod's flex volumes to the FlexVolume reconciler and adds those mounted to
   * `mounted`; a finished or going pod's are torn down. True while a teardown is unfinished.
   */
  async reconcileFlex(
    pod: Pod,
    volumes: readonly PodVolumeState[],
    mounted: Map<string, string>,
  ): Promise<boolean> {
    const { flex, cache } = this.deps;
    // A pod with no claim, CSI, hostPath or flex volume has no flex directory to look for.
    if (!flex || !podNeedsFinalizer(pod)) return false;
    const uid = pod.metadata.uid ?? '';
    if (!hasFinalizer(pod) || isPodTerminated(pod)) return flex.releasePod(pod);
    const flexNames = new Set(volumes.flatMap((v) => (v.kind === 'flex' ? [v.volumeName] : [])));
    if (flexNames.size === 0) return false;
    const { specs } = flexVolumesOfPod(pod, {
      claim: (ns, name) => cache.claims.get(ns, name),
      volume: (name) => cache.volumes.get(undefined, name),
    });
    // only volumes the desired state resolved (claims bound, PVs present)
    flex.syncPod(
      pod,
      specs.filter((s) => flexNames.has(s.podVolumeName ?? s.name)),
    );
    for (const [name, podDir] of flex.mountedVolumes(uid)) mounted.set(flexUniqueName(name), podDir);
    return false;
  }

  /**
   * Brings one pod's bind mounts in line; a failure is reported (event) and returned, so the
   * pod's status is still written before the key is retried.
   */
  async reconcileBinds(podUID: string, want: readonly DesiredBind[]): Promise<BindResult> {
    const { paths, binds, events } = this.deps;
    const found = await scanBinds(paths, await binds.mountPoints(), [podUID]);
    const plan = decideBinds(paths, want, found);
    const mountedTargets = new Set(found.filter((f) => f.mounted).map((f) => f.targetPath));
    let error: Error | undefined;
    let remaining = found.length;
    for (const action of plan) {
      try {
        if (action.kind === 'Mount') {
          await binds.mount(action.bind, action.targetPath);
          mountedTargets.add(action.targetPath);
          events(
            [podUID],
            'Normal',
            'SuccessfulMountVolume',
            `MountVolume.SetUp succeeded for volume "${action.bind.specName}"`,
          );
        } else {
          await binds.teardown(action.podUID, action.targetPath);
          mountedTargets.delete(action.targetPath);
          remaining--;
        }
      } catch (err) {
        if (err instanceof VolumeOperationError) events(err.podUIDs, 'Warning', err.reason, err.message);
        error ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    const mounted = new Map<string, string>();
    for (const bind of want) {
      const target = paths.bindTarget(bind.podUID, bind.plugin, bind.specName, bind.block);
      if (mountedTargets.has(target)) mounted.set(bind.uniqueName, target);
    }
    return { mounted, remaining, ...(error !== undefined ? { error } : {}) };
  }

  /** Tears down flex directories and bind mounts of pods the agent no longer knows (gone, or gone while down). */
  async sweep(): Promise<void> {
    const known = (uid: string): boolean => this.deps.cache.podsWithUID(uid).length > 0;
    await this.deps.flex?.sweep(known);
    await this.sweepBinds(known);
  }

  /** Unmounts and removes bind targets of pods that are not `known`. */
  async sweepBinds(
    known: (uid: string) => boolean = (uid) => this.deps.cache.podsWithUID(uid).length > 0,
  ): Promise<void> {
    const { paths, binds, log } = this.deps;
    const found = await scanBinds(paths, await binds.mountPoints());
    let error: Error | undefined;
    for (const f of found) {
      if (known(f.podUID)) continue;
      try {
        await binds.teardown(f.podUID, f.targetPath);
        log.info('tore down bind mount of a pod that is gone', { target: f.targetPath });
      } catch (err) {
        log.warn('bind mount teardown failed', { target: f.targetPath, err });
        error ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (error) throw error;
  }

  private known(podUID: string): boolean {
    return this.deps.cache.podsWithUID(podUID).length > 0;
  }
}
