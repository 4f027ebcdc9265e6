// Turning an RBD image into a local block device, three ways: the kernel client (`rbd device map`,
// krbd), rbd-nbd, or rbd-fuse plus a loop device over the image file it serves — the one that
// works on kernels without the rbd and nbd modules.
import { existsSync, promises as fs, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { sleep, systemClock } from '../../machinery/clock.js';
import type { Exec } from '../../host/exec.js';
import { ExecError } from '../../host/exec.js';
import type { LoopDevices } from '../../host/loop.js';
import type { Mounter } from '../../host/mounter.js';
import type { CephCli, CephTarget } from './ceph-cli.js';
import type { MounterName } from './config.js';
import type { ImageSpec } from './images.js';

export interface Mapping {
  device: string;
  /** rbd-fuse only: where the image file is served, and the daemon serving it. */
  fuseDir?: string;
  fusePid?: number;
}

export interface MapRequest {
  target: CephTarget;
  image: ImageSpec;
  readonly: boolean;
  /** A private directory rbd-fuse may mount on. */
  fuseDir: string;
}

export interface ImageMapper {
  readonly name: MounterName;
  map(request: MapRequest): Promise<Mapping>;
  unmap(mapping: Mapping, image: ImageSpec): Promise<void>;
  /** Does the device still serve this image (after a driver restart, say)? */
  isMapped(mapping: Mapping, image: ImageSpec): Promise<boolean>;
  /** Makes the device see an image that grew. */
  refreshSize(mapping: Mapping): Promise<void>;
}

/** krbd and rbd-nbd: `rbd device map` prints the device; the kernel follows resizes itself. */
export class KernelMapper implements ImageMapper {
  readonly name: MounterName;
  private readonly cli: CephCli;
  private readonly exec: Exec;
  private readonly deviceType: 'krbd' | 'nbd';

  constructor(options: { cli: CephCli; exec: Exec; name: 'krbd' | 'rbd-nbd' }) {
    this.cli = options.cli;
    this.exec = options.exec;
    this.name = options.name;
    this.deviceType = options.name === 'krbd' ? 'krbd' : 'nbd';
  }

  async map(request: MapRequest): Promise<Mapping> {
    const args = ['device', 'map', '--device-type', this.deviceType];
    if (request.readonly) args.push('--read-only');
    const stdout = await this.cli.rbd(request.target, [
      ...args,
      `${request.image.pool}/${request.image.image}`,
    ]);
    const device = stdout.trim().split('\n').pop() ?? '';
    if (!device.startsWith('/dev/')) throw new Error(`rbd device map printed no device: ${stdout}`);
    return { device };
  }

  async unmap(mapping: Mapping): Promise<void> {
    try {
      await this.exec.run('rbd', ['device', 'unmap', '--device-type', this.deviceType, mapping.device]);
    } catch (err) {
      if (err instanceof ExecError && /not a mapped image|No such file/.test(err.stderr)) return;
      throw err;
    }
  }

  async isMapped(mapping: Mapping): Promise<boolean> {
    return existsSync(mapping.device);
  }

  async refreshSize(): Promise<void> {}
}

export interface FuseMapperOptions {
  cli: CephCli;
  loops: LoopDevices;
  mounter: Mounter;
  /** Where /proc is; tests may point it elsewhere. */
  procRoot?: string;
  /** How long to wait for rbd-fuse to serve the image, and to exit after unmount. */
  waitMs?: number;
}

/** rbd-fuse serves the one image as a file; a loop device over that file is the block device. */
export class FuseMapper implements ImageMapper {
  readonly name: MounterName = 'rbd-fuse';
  private readonly cli: CephCli;
  private readonly loops: LoopDevices;
  private readonly mounter: Mounter;
  private readonly procRoot: string;
  private readonly waitMs: number;

  constructor(options: FuseMapperOptions) {
    this.cli = options.cli;
    this.loops = options.loops;
    this.mounter = options.mounter;
    this.procRoot = options.procRoot ?? '/proc';
    this.waitMs = options.waitMs ?? 15_000;
  }

  async map(request: MapRequest): Promise<Mapping> {
    const { fuseDir, image } = request;
    const file = path.join(fuseDir, image.image);
    await fs.mkdir(fuseDir, { recursive: true, mode: 0o700 });
    if (!(await this.mounter.isMountPoint(fuseDir))) {
      // rbd-fuse daemonizes and reads the key as it connects: the key file stays until it serves.
      await this.cli.run('rbd-fuse', request.target, ['-p', image.pool, '-r', image.image, fuseDir], {
        keepKeyWhile: () => this.waitForFile(file),
      });
    }
    const fusePid = this.daemonPid(fuseDir);
    try {
      const existing = (await this.loops.findByFile(file))[0];
      const loop = existing ?? (await this.loops.attach(file));
      return { device: loop.device, fuseDir, ...(fusePid === undefined ? {} : { fusePid }) };
    } catch (err) {
      await this.unmountFuse(fuseDir, fusePid).catch(() => undefined);
      throw err;
    }
  }

  async unmap(mapping: Mapping, image: ImageSpec): Promise<void> {
    if (!mapping.fuseDir) return;
    const file = path.join(mapping.fuseDir, image.image);
    if (await this.mounter.isMountPoint(mapping.fuseDir)) {
      for (const loop of await this.loops.findByFile(file)) await this.loops.detach(loop.device);
    }
    await this.unmountFuse(mapping.fuseDir, mapping.fusePid ?? this.daemonPid(mapping.fuseDir));
  }

  async isMapped(mapping: Mapping, image: ImageSpec): Promise<boolean> {
    if (!mapping.fuseDir) return false;
    const loop = await this.loops.get(mapping.device);
    return loop?.backingFile === path.join(mapping.fuseDir, image.image);
  }

  async refreshSize(mapping: Mapping): Promise<void> {
    await this.loops.refreshSize(mapping.device);
  }

  private async waitForFile(file: string): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    while (Date.now() < deadline) {
      if (
        await fs.stat(file).then(
          () => true,
          () => false,
        )
      )
        return;
      await sleep(systemClock, 50);
    }
    throw new Error(`rbd-fuse did not serve ${file} within ${this.waitMs} ms`);
  }

  /** The rbd-fuse daemon serving `fuseDir`, found by its command line (it daemonizes). */
  daemonPid(fuseDir: string): number | undefined {
    for (const name of readdirSync(this.procRoot)) {
      if (!/^\d+$/.test(name)) continue;
      let argv: string[];
      try {
        argv = readFileSync(path.join(this.procRoot, name, 'cmdline'), 'utf8').split('\0');
      } catch {
        continue;
      }
      if (path.basename(argv[0] ?? '') === 'rbd-fuse' && argv.includes(fuseDir)) return Number(name);
    }
    return undefined;
  }

  private alive(pid: number): boolean {
    try {
      const stat = readFileSync(path.join(this.procRoot, String(pid), 'stat'), 'utf8');
      return !/^\d+ \([^)]*\) Z/.test(stat); // a zombie has let go of the image already
    } catch {
      return false;
    }
  }

  /** Unmounting ends rbd-fuse; waiting for it means the image has no watcher from us afterwards. */
  private async unmountFuse(fuseDir: string, pid: number | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.mounter.unmount(fuseDir);
        break;
      } catch (err) {
        // A loop device just detached may hold the file for a moment longer.
        if (attempt >= 20 || !(err instanceof ExecError && /busy/.test(err.stderr))) throw err;
        await sleep(systemClock, 100);
      }
    }
    if (pid !== undefined) {
      const deadline = Date.now() + this.waitMs;
      while (this.alive(pid) && Date.now() < deadline) await sleep(systemClock, 50);
      // Only the daemon we started for this directory, checked again by its command line.
      if (this.alive(pid) && this.daemonPid(fuseDir) === pid) process.kill(pid, 'SIGTERM');
    }
    await fs.rmdir(fuseDir).catch(() => undefined);
  }
}
