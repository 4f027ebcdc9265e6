// Publish and unpublish of a volume staged on a block device (local and RBD drivers): a bind mount
// of the device node (block volumes) or of the staging mount (filesystems) onto target_path.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { csiError, status } from '../../csi/errors.js';
import type { DeviceView } from '../../host/device-mounts.js';
import { isDeviceBindOf, isFilesystemMountOf, mountPointsUsing } from '../../host/device-mounts.js';
import type { Mounter } from '../../host/mounter.js';
import { canonicalPath } from '../../host/mounter.js';
import type { MountInfoEntry } from '../../host/mountinfo.js';
import { isReadOnly, topMountAt } from '../../host/mountinfo.js';
import type { AccessType } from './capability.js';

/** NodePublishVolume's staging_target_path, which a staging driver cannot do without. */
export function requireStagingPath(staging: string | undefined): string {
  if (!staging) {
    throw csiError(status.FAILED_PRECONDITION, 'staging_target_path is required: this driver stages volumes');
  }
  return staging;
}

export interface StagedPublish {
  id: string;
  accessType: AccessType;
  /** The device the volume is staged on. */
  view: DeviceView;
  staging: string;
  target: string;
  readonly: boolean;
  /** SINGLE_NODE_SINGLE_WRITER: refuse when the device is published anywhere else. */
  singleWriter: boolean;
}

/**
 * Bind-mounts a staged volume onto its target. Returns false when the target already holds this
 * very publish (idempotent retry); another mount there is ALREADY_EXISTS.
 */
export async function bindPublish(mounter: Mounter, publish: StagedPublish): Promise<boolean> {
  const { id, view, staging, target, readonly } = publish;
  const mounts = await mounter.list();
  const targetPath = await canonicalPath(target);
  const current = topMountAt(mounts, targetPath);
  if (current) {
    const ours =
      publish.accessType === 'block' ? isDeviceBindOf(current, view) : isFilesystemMountOf(current, view);
    if (ours && isReadOnly(current) === readonly) return false;
    throw csiError(status.ALREADY_EXISTS, `${target} is already published with other arguments`);
  }
  const stagingPath = await canonicalPath(staging);
  if (publish.singleWriter) {
    const others = mountPointsUsing(mounts, view).filter((p) => p !== stagingPath && p !== targetPath);
    if (others.length > 0) {
      throw csiError(
        status.FAILED_PRECONDITION,
        `volume ${id} is single-writer and published at ${others[0]}`,
      );
    }
  }
  if (publish.accessType === 'block') {
    await fs.mkdir(path.dirname(target), { recursive: true });
    await (await fs.open(target, 'a')).close();
    await mounter.bindMount(view.device, target, { readonly });
    return true;
  }
  const staged = topMountAt(mounts, stagingPath);
  if (!staged || !isFilesystemMountOf(staged, view)) {
    throw csiError(status.FAILED_PRECONDITION, `volume ${id} is not staged at ${staging}`);
  }
  await fs.mkdir(target, { recursive: true });
  try {
    await mounter.bindMount(stagingPath, target, { readonly });
  } catch (err) {
    await fs.rmdir(target).catch(() => undefined);
    throw err;
  }
  return true;
}

/** NodeUnstageVolume must not pull a device from under its publishes: FAILED_PRECONDITION while any remain. */
export function requireUnpublished(
  id: string,
  mounts: readonly MountInfoEntry[],
  view: DeviceView,
  stagingPath: string,
): void {
  const users = mountPointsUsing(mounts, view).filter((p) => p !== stagingPath);
  if (users.length > 0) {
    throw csiError(status.FAILED_PRECONDITION, `volume ${id} is still published at ${users.join(', ')}`);
  }
}

/** Removes a publish target that is no longer mounted; a non-empty directory is an error, never deleted. */
export async function removeTarget(target: string): Promise<void> {
  let stat;
  try {
    stat = await fs.lstat(target);
  } catch {
    return;
  }
  if (stat.isDirectory()) await fs.rmdir(target);
  else await fs.unlink(target);
}
