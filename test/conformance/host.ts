// Host checks and a last-resort cleanup for tests that use real loop devices and mounts. Loop
// devices are shared by the whole machine: the sweep only touches mounts under our own scratch
// directory and loop devices whose backing file lies inside it.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { isRoot } from '../helpers/skip.js';
import { parseMountInfo } from '../../src/host/mountinfo.js';

export function hasCommand(command: string): boolean {
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

/** Why real-disk tests cannot run here, or undefined when they can. */
export function realDiskUnavailable(extra: readonly string[] = []): string | undefined {
  if (!isRoot) return 'needs root (loop devices, mkfs, mount)';
  for (const command of ['losetup', 'mkfs.ext4', 'blkid', 'mount', 'umount', ...extra]) {
    if (!hasCommand(command)) return `needs ${command}`;
  }
  try {
    accessSync('/dev/loop-control', constants.W_OK);
  } catch {
    return 'needs /dev/loop-control';
  }
  return undefined;
}

/** CAP_SYS_RESOURCE (bit 24) is what the kernel asks of online ext4 resizing. */
export const canGrowExtOnline = (() => {
  const match = /^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match?.[1] !== undefined && (BigInt(`0x${match[1]}`) & (1n << 24n)) !== 0n;
})();

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const entries = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  return entries
    .map((entry) => entry.mountPoint)
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

/** Loop devices whose backing file is under `dir`. */
export function loopsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n))) {
    let backing: string;
    try {
      backing = readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8')
        .trim()
        .replace(/ \(deleted\)$/, '');
    } catch {
      continue;
    }
    if (backing.startsWith(dir + '/')) out.push(`/dev/${name}`);
  }
  return out;
}

/** Unmounts everything under `dir` and detaches loop devices backed by files in it; returns what it had to do. */
export function sweepHost(dir: string): string[] {
  const done: string[] = [];
  for (const mountPoint of mountsUnder(dir)) {
    execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    done.push(`umount ${mountPoint}`);
  }
  for (const device of loopsUnder(dir)) {
    execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
    done.push(`losetup -d ${device}`);
  }
  return done;
}

/** What a test left under `dir` (then swept away, and `dir` removed): both lists should be empty. */
export function removeTestDir(dir: string): { mounts: string[]; loops: string[] } {
  const leftovers = { mounts: mountsUnder(dir), loops: loopsUnder(dir) };
  sweepHost(dir);
  rmSync(dir, { recursive: true, force: true });
  return leftovers;
}
