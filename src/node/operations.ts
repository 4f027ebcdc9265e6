// Carries out the node reconciler's volume actions against the driver, the disk and the store.
// Metadata (vol_data.json) is written before a driver call and removed only after the driver let
// go; a record is marked "uncertain" before the call, so a timeout or a crash still leads to a
// teardown. A final CSI error undoes what was prepared; an in-progress one (timeout, UNAVAILABLE,
// ABORTED, ...) leaves the record uncertain and the same call is retried.
import { csiPluginName, timeStorageOperation } from '../volume/metrics.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { K } from '../api/kinds.js';
import { tryStorageBytes } from '../api/quantity.js';
import type { PersistentVolumeClaim } from '../api/types.js';
import { attachmentName } from '../attach-detach/names.js';
import { volumeCapability } from '../csi/capability.js';
import { classify, CsiError, status } from '../csi/errors.js';
import { readSecretReference } from '../volume/secrets.js';
import {
  fsResizePending,
  CONDITION_NODE_RESIZE_ERROR,
  RESIZE_REASON,
  withErrorCondition,
  withoutResizeConditions,
  withResizeStatus,
} from '../resizer/decide.js';
import type { Clock } from '../machinery/clock.js';
import type { ObjectStore } from '../store/types.js';
import type { ActualState } from './actual-state.js';
import type { DesiredVolume, PodUse, VolumeExpansion } from './desired-state.js';
import type { ActualVolume } from './decide.js';
import type { NodeObject } from './node-object.js';
import type { NodePaths } from './paths.js';
import type { RegisteredDriver } from './registration.js';
import { removeDirIfEmpty, removeVolData, writeVolData } from './vol-data.js';

export type MountTableReader = () => Promise<readonly { mountPoint: string }[]>;

/** A failed volume operation, with the pod event it deserves. */
export class VolumeOperationError extends Error {
  readonly reason: string;
  readonly podUIDs: string[];

  constructor(reason: string, message: string, podUIDs: string[], options?: ErrorOptions) {
    super(message, options);
    this.name = 'VolumeOperationError';
    this.reason = reason;
    this.podUIDs = podUIDs;
  }
}

export interface OperationDeps {
  store: ObjectStore;
  nodeName: string;
  paths: NodePaths;
  actual: ActualState;
  node: NodeObject;
  mountTable: MountTableReader;
  clock: Clock;
}

/** Rejects when `signal` fires; the call itself goes on, its outcome is treated as unknown. */
function raceSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

const NOT_FOUND: number = status.NOT_FOUND;

function isNotFound(err: unknown): boolean {
  return err instanceof CsiError && err.code === NOT_FOUND;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class VolumeOperations {
  private readonly deps: OperationDeps;

  constructor(deps: OperationDeps) {
    this.deps = deps;
  }

  private capability(desired: DesiredVolume) {
    // kubelet uses the PV's first access mode on the node side
    const first = desired.accessModes[0] ?? 'ReadWriteOnce';
    return volumeCapability(
      {
        accessModes: [first],
        mountOptions: desired.mountOptions,
        ...(desired.volumeMode ? { volumeMode: desired.volumeMode } : {}),
      },
      desired.csi.fsType ?? '',
    );
  }

  private async isMounted(target: string): Promise<boolean> {
    const table = await this.deps.mountTable();
    return table.some((m) => m.mountPoint === target);
  }

  async stage(
    desired: DesiredVolume,
    driver: RegisteredDriver,
    publishContext: Record<string, string>,
    signal: AbortSignal,
  ): Promise<void> {
    const { paths, actual } = this.deps;
    const dir = paths.stagingDir(desired.driver, desired.volumeHandle);
    const stagingPath = paths.stagingTarget(desired.driver, desired.volumeHandle);
    const podUIDs = desired.pods.map((p) => p.podUID);
    const fail = (err: unknown): VolumeOperationError =>
      new VolumeOperationError(
        'FailedMount',
        `MountVolume.MountDevice failed for volume "${desired.specName}" : ${describe(err)}`,
        podUIDs,
        { cause: err },
      );
    let secrets: Record<string, string>;
    try {
      secrets = driver.stageUnstage
        ? await readSecretReference(this.deps.store, desired.csi.nodeStageSecretRef)
        : {};
    } catch (err) {
      throw fail(err);
    }
    await writeVolData(dir, { volumeHandle: desired.volumeHandle, driverName: desired.driver });
    await fs.mkdir(stagingPath, { recursive: true, mode: 0o750 });
    if (!driver.stageUnstage) {
      actual.setStage(desired, 'staged');
      return;
    }
    actual.setStage(desired, 'uncertain');
    try {
      await raceSignal(
        timeStorageOperation(
          csiPluginName(driver.name),
          'volume_mount',
          driver.client.nodeStageVolume({
            volume_id: desired.volumeHandle,
            publish_context: publishContext,
            staging_target_path: stagingPath,
            volume_capability: this.capability(desired),
            secrets,
            volume_context: { ...(desired.csi.volumeAttributes ?? {}) },
          }),
        ),
        signal,
      );
    } catch (err) {
      if (classify(err) === 'final') {
        await removeDirIfEmpty(stagingPath);
        await removeVolData(dir);
        await removeDirIfEmpty(dir);
        actual.setStage(desired, 'none');
      }
      throw fail(err);
    }
    actual.setStage(desired, 'staged');
  }

  podInfo(pod: PodUse): Record<string, string> {
    return {
      'csi.storage.k8s.io/pod.name': pod.podName,
      'csi.storage.k8s.io/pod.namespace': pod.podNamespace,
      'csi.storage.k8s.io/pod.uid': pod.podUID,
      'csi.storage.k8s.io/serviceAccount.name': pod.serviceAccountName,
      'csi.storage.k8s.io/ephemeral': 'false',
    };
  }

  /** Returns the target path it published to. */
  async publish(
    desired: DesiredVolume,
    pod: PodUse,
    driver: RegisteredDriver,
    publishContext: Record<string, string>,
    signal: AbortSignal,
  ): Promise<string> {
    const { paths, actual, nodeName } = this.deps;
    const dir = paths.podVolumeDir(pod.podUID, desired.specName);
    const target = paths.podVolumeMount(pod.podUID, desired.specName);
    const fail = (err: unknown): VolumeOperationError =>
      new VolumeOperationError(
        'FailedMount',
        `MountVolume.SetUp failed for volume "${desired.specName}" : ${describe(err)}`,
        [pod.podUID],
        { cause: err },
      );
    let secrets: Record<string, string>;
    try {
      secrets = await readSecretReference(
        this.deps.store,
        desired.csi.nodePublishSecretRef,
        pod.podNamespace,
      );
    } catch (err) {
      throw fail(err);
    }
    // kubelet creates the parent of target_path; the driver creates target_path itself
    await writeVolData(dir, {
      specVolID: desired.specName,
      volumeHandle: desired.volumeHandle,
      driverName: desired.driver,
      nodeName,
      attachmentID: attachmentName(desired.volumeHandle, desired.driver, nodeName),
      volumeLifecycleMode: 'Persistent',
    });
    actual.setPublish(desired, pod.podUID, target, 'uncertain');
    try {
      await raceSignal(
        timeStorageOperation(
          csiPluginName(driver.name),
          'volume_mount',
          driver.client.nodePublishVolume({
            volume_id: desired.volumeHandle,
            publish_context: publishContext,
            staging_target_path: driver.stageUnstage
              ? paths.stagingTarget(desired.driver, desired.volumeHandle)
              : '',
            target_path: target,
            volume_capability: this.capability(desired),
            readonly: pod.readOnly,
            secrets,
            volume_context: {
              ...(desired.csi.volumeAttributes ?? {}),
              ...(desired.podInfoOnMount ? this.podInfo(pod) : {}),
            },
          }),
        ),
        signal,
      );
    } catch (err) {
      if (classify(err) === 'final') {
        await removeDirIfEmpty(target);
        await removeVolData(dir);
        await removeDirIfEmpty(dir);
        actual.removePublish(desired.uniqueName, pod.podUID);
      }
      throw fail(err);
    }
    actual.setPublish(desired, pod.podUID, target, 'mounted');
    return target;
  }

  async unpublish(
    volume: ActualVolume,
    podUID: string,
    targetPath: string,
    driver: RegisteredDriver,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      await raceSignal(
        timeStorageOperation(
          csiPluginName(driver.name),
          'volume_unmount',
          driver.client.nodeUnpublishVolume({ volume_id: volume.volumeHandle, target_path: targetPath }),
        ),
        signal,
      );
    } catch (err) {
      if (!isNotFound(err)) {
        throw new VolumeOperationError(
          'FailedUnmount',
          `UnmountVolume.TearDown failed for volume "${volume.specName}" : ${describe(err)}`,
          [podUID],
          { cause: err },
        );
      }
    }
    if (await this.isMounted(targetPath)) {
      throw new VolumeOperationError(
        'FailedUnmount',
        `UnmountVolume.TearDown failed for volume "${volume.specName}" : ${targetPath} is still mounted`,
        [podUID],
      );
    }
    const dir = path.dirname(targetPath);
    await removeDirIfEmpty(targetPath);
    await removeVolData(dir);
    await removeDirIfEmpty(dir);
    // pods/<uid>/volumes/kubernetes.io~csi, pods/<uid>/volumes, pods/<uid>: only if empty
    const csiDir = path.dirname(dir);
    await removeDirIfEmpty(csiDir);
    await removeDirIfEmpty(path.dirname(csiDir));
    await removeDirIfEmpty(path.dirname(path.dirname(csiDir)));
    this.deps.actual.removePublish(volume.uniqueName, podUID);
  }

  async unstage(volume: ActualVolume, driver: RegisteredDriver, signal: AbortSignal): Promise<void> {
    const { paths, actual } = this.deps;
    const dir = paths.stagingDir(volume.driver, volume.volumeHandle);
    const stagingPath = paths.stagingTarget(volume.driver, volume.volumeHandle);
    if (driver.stageUnstage) {
      try {
        await raceSignal(
          timeStorageOperation(
            csiPluginName(driver.name),
            'unmount_device',
            driver.client.nodeUnstageVolume({
              volume_id: volume.volumeHandle,
              staging_target_path: stagingPath,
            }),
          ),
          signal,
        );
      } catch (err) {
        if (!isNotFound(err)) {
          throw new VolumeOperationError(
            'FailedUnmount',
            `UnmountDevice failed for volume "${volume.specName || volume.volumeHandle}" : ${describe(err)}`,
            [],
            { cause: err },
          );
        }
      }
    }
    if (await this.isMounted(stagingPath))
      throw new Error(`${stagingPath} is still mounted after NodeUnstageVolume`);
    await removeDirIfEmpty(stagingPath);
    await removeVolData(dir);
    await removeDirIfEmpty(dir);
    await removeDirIfEmpty(path.dirname(dir));
    actual.setStage(volume, 'none');
  }

  /**
   * NodeExpandVolume on a published volume (drivers without node EXPAND_VOLUME need nothing done),
   * then the claim records its new capacity and stops waiting. Returns false when nothing is
   * published yet, so there is nothing to grow.
   */
  async expand(desired: DesiredVolume, driver: RegisteredDriver, signal: AbortSignal): Promise<boolean> {
    const expansion = desired.expansion;
    const published = this.deps.actual.get(desired.uniqueName)?.publishes.find((p) => p.state === 'mounted');
    if (!expansion || !published) return false;
    const fail = (err: unknown): VolumeOperationError =>
      new VolumeOperationError(
        RESIZE_REASON.fsResizeFailed,
        `MountVolume.NodeExpandVolume failed for volume "${desired.specName}" : ${describe(err)}`,
        desired.pods.map((p) => p.podUID),
        { cause: err },
      );
    if (driver.nodeCapabilities.includes('EXPAND_VOLUME')) {
      const { paths } = this.deps;
      try {
        await raceSignal(
          driver.client.nodeExpandVolume({
            volume_id: desired.volumeHandle,
            volume_path: published.targetPath,
            staging_target_path: driver.stageUnstage
              ? paths.stagingTarget(desired.driver, desired.volumeHandle)
              : '',
            capacity_range: { required_bytes: String(tryStorageBytes(expansion.capacity) ?? 0n) },
            volume_capability: this.capability(desired),
            secrets: await readSecretReference(this.deps.store, desired.csi.nodeExpandSecretRef),
          }),
          signal,
        );
      } catch (err) {
        const failure = fail(err);
        await this.recordNodeResizeError(expansion, failure.message).catch(() => undefined);
        throw failure;
      }
    }
    const claim = await this.deps.store.get<PersistentVolumeClaim>(
      K.pvc,
      expansion.claimNamespace,
      expansion.claimName,
    );
    if (!fsResizePending(claim)) return true;
    const status = {
      ...withResizeStatus(claim.status, undefined),
      capacity: { ...claim.status?.capacity, storage: expansion.capacity },
      conditions: withoutResizeConditions(claim.status?.conditions),
    };
    await this.deps.store.update(K.pvc, { ...claim, status }, { subresource: 'status' });
    return true;
  }

  /** NodeResizeError on the claim says why the node step failed (best effort; events say it too). */
  private async recordNodeResizeError(expansion: VolumeExpansion, message: string): Promise<void> {
    const claim = await this.deps.store.get<PersistentVolumeClaim>(
      K.pvc,
      expansion.claimNamespace,
      expansion.claimName,
    );
    const conditions = withErrorCondition(
      claim.status?.conditions,
      CONDITION_NODE_RESIZE_ERROR,
      message,
      this.deps.clock.now(),
    );
    if (!conditions) return;
    await this.deps.store.update(
      K.pvc,
      { ...claim, status: { ...claim.status, conditions } },
      { subresource: 'status' },
    );
  }
}
