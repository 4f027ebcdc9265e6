// `berth up`: runs an embedded berth until SIGINT/SIGTERM (the command's signal), then stops it
// cleanly: components, API server, store.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { dns1123SubdomainErrors } from '../../api/names.js';
import type { NodeSpec } from '../component.js';
import { chosenPort, parsePort, recordPort } from '../api-port.js';
import { parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { startEmbeddedBerth } from '../embedded.js';
import { parseDuration, parsePositiveDuration } from '../duration-flag.js';
import { etcdOptions, parseEtcdFlags } from '../etcd-flags.js';
import { csiDriverFlags, loggerFor, untilAborted } from '../process-flags.js';
import { UsageError } from '../io.js';
import { resolveDataDir } from '../paths.js';

const options = {
  'data-dir': { type: 'string' },
  'secure-port': { type: 'string' },
  port: { type: 'string' },
  'log-level': { type: 'string' },
  node: { type: 'string', multiple: true },
  'root-dir': { type: 'string' },
  'csi-driver': { type: 'string', multiple: true },
  'event-ttl': { type: 'string' },
  'node-monitor-grace-period': { type: 'string' },
  'attach-detach-reconcile-max-wait-for-unmount-duration': { type: 'string' },
  'control-plane-only': { type: 'boolean' },
  ...etcdOptions,
  help: { type: 'boolean', short: 'h' },
} as const;

/** Node agents to run: each in <data-dir>/nodes/<name>, or --root-dir when there is one node. */
export function nodeSpecs(
  names: readonly string[],
  rootDir: string | undefined,
  dataDir: string,
): NodeSpec[] {
  if (rootDir !== undefined && names.length > 1) {
    throw new UsageError('--root-dir takes one node: several --node flags each get <data-dir>/nodes/<name>');
  }
  return names.map((name) => {
    if (dns1123SubdomainErrors(name).length > 0) {
      throw new UsageError(
        `invalid argument "${name}" for "--node" flag: a node name must be a DNS-1123 subdomain`,
      );
    }
    return { name, rootDir: rootDir ?? join(dataDir, 'nodes', name) };
  });
}

/**
 * --control-plane-only: the API server and Kubernetes' own controllers, and no CSI caller (no node
 * agent, built-in driver or sidecar), for sidecars and node plugins run as separate processes.
 */
export function checkControlPlaneOnly(values: {
  node?: string[];
  'root-dir'?: string;
  'csi-driver'?: string[];
}): void {
  for (const flag of ['node', 'root-dir', 'csi-driver'] as const) {
    if (values[flag] !== undefined)
      throw new UsageError(
        `--${flag} cannot be used with --control-plane-only: nodes join with \`berth node\`, drivers' sidecars run as \`berth sidecar\``,
      );
  }
}

export async function runUp(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('up', argv, options);
  if (positionals.length > 0) throw new UsageError(`up: unexpected argument "${positionals[0]}"`);
  const portFlag = values['secure-port'] ?? values.port;
  const portFlagName = values['secure-port'] === undefined ? '--port' : '--secure-port';
  const dataDir = resolveDataDir(values['data-dir'], ctx.env, ctx.home);
  const logger = loggerFor(ctx, values['log-level']);
  const controlPlaneOnly = values['control-plane-only'] === true;
  if (controlPlaneOnly) checkControlPlaneOnly(values);
  const nodes = controlPlaneOnly ? [] : nodeSpecs(values.node ?? [hostname()], values['root-dir'], dataDir);
  const csiDrivers = csiDriverFlags(values['csi-driver']);
  const eventTtl = values['event-ttl'];
  const eventTtlMs = eventTtl === undefined ? undefined : parseDuration('--event-ttl', eventTtl);
  if (eventTtlMs !== undefined && eventTtlMs <= 0)
    throw new UsageError(`invalid argument "${eventTtl}" for "--event-ttl" flag: must be longer than 0s`);
  const nodeMonitorGracePeriodMs = parsePositiveDuration(
    '--node-monitor-grace-period',
    values['node-monitor-grace-period'],
  );
  const maxWaitForUnmountMs = parsePositiveDuration(
    '--attach-detach-reconcile-max-wait-for-unmount-duration',
    values['attach-detach-reconcile-max-wait-for-unmount-duration'],
  );
  const port = await chosenPort(
    dataDir,
    portFlag === undefined ? undefined : parsePort(portFlag, portFlagName),
  );
  const etcd = parseEtcdFlags(values);
  const berth = await startEmbeddedBerth({
    dataDir,
    port,
    logger,
    nodes,
    csiDrivers,
    etcd,
    ...(eventTtlMs !== undefined ? { eventTtlMs } : {}),
    ...(nodeMonitorGracePeriodMs !== undefined ? { nodeMonitorGracePeriodMs } : {}),
    ...(maxWaitForUnmountMs !== undefined ? { maxWaitForUnmountMs } : {}),
  });
  await recordPort(dataDir, berth.url);
  ctx.io.stdout.write(
    `berth API listening on ${berth.url}\n` +
      `data directory: ${dataDir}\n` +
      (controlPlaneOnly ? 'control plane only: no node agent, CSI driver or sidecar in this process\n' : '') +
      (etcd ? `state in etcd: ${etcd.endpoints.join(',')} under ${etcd.prefix}\n` : '') +
      `kubeconfig: ${berth.kubeconfigPath}\n` +
      nodes.map((n) => `node ${n.name}: root directory ${n.rootDir}\n`).join('') +
      `to use kubectl or berth from another shell: export KUBECONFIG=${berth.kubeconfigPath}\n`,
  );
  await untilAborted(ctx.io.signal);
  ctx.io.stdout.write('berth stopping\n');
  await berth.stop();
  ctx.io.stdout.write('berth stopped\n');
  return 0;
}
