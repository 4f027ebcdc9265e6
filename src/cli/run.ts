// Command dispatch: `runCli(argv, io)` runs one berth command and answers its exit code. Errors
// are printed the way kubectl prints them; nothing here touches process state.
import { runApply, runCreate } from './commands/apply.js';
import { runDelete } from './commands/delete.js';
import { runDemo } from './commands/demo.js';
import { runDescribe } from './commands/describe.js';
import { runDriver } from './commands/driver.js';
import { runGet } from './commands/get.js';
import { runStore, STORE_USAGE } from './commands/store.js';
import { runUp } from './commands/up.js';
import { runVersion } from './commands/version.js';
import { runWait } from './commands/wait.js';
import type { CommandContext } from './context.js';
import { contextFor } from './context.js';
import { formatError } from './errors.js';
import type { CliIo } from './io.js';

type Command = (ctx: CommandContext, argv: string[]) => Promise<number>;

const commands: Record<string, { run: Command; summary: string }> = {
  up: {
    run: runUp,
    summary:
      'run berth here: API server, store, controllers, node agents [--data-dir D] [--port N] [--node NAME]... [--root-dir D] [--csi-driver NAME=SOCKET]...',
  },
  apply: { run: runApply, summary: 'create or update objects from manifests: -f FILE|DIR|- [-R] [-n NS]' },
  create: { run: runCreate, summary: 'create objects from manifests: -f FILE|DIR|-' },
  get: {
    run: runGet,
    summary: 'list objects: KIND[,KIND...] [NAME...] [-n NS|-A] [-o wide|yaml|json|name] [-l SEL] [-w]',
  },
  describe: { run: runDescribe, summary: 'show details and events: KIND [NAME...]' },
  delete: {
    run: runDelete,
    summary: 'delete objects: -f FILE | KIND NAME... | KIND -l SEL [--wait] [--timeout D]',
  },
  wait: {
    run: runWait,
    summary: "wait for a condition: --for=delete|condition=X|jsonpath='{.status.phase}'=Bound KIND/NAME",
  },
  driver: {
    run: runDriver,
    summary: 'run a CSI driver standalone: local|nfs|rbd --endpoint unix:///path/csi.sock --node-id NAME ...',
  },
  store: { run: runStore, summary: STORE_USAGE },
  version: { run: runVersion, summary: 'print the client and server versions' },
  demo: { run: runDemo, summary: 'start a throw-away berth, apply examples/, show the result' },
};

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
    'Client commands find the API through --kubeconfig, else $BERTH_DATA_DIR/kubeconfig, else ~/.berth/kubeconfig.',
    '',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
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
    return await command.run(contextFor(io), rest);
  } catch (err) {
    io.stderr.write(`${formatError(err)}\n`);
    return 1;
  }
}
