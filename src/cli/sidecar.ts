// One sidecar as its own process (cluster mode): wait for the driver on --csi-address, learn its
// name, and run the sidecar module (the same one `berth up` runs in-process) on an ObjectStore over
// the API server; with leader election only while this replica holds the sidecar's Lease, as
// csi-lib-utils does. Losing the lease ends the process (upstream exits too), so a replica never
// keeps working on stale leadership.
import { sanitizeDriverName } from '../attach-detach/names.js';
import { CsiClient } from '../csi/client.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import { LeaderElector } from '../machinery/leader-election.js';
import type { Logger } from '../machinery/logger.js';
import { SharedInformerCache } from '../machinery/shared-cache.js';
import type { ObjectStore } from '../store/types.js';
import type { RunningComponent } from './component.js';
import { serveHttpEndpoint, type HttpEndpoint } from './http-endpoint.js';
import type { SidecarName, SidecarTuning } from './sidecar-modules.js';
import { sidecarStarters } from './sidecar-modules.js';

export interface LeaderElectionOptions {
  namespace: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface SidecarProcessOptions {
  sidecar: SidecarName;
  store: ObjectStore;
  csiAddress: string;
  tuning: SidecarTuning;
  nodeName?: string;
  leaderElection?: LeaderElectionOptions;
  httpEndpoint?: string;
  logger: Logger;
  clock?: Clock;
  /** Stops waiting for the driver. */
  signal?: AbortSignal;
}

export interface SidecarProcess {
  driverName: string;
  /** Where --http-endpoint listens. */
  httpUrl?: string;
  /** Resolves if this replica led and then lost its lease. */
  lostLeadership: Promise<void>;
  stop(): Promise<void>;
}

/** The Lease each upstream sidecar elects on, sanitized as csi-lib-utils does. */
export function leaseName(sidecar: SidecarName, driverName: string): string {
  const prefix: Record<SidecarName, string> = {
    provisioner: '',
    attacher: 'external-attacher-leader-',
    resizer: 'external-resizer-',
    snapshotter: 'external-snapshotter-leader-',
  };
  return sanitizeDriverName(`${prefix[sidecar]}${driverName}`);
}

/** Asks the driver its name, retrying (1 s doubling to 30 s) while the socket is not there yet. */
async function driverName(csi: CsiClient, log: Logger, signal?: AbortSignal): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await csi.getPluginInfo()).name;
    } catch (err) {
      if (signal?.aborted) throw new Error(`stopped while waiting for the CSI driver at ${csi.endpoint}`);
      const delay = Math.min(1000 * 2 ** attempt, 30_000);
      log.warn('CSI driver not answering yet; retrying', { endpoint: csi.endpoint, err, retryInMs: delay });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export async function startSidecarProcess(o: SidecarProcessOptions): Promise<SidecarProcess> {
  const clock = o.clock ?? systemClock;
  const log = o.logger.child({ sidecar: o.sidecar });
  const csi = new CsiClient(o.csiAddress, {
    ...(o.tuning.timeoutMs !== undefined ? { timeoutMs: o.tuning.timeoutMs } : {}),
  });
  let name: string;
  try {
    name = await driverName(csi, log, o.signal);
  } catch (err) {
    csi.close();
    throw err;
  }
  const informers = new SharedInformerCache({
    store: o.store,
    clock,
    logger: log.child({ component: 'informers' }),
  });
  const deps = {
    store: o.store,
    informers,
    clock,
    logger: log,
    csi,
    driverName: name,
    tuning: o.tuning,
    ...(o.nodeName !== undefined ? { nodeName: o.nodeName } : {}),
  };
  let running: RunningComponent | undefined;
  let stopping = false;
  let reportLost: () => void = () => undefined;
  const lostLeadership = new Promise<void>((resolve) => (reportLost = resolve));
  const startModule = async (): Promise<void> => {
    running = await sidecarStarters[o.sidecar](deps);
    log.info('sidecar running', { driver: name, component: running.name });
  };

  let elector: LeaderElector | undefined;
  if (o.leaderElection) {
    const le = o.leaderElection;
    elector = new LeaderElector({
      store: o.store,
      name: leaseName(o.sidecar, name),
      namespace: le.namespace,
      identity: le.identity,
      ...(le.leaseDurationMs !== undefined ? { leaseDurationMs: le.leaseDurationMs } : {}),
      ...(le.renewDeadlineMs !== undefined ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
      ...(le.retryPeriodMs !== undefined ? { retryPeriodMs: le.retryPeriodMs } : {}),
      clock,
      logger: log,
      onStartedLeading: () => {
        log.info('became leader, starting', { identity: le.identity });
        startModule().catch((err: unknown) => {
          log.error('sidecar failed to start', { err });
          reportLost();
        });
      },
      onStoppedLeading: () => {
        if (!stopping) {
          log.error('stopped leading', { identity: le.identity });
          reportLost();
        }
      },
    });
    elector.start();
  } else {
    await startModule();
  }

  let http: HttpEndpoint | undefined;
  if (o.httpEndpoint !== undefined) {
    http = await serveHttpEndpoint(
      o.httpEndpoint,
      () => !elector || !elector.isLeader() || running !== undefined,
    );
  }
  return {
    driverName: name,
    ...(http ? { httpUrl: http.url } : {}),
    lostLeadership,
    stop: async () => {
      stopping = true;
      await http?.close();
      // the work stops before the lease is released, so a successor never overlaps with it
      await running?.stop();
      await elector?.stop();
      await informers.stop();
      csi.close();
    },
  };
}
