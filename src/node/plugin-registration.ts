// How CSI drivers come to the node agent: endpoints given at start (retried with back-off until
// they answer), and kubelet-style registration sockets appearing in plugins_registry (GetInfo,
// then NotifyRegistrationStatus); a socket that goes unregisters its driver.
import type { Clock, Logger } from '../machinery/index.js';
import { PluginWatcher } from './plugin-watcher.js';
import { CSI_PLUGIN_TYPE, highestSupportedVersion, RegistrationClient } from './registration-protocol.js';
import type { DriverEndpoint, DriverRegistry } from './registration.js';

export interface PluginRegistrationDeps {
  registry: DriverRegistry;
  /** Deadline of registration calls (at most 10 s). */
  csiTimeoutMs: number;
  clock: Clock;
  log: Logger;
  /** Runs `fn` after `ms` unless the agent stopped meanwhile. */
  after(ms: number, fn: () => void): void;
  isStopped(): boolean;
}

export class PluginRegistration {
  private readonly deps: PluginRegistrationDeps;
  /** Registration socket -> the driver it registered. */
  private readonly socketDrivers = new Map<string, DriverEndpoint>();
  private watcher: PluginWatcher | undefined;

  constructor(deps: PluginRegistrationDeps) {
    this.deps = deps;
  }

  /** Registers `target`, retrying in the background (1 s doubling to 30 s) until it answers. */
  async registerWithRetry(target: DriverEndpoint, failures = 0): Promise<void> {
    if (this.deps.isStopped()) return;
    try {
      await this.deps.registry.register(target);
    } catch (err) {
      const delay = Math.min(1000 * 2 ** failures, 30_000);
      this.deps.log.warn('CSI driver registration failed; retrying', {
        driver: target.name,
        endpoint: target.endpoint,
        err,
        retryInMs: delay,
      });
      this.deps.after(delay, () => void this.registerWithRetry(target, failures + 1));
    }
  }

  /** Watches `dir` for registration sockets. */
  async watch(dir: string, pollMs: number): Promise<void> {
    this.watcher = new PluginWatcher({
      dir,
      onAdd: (socket) => this.onSocket(socket),
      onRemove: (socket) => this.onSocketGone(socket),
      pollMs,
      clock: this.deps.clock,
      log: this.deps.log,
    });
    await this.watcher.start();
  }

  async stop(): Promise<void> {
    await this.watcher?.stop();
  }

  private async onSocket(socketPath: string): Promise<boolean> {
    const { registry, log } = this.deps;
    const reg = new RegistrationClient(socketPath, Math.min(this.deps.csiTimeoutMs, 10_000));
    try {
      const info = await reg.getInfo();
      const problem = rejection(info.type, info.supported_versions);
      if (problem) {
        log.warn('plugin rejected', { socketPath, name: info.name, problem });
        await reg
          .notifyRegistrationStatus({ plugin_registered: false, error: problem })
          .catch(() => undefined);
        return true; // retrying cannot help; a new socket gets a new try
      }
      try {
        await registry.register({ name: info.name, endpoint: info.endpoint });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        await reg.notifyRegistrationStatus({ plugin_registered: false, error }).catch(() => undefined);
        throw err;
      }
      this.socketDrivers.set(socketPath, { name: info.name, endpoint: info.endpoint });
      await reg
        .notifyRegistrationStatus({ plugin_registered: true, error: '' })
        .catch((err: unknown) => log.warn('NotifyRegistrationStatus failed', { socketPath, err }));
      return true;
    } finally {
      reg.close();
    }
  }

  private async onSocketGone(socketPath: string): Promise<void> {
    const d = this.socketDrivers.get(socketPath);
    this.socketDrivers.delete(socketPath);
    if (d) await this.deps.registry.unregister(d.name, d.endpoint);
  }
}

/** Why a plugin cannot be registered (not CSI, or no version in common), or undefined. */
function rejection(type: string, versions: string[]): string | undefined {
  if (type !== CSI_PLUGIN_TYPE) return `plugin type ${type} is not supported by the berth node agent`;
  const v = highestSupportedVersion(versions);
  return 'error' in v ? v.error : undefined;
}
