// Watches the plugins_registry directory for registration sockets, like kubelet's plugin watcher:
// inotify (fs.watch) for promptness plus a periodic rescan, because inotify can miss events and a
// plugin that failed to register must be tried again. Files whose name starts with "." are ignored.
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Clock, TimerHandle } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';

export interface PluginWatcherOptions {
  dir: string;
  /** Try to register the plugin behind a socket; false (or a throw) = try again on a later scan. */
  onAdd(socketPath: string): Promise<boolean>;
  onRemove(socketPath: string): Promise<void>;
  /** Rescan period. Default 2000 ms. */
  pollMs?: number;
  clock?: Clock;
  log?: Logger;
}

export class PluginWatcher {
  private readonly dir: string;
  private readonly options: PluginWatcherOptions;
  private readonly pollMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Sockets registered successfully, by path. */
  private readonly registered = new Set<string>();
  private watcher: FSWatcher | undefined;
  private timer: TimerHandle | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private rescanWanted = false;
  private stopped = false;

  constructor(options: PluginWatcherOptions) {
    this.dir = options.dir;
    this.options = options;
    this.pollMs = options.pollMs ?? 2000;
    this.clock = options.clock ?? systemClock;
    this.log = (options.log ?? silentLogger).child({ component: 'plugin-watcher' });
  }

  async start(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o750 });
    try {
      this.watcher = watch(this.dir, () => this.requestScan());
      this.watcher.on('error', (err) => this.log.warn('watching plugins_registry failed', { err }));
    } catch (err) {
      this.log.warn('cannot watch plugins_registry; polling only', { err });
    }
    await this.scan();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.timer?.cancel();
    await this.scanning;
  }

  /** Resolves after a full scan that started after this call. */
  async rescan(): Promise<void> {
    await this.scanning;
    await this.scan();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.requestScan();
      this.schedule();
    }, this.pollMs);
  }

  private requestScan(): void {
    if (this.stopped) return;
    if (this.rescanWanted) return;
    this.rescanWanted = true;
    this.scanning = this.scanning.then(() => {
      this.rescanWanted = false;
      return this.scanOnce();
    });
  }

  private scan(): Promise<void> {
    this.scanning = this.scanning.then(() => this.scanOnce());
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    if (this.stopped) return;
    const present = new Set<string>();
    let names: string[] = [];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      this.log.warn('cannot read plugins_registry', { err });
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const socketPath = path.join(this.dir, name);
      try {
        if (!(await fs.lstat(socketPath)).isSocket()) continue;
      } catch {
        continue;
      }
      present.add(socketPath);
      if (this.registered.has(socketPath) || this.stopped) continue;
      try {
        if (await this.options.onAdd(socketPath)) this.registered.add(socketPath);
      } catch (err) {
        this.log.warn('plugin registration failed; will retry', { socketPath, err });
      }
    }
    for (const socketPath of [...this.registered]) {
      if (present.has(socketPath)) continue;
      this.registered.delete(socketPath);
      try {
        await this.options.onRemove(socketPath);
      } catch (err) {
        this.log.warn('plugin deregistration failed', { socketPath, err });
      }
    }
  }
}
