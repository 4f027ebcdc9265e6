// `berth driver NAME ...`: runs one of berth's CSI drivers standalone on a unix socket, so any
// CSI host (a Kubernetes DaemonSet included) or CSI tool can drive it. Drivers load lazily, so
// other commands never pay for their imports.
import type { CommandContext } from '../context.js';
import { UsageError } from '../io.js';

type DriverCommand = (argv: readonly string[], options: { signal?: AbortSignal }) => Promise<void>;

const drivers: Record<string, () => Promise<DriverCommand>> = {
  local: async () => (await import('../../drivers/local/index.js')).runLocalDriverCommand,
  nfs: async () => (await import('../../drivers/nfs/index.js')).runNfsDriverCommand,
  rbd: async () => (await import('../../drivers/rbd/index.js')).runRbdDriverCommand,
};

export async function runDriver(ctx: CommandContext, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name === undefined ? undefined : drivers[name];
  if (!load) {
    throw new UsageError(
      `driver: ${name === undefined ? 'missing driver name' : `unknown driver "${name}"`}: expected one of ${Object.keys(drivers).join(', ')}`,
    );
  }
  const run = await load();
  await run(rest, ctx.io.signal ? { signal: ctx.io.signal } : {});
  return 0;
}
