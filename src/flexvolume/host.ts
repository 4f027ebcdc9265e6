// The FlexVolume host: kubelet's and the attach/detach controller's side of the exec protocol. Each
// method is one call-out with kubelet's argv and JSON options; when a driver answers "Not supported"
// the command is remembered and berth's default is used instead (attach: nothing to do; mountdevice:
// format and mount the device, or nothing without one; mount: bind the device mount; unmount and
// unmountdevice: berth unmounts; getvolumename: the spec's name; isattached: yes).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Pod, Secret } from '../api/types.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import type { Exec } from '../host/exec.js';
import { Filesystems, isSupportedFsType } from '../host/filesystem.js';
import type { Mounter } from '../host/mounter.js';
import { callDriver, type CallResult, DEFAULT_CALL_TIMEOUT_MS, type FlexCommand, FlexError } from './call.js';
import type { FlexDriver, FlexDriverLookup } from './discovery.js';
import { isSafeSegment } from '../volume/flex-names.js';
import { buildOptions, type FlexOptions, podFsGroup, secretRefOf } from './options.js';
import { applyFsGroup } from './ownership.js';
import type { AttachOperations, FlexVolumeSpec } from '../volume/flex-spec.js';

export type SecretReader = (namespace: string, name: string) => Promise<Secret | undefined>;

export interface FlexVolumeHostOptions {
  drivers: FlexDriverLookup;
  exec: Exec;
  mounter: Mounter;
  /** Reads the secret a flexVolume.secretRef names. Without it, a volume with a secretRef fails. */
  readSecret?: SecretReader;
  /** Timeout of every call-out. Default 2 minutes. */
  timeoutMs?: number;
  /** Timeout of waitforattach. Default: timeoutMs. */
  waitForAttachTimeoutMs?: number;
  log?: Logger;
}

export class FlexVolumeHost implements AttachOperations {
  private readonly drivers: FlexDriverLookup;
  private readonly exec: Exec;
  private readonly mounter: Mounter;
  private readonly filesystems: Filesystems;
  private readonly readSecret: SecretReader | undefined;
  private readonly timeoutMs: number;
  private readonly waitTimeoutMs: number;
  private readonly log: Logger;

  constructor(options: FlexVolumeHostOptions) {
    this.drivers = options.drivers;
    this.exec = options.exec;
    this.mounter = options.mounter;
    this.filesystems = new Filesystems({ exec: options.exec });
    this.readSecret = options.readSecret;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.waitTimeoutMs = options.waitForAttachTimeoutMs ?? this.timeoutMs;
    this.log = (options.log ?? silentLogger).child({ component: 'flexvolume-host' });
  }

  /** The driver's capabilities (throws NoDriver if it is not installed). */
  driver(name: string): FlexDriver {
    const driver = this.drivers.get(name);
    if (!driver) {
      throw new FlexError('NoDriver', name, 'init', 'no such driver is installed (or its init fails)');
    }
    return driver;
  }

  /** getvolumename, or the spec's name when the driver does not name volumes. */
  async volumeName(spec: FlexVolumeSpec): Promise<string> {
    const result = await this.call(spec.driver, 'getvolumename', [json(buildOptions(spec))]);
    const named = result.supported ? result.status.volumeName : undefined;
    if (named && isSafeSegment(named)) return named;
    if (named)
      this.log.warn('ignoring a volume name that is not a path segment', { driver: spec.driver, named });
    return spec.name;
  }

  async attach(spec: FlexVolumeSpec, nodeName: string): Promise<string> {
    const result = await this.call(spec.driver, 'attach', [json(buildOptions(spec)), nodeName]);
    return result.supported ? (result.status.device ?? '') : '';
  }

  async detach(volumeName: string, nodeName: string, driver: string): Promise<void> {
    await this.call(driver, 'detach', [volumeName, nodeName]);
  }

  /** Waits for the device to show up on this node; returns its path. */
  async waitForAttach(spec: FlexVolumeSpec, device: string): Promise<string> {
    const result = await this.call(spec.driver, 'waitforattach', [device, json(buildOptions(spec))], {
      timeoutMs: this.waitTimeoutMs,
    });
    return result.supported ? result.status.device || device : device;
  }

  async isAttached(spec: FlexVolumeSpec, nodeName: string): Promise<boolean> {
    const result = await this.call(spec.driver, 'isattached', [json(buildOptions(spec)), nodeName]);
    return result.supported ? result.status.attached === true : true;
  }

  /** Mounts the device at the volume's global directory (once per node). */
  async mountDevice(globalDir: string, device: string, spec: FlexVolumeSpec, pod?: Pod): Promise<void> {
    await fs.mkdir(globalDir, { recursive: true, mode: 0o750 });
    if (await this.mounter.isMountPoint(globalDir)) return;
    const options = buildOptions(spec, await this.secretFor(spec, pod?.metadata.namespace));
    const result = await this.call(spec.driver, 'mountdevice', [globalDir, device, json(options)]);
    if (result.supported || device === '') return;
    await this.formatAndMount(device, globalDir, spec);
  }

  async unmountDevice(globalDir: string, driver: string = driverOfDeviceMountPath(globalDir)): Promise<void> {
    if (!(await exists(globalDir))) return;
    if (await this.mounter.isMountPoint(globalDir)) {
      const result = await this.call(driver, 'unmountdevice', [globalDir]);
      if (!result.supported) await this.mounter.unmount(globalDir);
    }
    await this.removeMountDir(globalDir);
  }

  /** mount: the pod's view of the volume; `globalDir` is what the default bind-mounts. */
  async setUp(podDir: string, spec: FlexVolumeSpec, pod: Pod, globalDir?: string): Promise<void> {
    await fs.mkdir(podDir, { recursive: true, mode: 0o750 });
    if (await this.mounter.isMountPoint(podDir)) return;
    const driver = this.driver(spec.driver);
    const options = buildOptions(spec, { pod, ...(await this.secretFor(spec, pod.metadata.namespace)) });
    const result = await this.call(spec.driver, 'mount', [podDir, json(options)]);
    if (!result.supported) {
      if (!globalDir || !(await this.mounter.isMountPoint(globalDir))) {
        throw new FlexError(
          'Failure',
          spec.driver,
          'mount',
          'is not supported and no device is mounted to bind',
        );
      }
      await this.mounter.bindMount(globalDir, podDir, { readonly: spec.readOnly });
    }
    const fsGroup = podFsGroup(pod);
    if (fsGroup !== undefined && !spec.readOnly && driver.capabilities.fsGroup) {
      await applyFsGroup(podDir, fsGroup);
    }
  }

  /** unmount, then the pod's directory goes (never while something is still mounted there). */
  async tearDown(podDir: string, driver: string = driverOfPodVolumePath(podDir)): Promise<void> {
    if (!(await exists(podDir))) return;
    const result = await this.call(driver, 'unmount', [podDir]);
    if (!result.supported) await this.mounter.unmount(podDir);
    await this.removeMountDir(podDir);
  }

  private async call(
    driverName: string,
    command: FlexCommand,
    args: string[],
    options: { timeoutMs?: number } = {},
  ): Promise<CallResult> {
    const driver = this.driver(driverName);
    if (driver.unsupported.has(command)) return { supported: false, message: 'cached' };
    const result = await callDriver(this.exec, { driver: driver.name, path: driver.path }, command, args, {
      timeoutMs: options.timeoutMs ?? this.timeoutMs,
    });
    if (!result.supported) {
      driver.unsupported.add(command);
      this.log.info('driver does not support a command; using the default from now on', {
        driver: driver.name,
        command,
      });
    }
    return result;
  }

  private async secretFor(
    spec: FlexVolumeSpec,
    podNamespace: string | undefined,
  ): Promise<{ secret?: Secret }> {
    const ref = secretRefOf(spec, podNamespace);
    if (!ref) return {};
    const secret = await this.readSecret?.(ref.namespace, ref.name);
    if (!secret) {
      throw new FlexError('Failure', spec.driver, 'mount', `cannot read secret ${ref.namespace}/${ref.name}`);
    }
    return { secret };
  }

  /** Default mountdevice: format a blank device with the spec's fsType (ext4), then mount it. */
  private async formatAndMount(device: string, dir: string, spec: FlexVolumeSpec): Promise<void> {
    const wanted = spec.source.fsType || 'ext4';
    const existing = await this.filesystems.probe(device);
    if (!existing) {
      if (spec.readOnly) throw new Error(`${device} has no filesystem and the volume is read-only`);
      if (!isSupportedFsType(wanted)) throw new Error(`cannot format ${device} as ${wanted}`);
      await this.filesystems.format(device, wanted);
    }
    await this.mounter.mount(device, dir, {
      fsType: existing ?? wanted,
      flags: [spec.readOnly ? 'ro' : 'rw'],
    });
  }

  private async removeMountDir(dir: string): Promise<void> {
    if (await this.mounter.isMountPoint(dir)) throw new Error(`${dir} is still mounted; not removing it`);
    await fs.rmdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

function json(options: FlexOptions): string {
  return JSON.stringify(options);
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** .../volumes/<vendor>~<driver>/<volumeName> -> "vendor/driver" */
export function driverOfPodVolumePath(podDir: string): string {
  return path.basename(path.dirname(podDir)).replace('~', '/');
}

/** .../flexvolume/<vendor>/<driver>/mounts/<volumeName> -> "vendor/driver" */
export function driverOfDeviceMountPath(globalDir: string): string {
  const driverDir = path.dirname(path.dirname(globalDir));
  return `${path.basename(path.dirname(driverDir))}/${path.basename(driverDir)}`;
}
