// A berth CSI driver as a kubelet node plugin (cluster mode): the driver serves on its CSI socket,
// and a pluginregistration.v1 Registration server next to it tells the kubelet where to dial it,
// as node-driver-registrar does for other drivers. A kubelet that reports the registration failed
// ends the plugin, so the container restarts and the kubelet tries again.
import { isAbsolute, join } from 'node:path';
import { CsiClient } from '../csi/client.js';
import type { Logger } from '../machinery/logger.js';
import { serveRegistrar } from '../node/index.js';
import type { RegistrationStatus } from '../node/index.js';
import { UsageError } from './io.js';

export const DEFAULT_PLUGIN_REGISTRATION_DIR = '/var/lib/kubelet/plugins_registry';

interface StartedDriver {
  shutdown(): Promise<void>;
}

type DriverStarter = (argv: string[], log: Logger) => Promise<StartedDriver>;

/** Each built-in driver: parse its own flags (an --endpoint included), start it. */
const starters: Record<string, () => Promise<DriverStarter>> = {
  local: async () => {
    const { parseLocalDriverArgs, startLocalDriver } = await import('../drivers/local/index.js');
    return (argv, log) => startLocalDriver({ ...parseLocalDriverArgs(argv, {}), log });
  },
  nfs: async () => {
    const { parseNfsDriverArgs, startNfsDriver } = await import('../drivers/nfs/index.js');
    return (argv, log) => startNfsDriver({ ...parseNfsDriverArgs(argv, {}), log });
  },
  rbd: async () => {
    const { parseRbdDriverArgs, startRbdDriver } = await import('../drivers/rbd/index.js');
    return (argv, log) => startRbdDriver({ ...parseRbdDriverArgs(argv, {}), log });
  },
};

export const NODE_PLUGIN_DRIVERS = Object.keys(starters);

export interface NodePluginOptions {
  driver: string;
  /** Where the driver serves, as this process sees it. */
  csiAddress: string;
  /** Where the kubelet dials the driver (the host's path of the same socket). */
  kubeletRegistrationPath: string;
  /** The kubelet's plugins_registry directory; the Registration socket is <dir>/<driver name>-reg.sock. */
  registrationDir: string;
  /** The driver's own flags (--node-id, --data-dir, --config, ...), without --endpoint. */
  driverArgs: readonly string[];
  log: Logger;
  /** How long to wait for the driver's GetPluginInfo; default 30 s. */
  timeoutMs?: number;
}

export interface NodePluginHandle {
  driverName: string;
  registrationSocket: string;
  /** Resolves with the kubelet's error once it reports the registration failed. */
  registrationFailed: Promise<string>;
  shutdown(): Promise<void>;
}

export function validateNodePluginOptions(o: NodePluginOptions): void {
  if (!NODE_PLUGIN_DRIVERS.includes(o.driver)) {
    throw new UsageError(
      `invalid argument "${o.driver}" for "--driver" flag: expected one of ${NODE_PLUGIN_DRIVERS.join(', ')}`,
    );
  }
  if (!o.csiAddress) throw new UsageError('node-plugin: --csi-address is required');
  if (!o.kubeletRegistrationPath)
    throw new UsageError('node-plugin: --kubelet-registration-path is required');
  // The kubelet resolves the path on the host, where a relative path means nothing.
  if (!isAbsolute(o.kubeletRegistrationPath.replace(/^unix:\/\//, ''))) {
    throw new UsageError(
      `invalid argument "${o.kubeletRegistrationPath}" for "--kubelet-registration-path" flag: must be an absolute path`,
    );
  }
  if (o.driverArgs.some((a) => a === '--endpoint' || a.startsWith('--endpoint='))) {
    throw new UsageError('node-plugin: the driver serves on --csi-address; do not pass --endpoint');
  }
}

export async function startNodePlugin(o: NodePluginOptions): Promise<NodePluginHandle> {
  validateNodePluginOptions(o);
  const starter = await starters[o.driver]!();
  let driver: StartedDriver;
  try {
    driver = await starter(['--endpoint', o.csiAddress, ...o.driverArgs], o.log);
  } catch (err) {
    // the drivers' parsers throw plain errors carrying their usage line
    throw new UsageError(`node-plugin --driver=${o.driver}: ${(err as Error).message}`);
  }
  let driverName: string;
  const csi = new CsiClient(o.csiAddress, { timeoutMs: o.timeoutMs ?? 30_000 });
  try {
    // the name the kubelet registers is the one the driver itself reports
    driverName = (await csi.getPluginInfo()).name;
  } catch (err) {
    await driver.shutdown();
    throw err;
  } finally {
    csi.close();
  }
  let reportFailure: (error: string) => void = () => undefined;
  const registrationFailed = new Promise<string>((resolve) => (reportFailure = resolve));
  const registrar = await serveRegistrar({
    socketPath: join(o.registrationDir, `${driverName}-reg.sock`),
    driverName,
    endpoint: o.kubeletRegistrationPath,
    onStatus: (status: RegistrationStatus) => {
      if (status.plugin_registered) {
        o.log.info('registered with the kubelet', { driver: driverName });
      } else {
        o.log.error('registration process failed; restarting the node plugin', {
          driver: driverName,
          error: status.error,
        });
        reportFailure(status.error || 'registration failed');
      }
    },
  });
  o.log.info('node plugin serving', {
    driver: driverName,
    csiAddress: o.csiAddress,
    registrationSocket: registrar.socketPath,
    kubeletRegistrationPath: o.kubeletRegistrationPath,
  });
  return {
    driverName,
    registrationSocket: registrar.socketPath,
    registrationFailed,
    shutdown: async () => {
      // the registration socket goes first: its removal is how the kubelet learns we left
      await registrar.shutdown();
      await driver.shutdown();
    },
  };
}
