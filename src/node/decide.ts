// The node reconciler's decisions (PURE). For one volume: desired pods against what is staged and
// published, in kubelet's order — unpublish pods that are gone; for wanted volumes report in use,
// wait for the driver and the attachment, stage once, publish per pod; for unwanted volumes
// unstage only after the last unpublish, then stop reporting in use (so detach may proceed).
// A claim waiting for a filesystem resize is finished once the volume is published.
// For one pod: the finalizer that holds its deletion, its phase/conditions and volume paths.
import type { Pod, PodStatus } from '../api/types.js';
import { isPodTerminated } from '../volume/pods.js';
import type { DesiredVolume, PodUse, PodVolumeState } from './desired-state.js';
import { hasFinalizer, podNeedsFinalizer, VOLUME_PATHS_ANNOTATION } from './desired-state.js';
import { podStatusChange } from './pod-status.js';

/** 'uncertain': a call was made (or the agent restarted) and nobody knows whether it took effect. */
export type MountState = 'mounted' | 'uncertain';

export interface ActualPublish {
  podUID: string;
  targetPath: string;
  state: MountState;
}

export interface ActualVolume {
  uniqueName: string;
  driver: string;
  volumeHandle: string;
  specName: string;
  stage: 'none' | 'staged' | 'uncertain';
  publishes: ActualPublish[];
}

export interface AttachmentState {
  attached: boolean;
  metadata?: Record<string, string>;
  error?: string;
  deleting?: boolean;
}

export interface VolumeView {
  desired: DesiredVolume | undefined;
  actual: ActualVolume | undefined;
  /** The registered driver, undefined while it is not registered. */
  driver: { stageUnstage: boolean } | undefined;
  /** The VolumeAttachment for this volume and node, if there is one. */
  attachment: AttachmentState | undefined;
  /** The Node's status.volumesInUse holds this volume (confirmed write). */
  reportedInUse: boolean;
}

export type VolumeAction =
  | { kind: 'Unpublish'; podUID: string; targetPath: string }
  | { kind: 'ReportInUse' }
  | { kind: 'WaitForDriver'; message: string }
  | { kind: 'WaitForAttach'; message: string; failed: boolean }
  | { kind: 'Stage'; publishContext: Record<string, string> }
  | { kind: 'Publish'; pod: PodUse; publishContext: Record<string, string> }
  | { kind: 'Unstage' }
  | { kind: 'ReportNotInUse' }
  /** Grow the published volume's filesystem (NodeExpandVolume), then record the claim's capacity. */
  | { kind: 'ExpandOnNode' };

/** Actions that end a plan: nothing after them can run yet. */
export function isWait(action: VolumeAction): boolean {
  return action.kind === 'WaitForDriver' || action.kind === 'WaitForAttach';
}

export function decideVolume(view: VolumeView): VolumeAction[] {
  const { desired, actual } = view;
  const actions: VolumeAction[] = [];
  const driverName = desired?.driver ?? actual?.driver ?? '';
  const waitDriver = (): VolumeAction => ({
    kind: 'WaitForDriver',
    message: `driver name ${driverName} not found in the list of registered CSI drivers`,
  });
  const wanted = new Set(desired?.pods.map((p) => p.podUID) ?? []);

  const stale = (actual?.publishes ?? []).filter((p) => !wanted.has(p.podUID));
  if (stale.length > 0) {
    if (!view.driver) return [waitDriver()];
    for (const p of stale) actions.push({ kind: 'Unpublish', podUID: p.podUID, targetPath: p.targetPath });
  }

  if (desired && desired.pods.length > 0) {
    if (!view.reportedInUse) actions.push({ kind: 'ReportInUse' });
    if (!view.driver) return [...actions, waitDriver()];
    let publishContext: Record<string, string> = {};
    if (desired.attachRequired) {
      const va = view.attachment;
      if (!va || !va.attached || va.deleting) {
        const message = va?.error
          ? `AttachVolume.Attach failed for volume "${desired.specName}" : ${va.error}`
          : `waiting for volume "${desired.specName}" to be attached to the node`;
        return [...actions, { kind: 'WaitForAttach', message, failed: va?.error !== undefined }];
      }
      publishContext = { ...(va.metadata ?? {}) };
    }
    // Staging runs even for drivers without STAGE_UNSTAGE: it records the staging metadata
    // (vol_data.json) that teardown reads; the RPC itself is skipped then.
    if (actual?.stage !== 'staged') actions.push({ kind: 'Stage', publishContext });
    const mounted = new Set(
      (actual?.publishes ?? []).filter((p) => p.state === 'mounted').map((p) => p.podUID),
    );
    for (const pod of desired.pods) {
      if (!mounted.has(pod.podUID)) actions.push({ kind: 'Publish', pod, publishContext });
    }
    if (desired.expansion) actions.push({ kind: 'ExpandOnNode' });
    return actions;
  }

  // Nobody wants the volume: after every unpublish above succeeded, unstage, then un-report.
  if (actual && actual.stage !== 'none') {
    if (!view.driver) return [...actions, waitDriver()];
    actions.push({ kind: 'Unstage' });
  }
  if (view.reportedInUse) actions.push({ kind: 'ReportNotInUse' });
  return actions;
}

// ---------------------------------------------------------------- pods

export interface PodView {
  pod: Pod;
  /** How each of the pod's volumes resolves (empty for terminated pods). */
  volumes: readonly PodVolumeState[];
  /** Published target paths of this pod, by volume unique name (mounted state only). */
  mounted: ReadonlyMap<string, string>;
  /** The agent still has a record (any state) of a mount for this pod. */
  hasMounts: boolean;
  now: Date;
}

export type PodAction =
  | { kind: 'AddFinalizer' }
  | { kind: 'RemoveFinalizer' }
  | { kind: 'SetVolumePaths'; value: string }
  | { kind: 'SetStatus'; status: PodStatus };

interface Readiness {
  ready: boolean;
  paths: Record<string, string>;
  waiting: string[];
}

function readiness(view: PodView): Readiness {
  const paths: Record<string, string> = {};
  const waiting: string[] = [];
  for (const v of view.volumes) {
    if (v.kind === 'ready') {
      if (v.hostPath !== undefined) paths[v.volumeName] = v.hostPath;
    } else if (v.kind === 'csi' || v.kind === 'bind' || v.kind === 'flex') {
      const target = view.mounted.get(v.uniqueName);
      if (target !== undefined) paths[v.volumeName] = target;
      else waiting.push(`${v.volumeName} (not mounted yet)`);
    } else {
      waiting.push(`${v.volumeName} (${v.message})`);
    }
  }
  return { ready: waiting.length === 0, paths, waiting };
}

/** JSON with sorted keys, so the annotation only changes when a path does. */
export function volumePathsValue(paths: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))));
}

export function decidePod(view: PodView): PodAction[] {
  const { pod } = view;
  const actions: PodAction[] = [];
  if (isPodTerminated(pod)) {
    if (hasFinalizer(pod) && !view.hasMounts) actions.push({ kind: 'RemoveFinalizer' });
    return actions;
  }
  if (podNeedsFinalizer(pod) && !hasFinalizer(pod)) actions.push({ kind: 'AddFinalizer' });

  const r = readiness(view);
  const value = volumePathsValue(r.paths);
  const currentValue = pod.metadata.annotations?.[VOLUME_PATHS_ANNOTATION];
  if (currentValue !== value && !(currentValue === undefined && value === '{}')) {
    actions.push({ kind: 'SetVolumePaths', value });
  }

  const status = podStatusChange(pod, r, view.now);
  if (status) actions.push({ kind: 'SetStatus', status });
  return actions;
}
