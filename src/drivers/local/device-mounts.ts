// Which mounts use a loop device: filesystem mounts of it (and their bind mounts) carry its
// major:minor; bind mounts of the device node itself (block publish) show up as a mount of the
// filesystem holding /dev with the node's name as root.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { LoopDevice } from '../../node/mount/loop.js';
import type { MountInfoEntry } from '../../node/mount/mountinfo.js';

/** glibc's st_dev encoding -> "major:minor". */
export function majorMinorOf(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

export interface LoopMountView {
  loop: LoopDevice;
  /** major:minor of the filesystem that holds the device node (devtmpfs). */
  nodeFs: string;
}

export async function loopMountView(loop: LoopDevice): Promise<LoopMountView> {
  const stat = statSync(loop.device, { bigint: true }); // a devtmpfs node: no disk behind it
  return { loop, nodeFs: majorMinorOf(stat.dev) };
}

export function isFilesystemMountOf(entry: MountInfoEntry, view: LoopMountView): boolean {
  return entry.majorMinor === view.loop.majorMinor;
}

export function isDeviceBindOf(entry: MountInfoEntry, view: LoopMountView): boolean {
  return entry.majorMinor === view.nodeFs && entry.root === `/${path.basename(view.loop.device)}`;
}

/** Mount points that use the device in any way. */
export function mountPointsUsing(entries: readonly MountInfoEntry[], view: LoopMountView): string[] {
  return entries
    .filter((entry) => isFilesystemMountOf(entry, view) || isDeviceBindOf(entry, view))
    .map((entry) => entry.mountPoint);
}
