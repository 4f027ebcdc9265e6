// `berth node --kubeconfig=F --node-name=NAME --root-dir=DIR [--csi-driver NAME=SOCK]...`: one
// host's node agent, talking to the control plane only through the Kubernetes REST API (any API
// server: berth's replicas or a real kube-apiserver). It registers its Node and CSINode, heartbeats
// with a Lease in kube-node-lease, runs the node reconciler, the built-in local driver (as root)
// with its node-local provisioner and resizer, and the FlexVolume host (attaching flex volumes
// itself: the controller-manager runs elsewhere). With --local-driver=false it starts no driver
// nor sidecar and, as a kubelet, calls only the drivers registered through its plugins_registry
// (`berth node-plugin`, node-driver-registrar) or --csi-driver. SIGTERM/SIGINT stops it cleanly; what is mounted
// stays mounted and is reconstructed from disk at the next start, as kubelet does.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { dns1123SubdomainErrors } from '../../api/names.js';
import { componentConnection } from '../../client/in-cluster.js';
import { systemClock } from '../../machinery/clock.js';
import { RestStore } from '../../machinery/rest-store.js';
import { SharedInformerCache } from '../../machinery/shared-cache.js';
import { parseCommand } from '../args.js';
import { stopComponents } from '../components.js';
import type { RunningComponent } from '../component.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../io.js';
import { parseMaster, takeBoolFlag } from '../leader-flags.js';
import { startNodes } from '../node-components.js';
import { csiDriverFlags, loggerFor, logOptions, untilAborted } from '../process-flags.js';

const options = {
  kubeconfig: { type: 'string' },
  master: { type: 'string' },
  'node-name': { type: 'string' },
  'root-dir': { type: 'string' },
  'csi-driver': { type: 'string', multiple: true },
  ...logOptions,
  help: { type: 'boolean', short: 'h' },
} as const;

export const NODE_USAGE =
  'berth node --kubeconfig=F [--master=URL[,URL]] [--node-name=NAME (default: hostname)] [--root-dir=DIR (default /var/lib/berth)] [--csi-driver NAME=SOCKET]... [--local-driver=true] [--log-level=info]';

export const DEFAULT_ROOT_DIR = '/var/lib/berth';

/** Pure: the node name, as kubelet's --hostname-override (lower-cased hostname by default). */
export function parseNodeName(flag: string | undefined, host: string): string {
  const name = flag ?? host.toLowerCase();
  if (dns1123SubdomainErrors(name).length > 0) {
    throw new UsageError(
      `invalid argument "${name}" for "--node-name" flag: a node name must be a DNS-1123 subdomain`,
    );
  }
  return name;
}

export async function runNode(ctx: CommandContext, argv: string[]): Promise<number> {
  const [localDriver, rest] = takeBoolFlag(argv, 'local-driver', true);
  const { values, positionals } = parseCommand('node', rest, options);
  if (values.help) {
    ctx.io.stdout.write(`${NODE_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`node: unexpected argument "${positionals[0]}"`);
  const name = parseNodeName(values['node-name'], hostname());
  const masters = parseMaster(values.master);
  const rootDir = resolve(ctx.cwd, values['root-dir'] ?? DEFAULT_ROOT_DIR);
  const csiDrivers = csiDriverFlags(values['csi-driver']);
  const logger = loggerFor(ctx, values['log-level']);
  const kubeconfig = values.kubeconfig === undefined ? undefined : resolve(ctx.cwd, values.kubeconfig);
  const connection = await componentConnection({ kubeconfig, env: ctx.env });
  // several API servers: each request goes to one that answers, as the controller-manager's
  const servers = masters.length > 0 ? masters : [connection.target.server];
  const store = RestStore.connect(
    { ...connection.target, servers },
    { fetch: connection.fetch, clock: systemClock, logger },
  );
  const informers = new SharedInformerCache({
    store,
    clock: systemClock,
    logger: logger.child({ component: 'informers' }),
  });
  const started: RunningComponent[] = [{ name: 'informers', stop: () => informers.stop() }];
  try {
    await startNodes(
      {
        store,
        informers,
        logger,
        clock: systemClock,
        dataDir: rootDir,
        apiUrl: connection.target.server,
      },
      [{ name, rootDir }],
      started,
      csiDrivers,
      { flexAttach: 'node', localDriver },
    );
    ctx.io.stdout.write(
      `berth node ${name} running against ${servers.join(',')} (${connection.source})\n` +
        `root directory: ${rootDir}\n`,
    );
    await untilAborted(ctx.io.signal);
    ctx.io.stdout.write('berth node stopping\n');
  } finally {
    await stopComponents(started, logger);
    await store.close();
  }
  ctx.io.stdout.write('berth node stopped\n');
  return 0;
}
