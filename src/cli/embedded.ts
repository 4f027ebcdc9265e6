// An embedded berth in one process: the store in a data directory, the API server on
// 127.0.0.1, credentials and kubeconfig, and the background components. Used by `up` and `demo`.
import { AdmittedStore, ensureCredentials, startApiServer } from '../apiserver/index.js';
import { systemClock } from '../machinery/clock.js';
import type { Logger } from '../machinery/logger.js';
import { registerProcessMetrics } from '../machinery/process-metrics.js';
import { openEmbeddedStore } from '../store/embedded.js';
import { openEtcdFromFlags, shareThroughEtcd, type EtcdFlags } from './etcd-flags.js';
import type { ObjectStore } from '../store/types.js';
import { startControllers, stopComponents } from './components.js';
import type { DriverEndpoint } from '../node/index.js';
import type { NodeSpec } from './component.js';

export interface EmbeddedBerthOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
  /** Node agents to run in this process. */
  nodes?: readonly NodeSpec[];
  /** Third-party CSI drivers serving on unix sockets. */
  csiDrivers?: readonly DriverEndpoint[];
  /** How long Events live after their last write; default 1 h. */
  eventTtlMs?: number;
  /** --node-monitor-grace-period; default 40 s. */
  nodeMonitorGracePeriodMs?: number;
  /** --attach-detach-reconcile-max-wait-for-unmount-duration; default 6 min. */
  maxWaitForUnmountMs?: number;
  /** Keep the state in this etcd instead of the data directory's embedded store. */
  etcd?: EtcdFlags | undefined;
}

export interface EmbeddedBerth {
  url: string;
  kubeconfigPath: string;
  store: ObjectStore;
  /** Stops components, then the API server, then closes the store (releasing its lock). */
  stop(): Promise<void>;
}

export async function startEmbeddedBerth(options: EmbeddedBerthOptions): Promise<EmbeddedBerth> {
  const { dataDir, logger } = options;
  registerProcessMetrics();
  // Opening the embedded store takes the data directory's lock, so a second berth fails here first.
  const storeLog = logger.child({ component: 'store' });
  const etcd = options.etcd ? await openEtcdFromFlags(options.etcd) : undefined;
  const embedded = etcd
    ? undefined
    : await openEmbeddedStore({
        dataDir,
        log: (message, fields) => storeLog.info(message, fields),
        // a stop after many writes leaves one snapshot, so the next start replays no long log
        compactOnClose: 1_000,
      });
  const store: ObjectStore = etcd ?? embedded!;
  const share = etcd ? shareThroughEtcd(etcd) : undefined;
  const cleanups: (() => Promise<void>)[] = [() => store.close()];
  const unwind = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    // The token exists before the server starts; the kubeconfig is rewritten once the port is known.
    const { token, tls } = await ensureCredentials(dataDir, `https://127.0.0.1:${options.port}`, share);
    const apiLog = logger.child({ component: 'apiserver' });
    const server = await startApiServer({
      store,
      port: options.port,
      token,
      tls,
      ...(embedded ? { backup: () => embedded.backup() } : { prepareNextPages: false }),
      log: (line) => apiLog.debug(line),
    });
    cleanups.push(() => server.close());
    const { kubeconfigPath } = await ensureCredentials(dataDir, server.url, share);
    const components = await startControllers({
      // one door: the controllers' and node agents' writes pass the API server's admission too
      store: new AdmittedStore(store),
      logger,
      clock: systemClock,
      dataDir,
      apiUrl: server.url,
      nodes: options.nodes ?? [],
      csiDrivers: options.csiDrivers ?? [],
      ...(options.eventTtlMs !== undefined ? { eventTtlMs: options.eventTtlMs } : {}),
      ...(options.nodeMonitorGracePeriodMs !== undefined
        ? { nodeMonitorGracePeriodMs: options.nodeMonitorGracePeriodMs }
        : {}),
      ...(options.maxWaitForUnmountMs !== undefined
        ? { maxWaitForUnmountMs: options.maxWaitForUnmountMs }
        : {}),
    });
    cleanups.push(() => stopComponents(components, logger));
    return { url: server.url, kubeconfigPath, store, stop: unwind };
  } catch (err) {
    await unwind();
    throw err;
  }
}
