// Command dispatch: `runCli(argv, io)` runs one berth command and answers its exit code. Errors
// are printed the way kubectl prints them; nothing here touches process state.
import { commandLine } from './command-line.js';
import type { CommandContext } from './context.js';
import { contextFor } from './context.js';
import { formatError } from './errors.js';
import type { CliIo } from './io.js';

type Command = (ctx: CommandContext, argv: string[]) => Promise<number>;

// Each command's module loads only when that command runs, so `berth version` or `berth get`
// never pay for the server, controllers and drivers at start-up.
const commands: Record<string, { run: () => Promise<Command>; summary: string }> = {
  up: {
    run: async () => (await import('./commands/up.js')).runUp,
    summary:
      'run berth here: API server, store, controllers, node agents [--data-dir D] [--secure-port N] [--node NAME]... [--root-dir D] [--csi-driver NAME=SOCKET]... [--event-ttl 1h] [--node-monitor-grace-period 40s] [--control-plane-only]',
  },
  down: {
    run: async () => (await import('./commands/down.js')).runDown,
    summary:
      'take down what `berth up` left for a data directory: stop it, unmount volumes, detach loop devices --data-dir D [--purge]',
  },
  apiserver: {
    run: async () => (await import('./commands/apiserver.js')).runApiserver,
    summary:
      'the API server alone, on etcd: --etcd-servers=URL[,URL] [--secure-port=6443] [--bind-address=IP] [--data-dir=D] [--etcd-cafile/certfile/keyfile=F]',
  },
  'controller-manager': {
    run: async () => (await import('./commands/controller-manager.js')).runControllerManager,
    summary:
      'the controllers alone, over the REST API, one leader by Lease: --kubeconfig=F [--master=URL[,URL]] [--leader-elect=true] [--leader-elect-lease-duration=15s] [--leader-elect-renew-deadline=10s] [--leader-elect-retry-period=2s]',
  },
  apply: {
    run: async () => (await import('./commands/apply.js')).runApply,
    summary: 'create or update objects from manifests: -f FILE|DIR|- [-R] [-n NS]',
  },
  create: {
    run: async () => (await import('./commands/apply.js')).runCreate,
    summary: 'create objects from manifests: -f FILE|DIR|-',
  },
  get: {
    run: async () => (await import('./commands/get.js')).runGet,
    summary: 'list objects: KIND[,KIND...] [NAME...] [-n NS|-A] [-o wide|yaml|json|name] [-l SEL] [-w]',
  },
  describe: {
    run: async () => (await import('./commands/describe.js')).runDescribe,
    summary: 'show details and events: KIND [NAME...]',
  },
  delete: {
    run: async () => (await import('./commands/delete.js')).runDelete,
    summary: 'delete objects: -f FILE | KIND NAME... | KIND -l SEL [--wait] [--timeout D]',
  },
  wait: {
    run: async () => (await import('./commands/wait.js')).runWait,
    summary: "wait for a condition: --for=delete|condition=X|jsonpath='{.status.phase}'=Bound KIND/NAME",
  },
  driver: {
    run: async () => (await import('./commands/driver.js')).runDriver,
    summary: 'run a CSI driver standalone: local|nfs|rbd --endpoint unix:///path/csi.sock --node-id NAME ...',
  },
  sidecar: {
    run: async () => (await import('./commands/sidecar.js')).runSidecar,
    summary:
      'a CSI sidecar as its own process: provisioner|attacher|resizer --csi-address=SOCK [--kubeconfig=F] [--leader-election] [--http-endpoint=:PORT] [--timeout=D] [--worker-threads=N] ...',
  },
  node: {
    run: async () => (await import('./commands/node.js')).runNode,
    summary:
      "one host's node agent against any API server: --kubeconfig=F [--master=URL[,URL]] [--node-name=NAME] [--root-dir=/var/lib/berth] [--csi-driver NAME=SOCKET]... [--local-driver=false]",
  },
  'node-plugin': {
    run: async () => (await import('./commands/node-plugin.js')).runNodePlugin,
    summary:
      'a built-in CSI driver registered with the kubelet: --driver=local|nfs|rbd --csi-address=SOCK --kubelet-registration-path=PATH [--plugin-registration-dir=DIR] [driver flags]',
  },
  store: {
    run: async () => (await import('./commands/store.js')).runStore,
    summary:
      'check, repair, back up and restore the embedded store: verify|repair --data-dir D | backup -o FILE [--kubeconfig K] | restore FILE --data-dir NEW',
  },
  completion: {
    run: async () => {
      const { runCompletion } = await import('./commands/completion.js');
      return (ctx, argv) => runCompletion(ctx, argv, commandNames());
    },
    summary: 'print a shell completion script: bash|zsh (source <(berth completion bash))',
  },
  version: {
    run: async () => (await import('./commands/version.js')).runVersion,
    summary: 'print the client and server versions',
  },
  demo: {
    run: async () => (await import('./commands/demo.js')).runDemo,
    summary: 'start a throw-away berth, apply examples/, show the result',
  },
};

export function commandNames(): string[] {
  return Object.keys(commands);
}

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'berth: Kubernetes storage orchestration, with or without Kubernetes',
    '',
    'Usage: berth COMMAND [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    'Client commands find the API through --kubeconfig, else $KUBECONFIG (its files merged as kubectl',
    'merges them), else $BERTH_DATA_DIR/kubeconfig, else ~/.berth/kubeconfig. --kubeconfig, --context',
    'and -n/--namespace may come before or after the command.',
    '',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof commandLine>;
  try {
    parsed = commandLine(argv);
  } catch (err) {
    io.stderr.write(`${formatError(err)}\n`);
    return 1;
  }
  const { name, rest } = parsed;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? 1 : 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`error: unknown command "${name}" for "berth"\n\n${usage()}`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`berth ${name}: ${command.summary}\n`);
    return 0;
  }
  try {
    const run = await command.run();
    return await run(contextFor(io), rest);
  } catch (err) {
    io.stderr.write(`${formatError(err)}\n`);
    return 1;
  }
}
