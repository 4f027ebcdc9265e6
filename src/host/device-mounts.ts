// Which mounts use a block device (loop, rbd, nbd): filesystem mounts of it (and bind mounts of
// those) carry the device's major:minor; bind mounts of the device node itself (block publish) show
// up as mounts of the filesystem holding /dev, with the node's name as root.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { MountInfoEntry } from './mountinfo.js';

/** glibc's dev_t encoding -> "major:minor". */
export function majorMinorOf(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

export interface DeviceView {
  device: string;
  /** major:minor of the device itself. */
  majorMinor: string;
  /** major:minor of the filesystem that holds the device node (devtmpfs). */
  nodeFs: string;
}

/** The view of `device`; `majorMinor` when the caller already knows it (a loop device from sysfs). */
export function deviceView(device: string, majorMinor?: string): DeviceView {
  const stat = statSync(device, { bigint: true }); // a devtmpfs node: no disk behind it
  return { device, majorMinor: majorMinor ?? majorMinorOf(stat.rdev), nodeFs: majorMinorOf(stat.dev) };
}

export function isFilesystemMountOf(entry: MountInfoEntry, view: DeviceView): boolean {
  return entry.majorMinor === view.majorMinor;
}

export function isDeviceBindOf(entry: MountInfoEntry, view: DeviceView): boolean {
  return entry.majorMinor === view.nodeFs && entry.root === `/${path.basename(view.device)}`;
}

/** Mount points that use the device in any way. */
export function mountPointsUsing(entries: readonly MountInfoEntry[], view: DeviceView): string[] {
  return entries
    .filter((entry) => isFilesystemMountOf(entry, view) || isDeviceBindOf(entry, view))
    .map((entry) => entry.mountPoint);
}

/** Size of a block device in bytes, from sysfs (loop, rbd and nbd devices alike). */
export function deviceSizeBytes(device: string, sysRoot = '/sys'): bigint {
  const sectors = readFileSync(path.join(sysRoot, 'class', 'block', path.basename(device), 'size'), 'utf8');
  return BigInt(sectors.trim()) * 512n;
}
