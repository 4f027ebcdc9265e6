// What every background component of `berth up` is started with, and what it hands back to be
// stopped; shared by the controllers' and the node agents' start functions.
import type { DriverEndpoint } from '../node/index.js';
import type { Clock } from '../machinery/clock.js';
import type { Logger } from '../machinery/logger.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import type { ObjectStore } from '../store/types.js';

export interface ComponentDeps {
  store: ObjectStore;
  logger: Logger;
  clock: Clock;
  dataDir?: string;
  /** The API server's URL, for components that talk REST rather than to the store. */
  apiUrl?: string;
  /** Node agents to run in this process (each with the built-in drivers when root). */
  nodes?: readonly NodeSpec[];
  /** Third-party CSI drivers already serving on a unix socket (--csi-driver name=socket). */
  csiDrivers?: readonly DriverEndpoint[];
  /** How long Events live after their last write (--event-ttl); default 1 h. */
  eventTtlMs?: number;
  /** A node whose heartbeat is older than this is marked Unknown (--node-monitor-grace-period); default 40 s. */
  nodeMonitorGracePeriodMs?: number;
  /**
   * How long a volume still reported mounted on an unhealthy node is waited for before it is
   * detached anyway (--attach-detach-reconcile-max-wait-for-unmount-duration); default 6 min.
   */
  maxWaitForUnmountMs?: number;
}

/** What every component is started with: the deps, and the one informer cache of this process. */
export interface ComponentContext extends ComponentDeps {
  informers: SharedInformerCache;
}

export interface RunningComponent {
  name: string;
  stop(): Promise<void>;
}

export interface NodeSpec {
  name: string;
  /** kubelet-style root directory of this node's agent. */
  rootDir: string;
}
