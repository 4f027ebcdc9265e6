// `berth apiserver --etcd-servers=URL[,URL]`: the API server alone, on etcd. Replicas pointed at
// one etcd serve the same objects and watches; the first replica's token and serving certificate
// are kept in etcd, so the kubeconfig any replica writes (<data-dir>/kubeconfig) works with all.
import { isIP } from 'node:net';
import { dns1123SubdomainErrors } from '../../api/names.js';
import { ensureCredentials, startApiServer } from '../../apiserver/index.js';
import { parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { etcdOptions, openEtcdFromFlags, parseEtcdFlags, shareThroughEtcd } from '../etcd-flags.js';
import { UsageError } from '../io.js';
import { loggerFor, logOptions, untilAborted } from '../process-flags.js';
import { resolveDataDir } from '../paths.js';

const options = {
  ...etcdOptions,
  'secure-port': { type: 'string' },
  'bind-address': { type: 'string' },
  'data-dir': { type: 'string' },
  'tls-san': { type: 'string', multiple: true },
  ...logOptions,
  help: { type: 'boolean', short: 'h' },
} as const;

export const APISERVER_USAGE =
  'berth apiserver --etcd-servers=URL[,URL] [--secure-port=6443] [--bind-address=127.0.0.1] [--data-dir=D] [--tls-san=IP|NAME[,...]]... [--etcd-cafile=F --etcd-certfile=F --etcd-keyfile=F] [--etcd-prefix=/registry]';

/** Pure: --secure-port (default 6443; 0 picks a free port). */
export function parseSecurePort(text: string | undefined): number {
  if (text === undefined) return 6443;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new UsageError(`invalid argument "${text}" for "--secure-port" flag: expected 0-65535`);
  }
  return port;
}

/**
 * Pure: what the serving certificate names besides 127.0.0.1 and localhost, so that clients on
 * other hosts can verify it: every --tls-san (k3s' flag; IP addresses or DNS names, repeated or
 * comma-separated) and a --bind-address that is one host's address.
 */
export function parseTlsSans(flags: readonly string[] | undefined, bindAddress: string): string[] {
  const names = (flags ?? []).flatMap((flag) => flag.split(',')).map((name) => name.trim());
  for (const name of names) {
    // node reads an IPv6 zone (fe80::1%lo) as part of the address; a certificate has no place for it
    if (isIP(name) !== 0 && name.includes('%'))
      throw new UsageError(
        `invalid argument "${name}" for "--tls-san" flag: a certificate names an address without its zone: give ${withoutZone(name)}`,
      );
    if (isIP(name) !== 0 || dns1123SubdomainErrors(name).length === 0) continue;
    throw new UsageError(
      `invalid argument "${name}" for "--tls-san" flag: expected an IP address or a DNS name`,
    );
  }
  if (isIP(bindAddress) !== 0 && !['0.0.0.0', '::'].includes(bindAddress)) names.push(bindAddress);
  return [...new Set(names)];
}

const withoutZone = (address: string): string => address.split('%')[0]!;

/**
 * Pure: --bind-address, an IP address without a zone as kube-apiserver's (an IPv6 zone such as
 * fe80::1%lo is no address clients can put in the kubeconfig's URL or find in the certificate).
 */
export function parseBindAddress(text: string | undefined): string {
  const host = text ?? '127.0.0.1';
  if (isIP(host) === 0 || host.includes('%'))
    throw new UsageError(`invalid argument "${host}" for "--bind-address" flag: expected an IP`);
  return host;
}

export async function runApiserver(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('apiserver', argv, options);
  if (values.help) {
    ctx.io.stdout.write(`${APISERVER_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`apiserver: unexpected argument "${positionals[0]}"`);
  const etcd = parseEtcdFlags(values);
  if (!etcd) throw new UsageError('berth apiserver needs --etcd-servers (berth up runs the embedded store)');
  const port = parseSecurePort(values['secure-port']);
  const host = parseBindAddress(values['bind-address']);
  const altNames = parseTlsSans(values['tls-san'], host);
  const dataDir = resolveDataDir(values['data-dir'], ctx.env, ctx.home);
  const logger = loggerFor(ctx, values['log-level']);

  const store = await openEtcdFromFlags(etcd);
  try {
    const share = shareThroughEtcd(store);
    const { token, tls } = await ensureCredentials(dataDir, `https://127.0.0.1:${port}`, share, altNames);
    const apiLog = logger.child({ component: 'apiserver' });
    const server = await startApiServer({
      store,
      port,
      host,
      token,
      tls,
      // every read is an etcd call: a prepared page would cost one more (see prepareNextPages)
      prepareNextPages: false,
      log: (line) => apiLog.debug(line),
    });
    try {
      const { kubeconfigPath } = await ensureCredentials(dataDir, server.url, share, altNames);
      ctx.io.stdout.write(
        `berth API listening on ${server.url}\n` +
          `state in etcd: ${etcd.endpoints.join(',')} under ${etcd.prefix}\n` +
          `kubeconfig: ${kubeconfigPath}\n`,
      );
      await untilAborted(ctx.io.signal);
      ctx.io.stdout.write('berth apiserver stopping\n');
    } finally {
      await server.close();
    }
  } finally {
    await store.close();
  }
  return 0;
}
