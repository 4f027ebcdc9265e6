// `berth apiserver --etcd-servers=URL[,URL]`: the API server alone, on etcd. Replicas pointed at
// one etcd serve the same objects and watches; the first replica's token and serving certificate
// are kept in etcd, so the kubeconfig any replica writes (<data-dir>/kubeconfig) works with all.
import { isIP } from 'node:net';
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
  ...logOptions,
  help: { type: 'boolean', short: 'h' },
} as const;

export const APISERVER_USAGE =
  'berth apiserver --etcd-servers=URL[,URL] [--secure-port=6443] [--bind-address=127.0.0.1] [--data-dir=D] [--etcd-cafile=F --etcd-certfile=F --etcd-keyfile=F] [--etcd-prefix=/registry]';

/** Pure: --secure-port (default 6443; 0 picks a free port). */
export function parseSecurePort(text: string | undefined): number {
  if (text === undefined) return 6443;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new UsageError(`invalid argument "${text}" for "--secure-port" flag: expected 0-65535`);
  }
  return port;
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
  const host = values['bind-address'] ?? '127.0.0.1';
  if (isIP(host) === 0)
    throw new UsageError(`invalid argument "${host}" for "--bind-address" flag: expected an IP`);
  const dataDir = resolveDataDir(values['data-dir'], ctx.env, ctx.home);
  const logger = loggerFor(ctx, values['log-level']);

  const store = await openEtcdFromFlags(etcd);
  try {
    const share = shareThroughEtcd(store);
    const { token, tls } = await ensureCredentials(dataDir, `https://127.0.0.1:${port}`, share);
    const apiLog = logger.child({ component: 'apiserver' });
    const server = await startApiServer({ store, port, host, token, tls, log: (line) => apiLog.debug(line) });
    try {
      const { kubeconfigPath } = await ensureCredentials(dataDir, server.url, share);
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
