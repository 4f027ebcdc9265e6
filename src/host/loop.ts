// Loop devices over backing files. Which device serves which file is read from sysfs (the kernel's
// own record, so it survives restarts of whoever attached it); changes go through losetup(8).
// sysfs lives in memory: reading it synchronously costs microseconds, far less than a trip through
// libuv's thread pool, which is busy with real disk IO exactly when this runs.
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Exec } from './exec.js';
import { readProcFile } from './proc-file.js';

export interface LoopDevice {
  /** "/dev/loop3" */
  device: string;
  /** "7:3", as mountinfo reports mounts of the device. */
  majorMinor: string;
  backingFile: string;
}

export interface LoopDevicesOptions {
  exec: Exec;
  /** Where sysfs is mounted; tests may point it at a fake tree. */
  sysRoot?: string;
  /**
   * The kernel's list of block devices that have a size (/proc/partitions, the default with the
   * real sysfs; none with a fake sysRoot unless given): findByFile reads only the loop devices it
   * names instead of asking sysfs about every device, most of which are detached.
   */
  partitionsFile?: string;
  /**
   * Reuse what was read of an attached device until its sysfs loop/ folder is a new one (default
   * with the real sysfs, whose folders never get an inode number used before; a fake tree's may).
   */
  reuseAttachments?: boolean;
}

/** `losetup -j` output: `/dev/loop0: [2049]:1234 (/data/vol.img)`. */
export function parseLosetupAssociations(stdout: string): { device: string; backingFile: string }[] {
  const out: { device: string; backingFile: string }[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^(\/dev\/loop\d+): \[[^\]]*\]:\d+ \((.*)\)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) out.push({ device: match[1], backingFile: match[2] });
  }
  return out;
}

/** sysfs appends " (deleted)" when the backing file was unlinked while attached. */
export function cleanBackingFile(raw: string): string {
  return raw.replace(/\n$/, '').replace(/ \(deleted\)$/, '');
}

function canonical(file: string): string {
  try {
    return realpathSync.native(file); // one system call; the JS version lstats every component
  } catch {
    return path.resolve(file);
  }
}

export class LoopDevices {
  private readonly exec: Exec;
  private readonly sysRoot: string;
  private readonly partitionsFile: string | undefined;
  private readonly reuseAttachments: boolean;
  private sysfs: boolean | undefined;
  /** What each attached device's loop/ folder said, by the folder's identity (see read). */
  private readonly attachments = new Map<string, { identity: string; device: LoopDevice }>();

  constructor(options: LoopDevicesOptions) {
    this.exec = options.exec;
    this.sysRoot = options.sysRoot ?? '/sys';
    this.partitionsFile = options.partitionsFile ?? (options.sysRoot ? undefined : '/proc/partitions');
    this.reuseAttachments = options.reuseAttachments ?? !options.sysRoot;
  }

  /** Every attached loop device with its backing file. */
  async list(): Promise<LoopDevice[]> {
    return this.loopNames()
      .map((name) => this.read(name))
      .filter((device): device is LoopDevice => device !== undefined);
  }

  /**
   * Devices whose backing file is `file` (compared by canonical path). A device the kernel gives
   * size 0 (a file of 0 bytes, where nothing can be stored) is not listed in /proc/partitions and
   * not found; volumes are never empty.
   */
  async findByFile(file: string): Promise<LoopDevice[]> {
    if (!this.hasSysfs()) return this.findWithLosetup(canonical(file));
    const devices = (this.loopsWithSize() ?? this.loopNames())
      .map((name) => this.read(name))
      .filter((device): device is LoopDevice => device !== undefined);
    if (devices.length === 0) return devices; // the usual answer, without resolving the path
    const wanted = canonical(file);
    return devices.filter((device) => device.backingFile === wanted);
  }

  async get(device: string): Promise<LoopDevice | undefined> {
    return this.read(path.basename(device));
  }

  /** Attaches a free loop device to `file`; returns it. */
  async attach(file: string): Promise<LoopDevice> {
    const { stdout } = await this.exec.run('losetup', ['-f', '--show', file]);
    const device = stdout.trim();
    const loop = await this.get(device);
    if (!loop) throw new Error(`losetup attached ${file} to ${device} but sysfs does not show it`);
    return loop;
  }

  /** Detaches `device` (a busy device is detached by the kernel once its last user closes it). */
  async detach(device: string): Promise<void> {
    await this.exec.run('losetup', ['-d', device]);
  }

  /** Makes the device see a backing file that grew. */
  async refreshSize(device: string): Promise<void> {
    await this.exec.run('losetup', ['-c', device]);
  }

  /** Size of the device in bytes, as the kernel sees it now. */
  async sizeBytes(device: string): Promise<bigint> {
    const sectors = readFileSync(path.join(this.sysRoot, 'block', path.basename(device), 'size'), 'utf8');
    return BigInt(sectors.trim()) * 512n;
  }

  /** Whether sysfs is there, asked once (it does not come or go while we run). */
  private hasSysfs(): boolean {
    this.sysfs ??= existsSync(path.join(this.sysRoot, 'block'));
    return this.sysfs;
  }

  /** Without sysfs (some containers), losetup -j answers the same question. */
  private async findWithLosetup(file: string): Promise<LoopDevice[]> {
    const { stdout } = await this.exec.run('losetup', ['-j', file]);
    const out: LoopDevice[] = [];
    for (const { device, backingFile } of parseLosetupAssociations(stdout)) {
      const { stdout: numbers } = await this.exec.run('lsblk', ['-dno', 'MAJ:MIN', device]);
      out.push({ device, majorMinor: numbers.trim(), backingFile });
    }
    return out;
  }

  /** Loop devices with a size, from the partitions file; undefined when there is none to read. */
  private loopsWithSize(): string[] | undefined {
    if (!this.partitionsFile) return undefined;
    let text: string;
    try {
      text = readProcFile(this.partitionsFile);
    } catch {
      return undefined;
    }
    // "major minor #blocks name" lines under a header
    return [...text.matchAll(/\s(loop\d+)$/gm)].map((match) => match[1]!);
  }

  private loopNames(): string[] {
    return readdirSync(path.join(this.sysRoot, 'block')).filter((name) => /^loop\d+$/.test(name));
  }

  /**
   * The device if it is attached. A detached device has no loop/ folder; each attach makes a new
   * one (a new inode), so what was read of the folder is reused until the folder changes: a
   * lookup costs one stat per attached device instead of three file reads (the backing file's
   * path is the one it had when attached). Asking without an exception matters: a thrown ENOENT
   * (with its stack) costs more than the reads.
   */
  private read(name: string): LoopDevice | undefined {
    const dir = path.join(this.sysRoot, 'block', name);
    const folder = statSync(path.join(dir, 'loop'), { throwIfNoEntry: false });
    if (!folder) {
      this.attachments.delete(name);
      return undefined;
    }
    const identity = `${folder.ino}:${folder.ctimeMs}`;
    const known = this.attachments.get(name);
    if (known?.identity === identity) return known.device;
    try {
      const backing = readFileSync(path.join(dir, 'loop', 'backing_file'), 'utf8');
      const dev = readFileSync(path.join(dir, 'dev'), 'utf8');
      const device = {
        device: `/dev/${name}`,
        majorMinor: dev.trim(),
        backingFile: cleanBackingFile(backing),
      };
      if (this.reuseAttachments) this.attachments.set(name, { identity, device });
      return device;
    } catch {
      this.attachments.delete(name);
      return undefined; // detached meanwhile
    }
  }
}
