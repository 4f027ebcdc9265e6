// `berth sidecar provisioner|attacher|resizer --csi-address=SOCK [--kubeconfig=F] [flags]`: one
// of berth's CSI sidecars as its own process, speaking only the Kubernetes API, with the upstream
// sidecars' flags (see sidecarUsage). Without --kubeconfig it uses the in-cluster configuration.
// Exits 1 when it loses its leader-election lease, so the container restarts as upstream's does.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { componentConnection } from '../../client/in-cluster.js';
import { parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { parseDuration } from '../duration-flag.js';
import { UsageError } from '../io.js';
import { loggerFor } from '../process-flags.js';
import { connectStore } from '../rest-connection.js';
import { parseHttpEndpoint } from '../http-endpoint.js';
import { startSidecarProcess, type LeaderElectionOptions } from '../sidecar.js';
import { SIDECAR_NAMES, type SidecarName, type SidecarTuning } from '../sidecar-modules.js';

const options = {
  kubeconfig: { type: 'string' },
  'csi-address': { type: 'string' },
  timeout: { type: 'string' },
  'worker-threads': { type: 'string' },
  'retry-interval-start': { type: 'string' },
  'retry-interval-max': { type: 'string' },
  'leader-election': { type: 'string' },
  'leader-election-namespace': { type: 'string' },
  'leader-election-lease-duration': { type: 'string' },
  'leader-election-renew-deadline': { type: 'string' },
  'leader-election-retry-period': { type: 'string' },
  'http-endpoint': { type: 'string' },
  'node-deployment': { type: 'string' },
  'extra-create-metadata': { type: 'string' },
  'default-fstype': { type: 'string' },
  'enable-capacity': { type: 'string' },
  'capacity-poll-interval': { type: 'string' },
  'feature-gates': { type: 'string' },
  'log-level': { type: 'string' },
  v: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Flags only one upstream sidecar has. */
const OWN: Partial<Record<keyof typeof options, SidecarName[]>> = {
  'node-deployment': ['provisioner', 'resizer', 'snapshotter'],
  'extra-create-metadata': ['provisioner'],
  'default-fstype': ['provisioner'],
  'enable-capacity': ['provisioner'],
  'capacity-poll-interval': ['provisioner'],
  'feature-gates': ['provisioner'],
};

/** Go boolean flags: `--x`, `--x=true|false` (parseArgs sees a bare `--x` as ''). */
function bool(flag: string, text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (text === '' || text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new UsageError(`invalid argument "${text}" for "--${flag}" flag: expected true or false`);
}

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new UsageError(
      `invalid argument "${text}" for "--${flag}" flag: expected a whole number from 1 to 10000`,
    );
  return n;
}

function duration(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(`--${flag}`, text);
  if (ms <= 0)
    throw new UsageError(`invalid argument "${text}" for "--${flag}" flag: must be longer than 0s`);
  return ms;
}

/** Boolean flags take their value from the next word only as `--x=v`; a bare `--x` is true. */
function normalizeBooleans(argv: string[]): string[] {
  const booleans = ['leader-election', 'node-deployment', 'extra-create-metadata', 'enable-capacity'];
  return argv.map((a) => (booleans.some((b) => a === `--${b}`) ? `${a}=true` : a));
}

export interface SidecarArgs {
  sidecar: SidecarName;
  kubeconfig?: string;
  csiAddress: string;
  tuning: SidecarTuning;
  /** --node-deployment: the node from $NODE_NAME. */
  nodeName?: string;
  /** --leader-election; namespace absent = the pod's (in-cluster) namespace. */
  leaderElection?: Omit<LeaderElectionOptions, 'namespace' | 'identity'> & { namespace?: string };
  httpEndpoint?: string;
  logLevel?: string;
}

/** Pure: argv (after `sidecar`) and the environment -> what to run, or a UsageError naming the flag. */
export function parseSidecarArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): SidecarArgs {
  const [name, ...rest] = argv;
  if (name === undefined || !(SIDECAR_NAMES as string[]).includes(name)) {
    throw new UsageError(
      `sidecar: ${name === undefined ? 'missing sidecar name' : `unknown sidecar "${name}"`}: expected one of ${SIDECAR_NAMES.join(', ')}`,
    );
  }
  const sidecar = name as SidecarName;
  const { values: v, positionals } = parseCommand(`sidecar ${sidecar}`, normalizeBooleans(rest), options);
  if (positionals.length > 0)
    throw new UsageError(`sidecar ${sidecar}: unexpected argument "${positionals[0]}"`);
  for (const [flag, owners] of Object.entries(OWN)) {
    if (v[flag as keyof typeof v] !== undefined && !owners.includes(sidecar))
      throw new UsageError(`sidecar ${sidecar}: unknown flag --${flag} (a flag of ${owners.join(', ')})`);
  }
  const csiAddress = v['csi-address'];
  if (!csiAddress) throw new UsageError(`sidecar ${sidecar}: --csi-address is required`);
  checkProvisionerFlags(v);
  const tuning: SidecarTuning = {};
  const timeoutMs = duration('timeout', v.timeout);
  const workers = positive('worker-threads', v['worker-threads']);
  const retryBaseMs = duration('retry-interval-start', v['retry-interval-start']);
  const retryMaxMs = duration('retry-interval-max', v['retry-interval-max']);
  if (timeoutMs !== undefined) tuning.timeoutMs = timeoutMs;
  if (workers !== undefined) tuning.workers = workers;
  if (retryBaseMs !== undefined) tuning.retryBaseMs = retryBaseMs;
  if (retryMaxMs !== undefined) tuning.retryMaxMs = retryMaxMs;
  if (bool('enable-capacity', v['enable-capacity'])) {
    tuning.enableCapacity = true;
    // upstream puts the objects in the provisioner pod's namespace, from $NAMESPACE
    if (env['NAMESPACE']) tuning.capacityNamespace = env['NAMESPACE'];
  }
  const pollMs = duration('capacity-poll-interval', v['capacity-poll-interval']);
  if (pollMs !== undefined) tuning.capacityPollIntervalMs = pollMs;
  if (retryBaseMs !== undefined && retryMaxMs !== undefined && retryMaxMs < retryBaseMs)
    throw new UsageError(
      `sidecar ${sidecar}: --retry-interval-max must not be shorter than --retry-interval-start`,
    );
  const args: SidecarArgs = { sidecar, csiAddress, tuning };
  if (v.kubeconfig) args.kubeconfig = v.kubeconfig;
  if (v['http-endpoint'] !== undefined) {
    parseHttpEndpoint(v['http-endpoint']);
    args.httpEndpoint = v['http-endpoint'];
  }
  const logLevel = v['log-level'] ?? (v.v !== undefined && Number(v.v) >= 5 ? 'debug' : undefined);
  if (logLevel !== undefined) args.logLevel = logLevel;
  if (bool('node-deployment', v['node-deployment'])) {
    const nodeName = env['NODE_NAME'];
    if (!nodeName)
      throw new UsageError(`sidecar ${sidecar}: --node-deployment needs the NODE_NAME environment variable`);
    args.nodeName = nodeName;
  }
  if (bool('leader-election', v['leader-election'])) {
    const leaseDurationMs = duration('leader-election-lease-duration', v['leader-election-lease-duration']);
    const renewDeadlineMs = duration('leader-election-renew-deadline', v['leader-election-renew-deadline']);
    const retryPeriodMs = duration('leader-election-retry-period', v['leader-election-retry-period']);
    const namespace = v['leader-election-namespace'];
    args.leaderElection = {
      ...(namespace !== undefined ? { namespace } : {}),
      ...(leaseDurationMs !== undefined ? { leaseDurationMs } : {}),
      ...(renewDeadlineMs !== undefined ? { renewDeadlineMs } : {}),
      ...(retryPeriodMs !== undefined ? { retryPeriodMs } : {}),
    };
  }
  return args;
}

export async function runSidecar(ctx: CommandContext, argv: string[]): Promise<number> {
  const args = parseSidecarArgs(argv, ctx.env);
  const logger = loggerFor(ctx, args.logLevel);
  const connection = await componentConnection({ kubeconfig: args.kubeconfig, env: ctx.env });
  const store = connectStore(connection, logger);
  const le = args.leaderElection;
  const running = await startSidecarProcess({
    sidecar: args.sidecar,
    store,
    csiAddress: args.csiAddress,
    tuning: args.tuning,
    logger,
    ...(args.nodeName !== undefined ? { nodeName: args.nodeName } : {}),
    ...(args.httpEndpoint !== undefined ? { httpEndpoint: args.httpEndpoint } : {}),
    ...(ctx.io.signal ? { signal: ctx.io.signal } : {}),
    ...(le
      ? {
          leaderElection: {
            ...le,
            // upstream: the pod's namespace when the flag is absent
            namespace: le.namespace ?? connection.target.namespace ?? 'default',
            identity: `${ctx.env['POD_NAME'] ?? hostname()}_${randomBytes(4).toString('hex')}`,
          },
        }
      : {}),
  });
  ctx.io.stdout.write(
    `berth sidecar ${args.sidecar} for ${running.driverName} via ${connection.source}` +
      (running.httpUrl ? `, metrics and health on ${running.httpUrl}` : '') +
      '\n',
  );
  // the clock's timers do not hold the process open: a standby replica waiting for the Lease
  // (without --http-endpoint) has nothing else, and would end instead of taking over
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const outcome = await new Promise<'stopped' | 'lost'>((resolve) => {
    const signal = ctx.io.signal;
    if (signal?.aborted) resolve('stopped');
    signal?.addEventListener('abort', () => resolve('stopped'), { once: true });
    void running.lostLeadership.then(() => resolve('lost'));
  });
  clearInterval(keepAlive);
  await running.stop();
  await store.close();
  return outcome === 'lost' ? 1 : 0;
}

/** The provisioner's request-shaping flags: berth's provisioner always does what these turn on. */
function checkProvisionerFlags(v: {
  'extra-create-metadata'?: string;
  'feature-gates'?: string;
  'default-fstype'?: string;
}): void {
  if (bool('extra-create-metadata', v['extra-create-metadata']) === false)
    throw new UsageError(
      '--extra-create-metadata=false is not supported: berth always passes the claim and volume names',
    );
  for (const gate of (v['feature-gates'] ?? '').split(',').filter((g) => g !== '')) {
    const [key, value] = gate.split('=');
    if (key !== 'Topology' || (value !== 'true' && value !== 'false'))
      throw new UsageError(
        `invalid argument "${gate}" for "--feature-gates" flag: only Topology=true is known`,
      );
    if (value === 'false')
      throw new UsageError(
        '--feature-gates=Topology=false is not supported: berth always honours driver topology',
      );
  }
  const fsType = v['default-fstype'];
  if (fsType !== undefined && fsType !== 'ext4')
    throw new UsageError(
      `--default-fstype=${fsType} is not supported yet: berth's default filesystem is ext4`,
    );
}
