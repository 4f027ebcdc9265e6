// Finds FlexVolume drivers in <root>/volume-plugins/<vendor>~<driver>/<driver>, runs `init` on each
// new or changed executable and keeps the capabilities it reports; a driver whose directory goes
// away is forgotten. inotify (fs.watch) makes changes prompt; a periodic rescan catches what it
// misses and retries drivers whose init failed, with back-off.
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Clock, TimerHandle } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { ItemExponentialFailureRateLimiter, type RateLimiter } from '../machinery/rate-limiter.js';
import type { Exec } from '../host/exec.js';
import { callDriver, type FlexCommand } from './call.js';
import { parsePluginDirName } from '../volume/flex-names.js';

export interface FlexCapabilities {
  attach: boolean;
  selinuxRelabel: boolean;
  supportsMetrics: boolean;
  fsGroup: boolean;
  requiresFSResize: boolean;
}

/** What kubelet assumes for capabilities a driver's init does not mention. */
export const DEFAULT_CAPABILITIES: FlexCapabilities = {
  attach: true,
  selinuxRelabel: true,
  supportsMetrics: false,
  fsGroup: true,
  requiresFSResize: true,
};

export interface FlexDriver {
  /** "vendor/driver" */
  name: string;
  /** The executable. */
  path: string;
  capabilities: FlexCapabilities;
  /** Commands the driver answered "Not supported": the host uses its own default from then on. */
  unsupported: Set<FlexCommand>;
}

export interface FlexDriverLookup {
  get(name: string): FlexDriver | undefined;
}

export type DriverChange = { kind: 'added' | 'updated' | 'removed'; driver: FlexDriver };

export interface FlexDriverProberOptions {
  /** The volume-plugins directory (created if missing). */
  pluginDir: string;
  exec: Exec;
  /** Timeout of each init call. Default 30 s. */
  initTimeoutMs?: number;
  /** Rescan period. Default 5 s; 0 = no periodic rescan. */
  pollMs?: number;
  /** Watch the directory with inotify. Default true. */
  watch?: boolean;
  /** Back-off between init retries of a driver that failed it. Default 1 s doubling to 5 min. */
  initRetry?: RateLimiter;
  onChange?: (change: DriverChange) => void;
  clock?: Clock;
  log?: Logger;
}

interface Failed {
  fingerprint: string;
  retryAtMs: number;
  reason: string;
}

export class FlexDriverProber implements FlexDriverLookup {
  private readonly options: FlexDriverProberOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly retry: RateLimiter;
  /** By plugin directory name ("vendor~driver"). */
  private readonly drivers = new Map<string, { driver: FlexDriver; fingerprint: string }>();
  private readonly failed = new Map<string, Failed>();
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: TimerHandle | undefined;
  /** Rescans due when a failed init may be retried (by plugin directory name). */
  private readonly retryTimers = new Map<string, TimerHandle>();
  private scanning: Promise<void> = Promise.resolve();
  private rescanWanted = false;
  private stopped = false;

  constructor(options: FlexDriverProberOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.log = (options.log ?? silentLogger).child({ component: 'flexvolume-prober' });
    this.retry = options.initRetry ?? new ItemExponentialFailureRateLimiter(1000, 5 * 60_000);
  }

  async start(): Promise<void> {
    await fs.mkdir(this.options.pluginDir, { recursive: true, mode: 0o750 });
    if (this.options.watch ?? true) this.watchDir('', this.options.pluginDir);
    await this.rescan();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    for (const t of this.retryTimers.values()) t.cancel();
    this.retryTimers.clear();
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.scanning;
  }

  get(name: string): FlexDriver | undefined {
    return this.drivers.get(name.replaceAll('/', '~'))?.driver;
  }

  list(): FlexDriver[] {
    return [...this.drivers.values()].map((d) => d.driver);
  }

  /** Plugin directories that hold no usable driver right now, with the reason. */
  problems(): Map<string, string> {
    return new Map([...this.failed].map(([dir, f]) => [dir, f.reason]));
  }

  /** Resolves after a full scan that started after this call. */
  rescan(): Promise<void> {
    this.scanning = this.scanning.then(() => this.scanOnce());
    return this.scanning;
  }

  private schedule(): void {
    const pollMs = this.options.pollMs ?? 5000;
    if (this.stopped || pollMs <= 0) return;
    this.timer = this.clock.setTimeout(() => {
      this.requestScan();
      this.schedule();
    }, pollMs);
  }

  private requestScan(): void {
    if (this.stopped || this.rescanWanted) return;
    this.rescanWanted = true;
    this.scanning = this.scanning.then(() => {
      this.rescanWanted = false;
      return this.scanOnce();
    });
  }

  private watchDir(key: string, dir: string): void {
    if (this.watchers.has(key) || this.stopped) return;
    try {
      const w = watch(dir, () => this.requestScan());
      w.on('error', () => {
        w.close();
        this.watchers.delete(key);
      });
      this.watchers.set(key, w);
    } catch (err) {
      this.log.debug('cannot watch; relying on rescans', { dir, err });
    }
  }

  private async scanOnce(): Promise<void> {
    if (this.stopped) return;
    let names: string[] = [];
    try {
      names = await fs.readdir(this.options.pluginDir);
    } catch (err) {
      this.log.warn('cannot read the volume plugin directory', { dir: this.options.pluginDir, err });
    }
    const present = new Set<string>();
    for (const dirName of names) {
      const parsed = parsePluginDirName(dirName);
      if (!parsed) continue;
      const dir = path.join(this.options.pluginDir, dirName);
      const executable = path.join(dir, parsed.driver);
      // watched even while empty, so the executable arriving in it is noticed
      this.watchDir(dirName, dir);
      const fingerprint = await fingerprintOf(executable);
      if (fingerprint === undefined) continue; // an empty or half-copied directory
      present.add(dirName);
      if (this.drivers.get(dirName)?.fingerprint === fingerprint) continue;
      const failed = this.failed.get(dirName);
      if (failed?.fingerprint === fingerprint && this.clock.now().getTime() < failed.retryAtMs) continue;
      await this.init(dirName, `${parsed.vendor}/${parsed.driver}`, executable, fingerprint);
    }
    for (const dirName of [...this.drivers.keys()]) {
      if (present.has(dirName)) continue;
      const gone = this.drivers.get(dirName);
      this.drivers.delete(dirName);
      if (gone) this.notify({ kind: 'removed', driver: gone.driver });
    }
    for (const dirName of [...this.failed.keys()]) {
      if (!present.has(dirName)) this.failed.delete(dirName);
    }
    const listed = new Set(names);
    for (const [key, w] of this.watchers) {
      if (key === '' || listed.has(key)) continue;
      w.close();
      this.watchers.delete(key);
    }
  }

  private async init(dirName: string, name: string, executable: string, fingerprint: string): Promise<void> {
    const target = { driver: name, path: executable };
    try {
      const result = await callDriver(this.options.exec, target, 'init', [], {
        timeoutMs: this.options.initTimeoutMs ?? 30_000,
      });
      if (!result.supported) throw new Error('init answered "Not supported"; init is required');
      const reported = result.status.capabilities ?? {};
      const capabilities = { ...DEFAULT_CAPABILITIES };
      for (const key of Object.keys(DEFAULT_CAPABILITIES) as (keyof FlexCapabilities)[]) {
        const value = reported[key];
        if (typeof value === 'boolean') capabilities[key] = value;
      }
      const driver: FlexDriver = { name, path: executable, capabilities, unsupported: new Set() };
      const kind = this.drivers.has(dirName) ? 'updated' : 'added';
      this.drivers.set(dirName, { driver, fingerprint });
      this.failed.delete(dirName);
      this.retry.forget(dirName);
      this.log.info('flexvolume driver ready', { driver: name, capabilities, change: kind });
      this.notify({ kind, driver });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const delay = this.retry.when(dirName);
      this.failed.set(dirName, { fingerprint, retryAtMs: this.clock.now().getTime() + delay, reason });
      // The retry needs a scan: nothing else may come (no rescan period; a failure such as ETXTBSY
      // while the file was still open for writing leaves no further inotify event).
      this.retryTimers.get(dirName)?.cancel();
      if (!this.stopped) {
        this.retryTimers.set(
          dirName,
          this.clock.setTimeout(() => {
            this.retryTimers.delete(dirName);
            this.requestScan();
          }, delay),
        );
      }
      // A driver that no longer initialises is not used, as kubelet skips it.
      const previous = this.drivers.get(dirName);
      this.drivers.delete(dirName);
      if (previous) this.notify({ kind: 'removed', driver: previous.driver });
      this.log.warn('flexvolume driver init failed; skipping it for now', {
        driver: name,
        reason,
        retryInMs: delay,
      });
    }
  }

  private notify(change: DriverChange): void {
    try {
      this.options.onChange?.(change);
    } catch (err) {
      this.log.error('flexvolume driver change handler failed', { err });
    }
  }
}

/** Identity of an executable file's current content; undefined if it is missing or not executable. */
async function fingerprintOf(file: string): Promise<string | undefined> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile() || (st.mode & 0o111) === 0) return undefined;
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.mode}`;
  } catch {
    return undefined;
  }
}
