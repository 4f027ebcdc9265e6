// Real disks for node tests: a sparse file -> a loop device -> (optionally) ext4 mounted under a
// temp dir. Only the devices made here are ever detached, and only files under the test's temp dir
// are ever used as backing files. Needs root.
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { systemExec } from '../../../src/host/index.js';

const exec = systemExec({ timeoutMs: 30_000 });

export interface LoopDisk {
  file: string;
  device: string;
  /** Where the ext4 filesystem is mounted (absent for raw block disks). */
  mountPoint?: string;
}

export async function makeLoopDisk(
  file: string,
  options: { mountPoint?: string; sizeMiB?: number } = {},
): Promise<LoopDisk> {
  await writeFile(file, '');
  await exec.run('truncate', ['-s', `${options.sizeMiB ?? 32}M`, file]);
  const device = (await exec.run('losetup', ['-f', '--show', file])).stdout.trim();
  const disk: LoopDisk = { file, device };
  if (options.mountPoint) {
    await exec.run('mkfs.ext4', ['-q', '-F', '-E', 'nodiscard', device]);
    await mkdir(options.mountPoint, { recursive: true });
    await exec.run('mount', [device, options.mountPoint]);
    disk.mountPoint = options.mountPoint;
  }
  return disk;
}

/** Mount points at or under `dir` (to prove a test left nothing mounted). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mp) => mp === dir || mp.startsWith(dir + '/'));
}

/** `losetup -a` lines whose backing file is under `dir`. */
export async function loopDevicesUnder(dir: string): Promise<string[]> {
  const { stdout } = await exec.run('losetup', ['-a']);
  return stdout.split('\n').filter((line) => line.includes(`(${dir}/`));
}

/** Unmounts everything still mounted under `dir` (deepest first), then detaches the disks. */
export async function cleanupDisks(dir: string, disks: readonly LoopDisk[]): Promise<void> {
  for (const mp of (await mountsUnder(dir)).sort((a, b) => b.length - a.length)) {
    await exec.run('umount', [mp]).catch(() => undefined);
  }
  for (const disk of disks) {
    await exec.run('losetup', ['-d', disk.device]).catch(() => undefined);
    await rm(disk.file, { force: true });
  }
}

/**
 * The end of a disk test: unmounts and detaches `disks` (emptying the array), asserts nothing is left
 * mounted under `dir` and no loop device other than `loopsBefore` is backed by a file under it, then
 * removes `dir`.
 */
export async function releaseDisks(
  dir: string,
  disks: LoopDisk[],
  loopsBefore: string[] = [],
): Promise<void> {
  await cleanupDisks(dir, disks.splice(0));
  assert.deepEqual(await mountsUnder(dir), []);
  assert.deepEqual(await loopDevicesUnder(dir), loopsBefore);
  await rm(dir, { recursive: true, force: true });
}
