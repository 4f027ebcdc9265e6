// `berth controller-manager --kubeconfig=F [--leader-elect=true]`: the control plane's controllers
// (the same set `berth up` runs) in their own process, talking to the API servers only through
// the Kubernetes REST API. With leader election (the default) the candidates share one
// coordination.k8s.io/v1 Lease: the leader runs the controllers, a standby waits; a leader that
// cannot renew the lease by the renew deadline stops acting at once, by leaving the process with
// status 1, as kube-controller-manager does (its supervisor restarts it as a candidate).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isStatusError } from '../../api/errors.js';
import { componentConnection } from '../../client/in-cluster.js';
import { systemClock, sleep } from '../../machinery/clock.js';
import { LeaderElector } from '../../machinery/leader-election.js';
import type { Logger } from '../../machinery/logger.js';
import { RestStore } from '../../machinery/rest-store.js';
import { parseCommand } from '../args.js';
import type { ComponentDeps, RunningComponent } from '../component.js';
import { startControllerManager, stopComponents } from '../components.js';
import type { CommandContext } from '../context.js';
import { parsePositiveDuration } from '../duration-flag.js';
import { UsageError } from '../io.js';
import {
  leaderElectionOptions,
  parseLeaderElection,
  parseMaster,
  takeBoolFlag,
  type LeaderElectionSettings,
} from '../leader-flags.js';
import { csiDriverFlags, loggerFor, logOptions, untilAborted } from '../process-flags.js';

const options = {
  kubeconfig: { type: 'string' },
  master: { type: 'string' },
  'csi-driver': { type: 'string', multiple: true },
  'node-monitor-grace-period': { type: 'string' },
  'attach-detach-reconcile-max-wait-for-unmount-duration': { type: 'string' },
  ...leaderElectionOptions,
  ...logOptions,
  help: { type: 'boolean', short: 'h' },
} as const;

export const CONTROLLER_MANAGER_USAGE =
  'berth controller-manager --kubeconfig=F [--master=URL[,URL]] [--leader-elect=true] [--leader-elect-lease-duration=15s] [--leader-elect-renew-deadline=10s] [--leader-elect-retry-period=2s] [--leader-elect-resource-namespace=kube-system] [--leader-elect-resource-name=berth-controller-manager] [--csi-driver NAME=SOCKET]... [--node-monitor-grace-period=40s] [--attach-detach-reconcile-max-wait-for-unmount-duration=6m]';

/**
 * Waits until an API server answers (calmly: 1 s doubling to 10 s, logging the reason). False
 * when stopped first; credentials the server refuses are an error, not a wait.
 */
async function waitForApi(store: RestStore, log: Logger, signal: AbortSignal | undefined): Promise<boolean> {
  for (let attempt = 1; !signal?.aborted; attempt++) {
    try {
      await store.currentRevision();
      if (attempt > 1) log.info('API server reachable', { servers: store.servers() });
      return true;
    } catch (err) {
      if (isStatusError(err) && (err.code === 401 || err.code === 403)) {
        throw new Error(`the API server refused this kubeconfig's credentials: ${err.message}`);
      }
      const delayMs = Math.min(1000 * 2 ** (attempt - 1), 10_000);
      if (attempt === 1 || attempt % 5 === 0) {
        log.warn('waiting for the API server', { attempt, retryInMs: delayMs, err: (err as Error).message });
      }
      try {
        await sleep(systemClock, delayMs, signal);
      } catch {
        return false;
      }
    }
  }
  return false;
}

export async function runControllerManager(ctx: CommandContext, argv: string[]): Promise<number> {
  const [leaderElect, rest] = takeBoolFlag(argv, 'leader-elect', true);
  const { values, positionals } = parseCommand('controller-manager', rest, options);
  if (values.help) {
    ctx.io.stdout.write(`${CONTROLLER_MANAGER_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`controller-manager: unexpected argument "${positionals[0]}"`);
  const election = parseLeaderElection(leaderElect, values);
  const masters = parseMaster(values.master);
  const drivers = csiDriverFlags(values['csi-driver']);
  const nodeMonitorGracePeriodMs = parsePositiveDuration(
    '--node-monitor-grace-period',
    values['node-monitor-grace-period'],
  );
  const maxWaitForUnmountMs = parsePositiveDuration(
    '--attach-detach-reconcile-max-wait-for-unmount-duration',
    values['attach-detach-reconcile-max-wait-for-unmount-duration'],
  );
  const logger = loggerFor(ctx, values['log-level']);

  const connection = await componentConnection({ kubeconfig: values.kubeconfig, env: ctx.env });
  const servers = masters.length > 0 ? masters : [connection.target.server];
  const store = RestStore.connect({ ...connection.target, servers }, { fetch: connection.fetch, logger });
  const identity = `${hostname()}_${randomUUID()}`;
  ctx.io.stdout.write(
    `berth controller-manager ${identity}: API servers ${servers.join(',')} (${connection.source})\n`,
  );
  const deps: ComponentDeps = {
    store,
    logger,
    clock: systemClock,
    csiDrivers: drivers,
    ...(nodeMonitorGracePeriodMs !== undefined ? { nodeMonitorGracePeriodMs } : {}),
    ...(maxWaitForUnmountMs !== undefined ? { maxWaitForUnmountMs } : {}),
  };
  // the clock's timers do not hold the process open; a standby waiting for its turn has nothing else
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    if (!(await waitForApi(store, logger, ctx.io.signal))) return 0;
    if (!election.enabled) {
      const components = await startControllerManager(deps);
      ctx.io.stdout.write('controllers started (leader election disabled)\n');
      await untilAborted(ctx.io.signal);
      await stopComponents(components, logger);
      return 0;
    }
    return await runAsCandidate(ctx, deps, store, election, identity);
  } finally {
    clearInterval(keepAlive);
    await store.close();
  }
}

/** Campaigns; runs the controllers while leading. Resolves 0 when stopped, 1 when the lease was lost. */
function runAsCandidate(
  ctx: CommandContext,
  deps: ComponentDeps,
  store: RestStore,
  election: LeaderElectionSettings,
  identity: string,
): Promise<number> {
  const log = deps.logger;
  return new Promise<number>((resolve) => {
    let components: Promise<RunningComponent[]> = Promise.resolve([]);
    let stopping = false;
    const lost = (): void => {
      if (stopping) return;
      stopping = true;
      // as kube-controller-manager: leaving is the one sure way to stop acting, in flight or queued
      log.error('leaderelection lost', { identity });
      ctx.io.stdout.write(`leaderelection lost: ${identity}\n`);
      void store.close(); // fenced: no request of this process reaches an API server any more
      ctx.io.exit?.(1);
      void (async () => {
        await stopComponents(await components, log);
        resolve(1);
      })();
    };
    const elector = new LeaderElector({
      store,
      name: election.name,
      namespace: election.namespace,
      identity,
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
      logger: log.child({ component: 'leader-election' }),
      onStartedLeading: () => {
        ctx.io.stdout.write(`became leader: ${identity}\n`);
        components = startControllerManager(deps).catch((err: unknown) => {
          log.error('controllers did not start', { err });
          lost();
          return [];
        });
      },
      onStoppedLeading: lost,
      onNewLeader: (holder) => {
        if (holder !== identity) ctx.io.stdout.write(`leader is ${holder}\n`);
      },
    });
    ctx.io.stdout.write(
      `campaigning for lease ${election.namespace}/${election.name} (lease ${election.leaseDurationMs / 1000}s, renew deadline ${election.renewDeadlineMs / 1000}s, retry ${election.retryPeriodMs / 1000}s)\n`,
    );
    elector.start();
    const onStop = async (): Promise<void> => {
      if (stopping) return;
      stopping = true;
      // the controllers stop before the lease is released, so two leaders never overlap
      await stopComponents(await components, log);
      await elector.stop();
      resolve(0);
    };
    if (ctx.io.signal?.aborted) void onStop();
    else ctx.io.signal?.addEventListener('abort', () => void onStop(), { once: true });
  });
}
