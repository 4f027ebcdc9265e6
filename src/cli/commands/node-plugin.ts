// `berth node-plugin --driver=local|nfs|rbd --csi-address=SOCK --kubelet-registration-path=PATH
// [--plugin-registration-dir=DIR] [--log-level=L] [driver flags]`: a built-in driver registered
// with the kubelet (the DaemonSet container of cluster mode). Flags it does not know go to the
// driver (--node-id, --data-dir, --config, ...). Exits 1 when the kubelet rejects the plugin.
import type { CommandContext } from '../context.js';
import { UsageError } from '../io.js';
import { DEFAULT_PLUGIN_REGISTRATION_DIR, startNodePlugin } from '../node-plugin.js';
import { loggerFor } from '../process-flags.js';

const OWN_FLAGS = [
  'driver',
  'csi-address',
  'kubelet-registration-path',
  'plugin-registration-dir',
  'log-level',
] as const;
type OwnFlag = (typeof OWN_FLAGS)[number];

/** Splits argv into this command's flags and the rest, which belongs to the driver. */
export function splitNodePluginArgs(argv: readonly string[]): {
  own: Partial<Record<OwnFlag, string>>;
  driverArgs: string[];
} {
  const own: Partial<Record<OwnFlag, string>> = {};
  const driverArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1] as OwnFlag | undefined;
    if (!m || !name || !OWN_FLAGS.includes(name)) {
      driverArgs.push(arg);
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--'))
        throw new UsageError(`node-plugin: flag needs an argument: --${name}`);
      i++;
    }
    if (own[name] !== undefined) throw new UsageError(`node-plugin: --${name} given twice`);
    own[name] = value;
  }
  return { own, driverArgs };
}

export async function runNodePlugin(ctx: CommandContext, argv: string[]): Promise<number> {
  const { own, driverArgs } = splitNodePluginArgs(argv);
  if (own.driver === undefined) throw new UsageError('node-plugin: --driver is required (local, nfs or rbd)');
  const log = loggerFor(ctx, own['log-level']);
  const plugin = await startNodePlugin({
    driver: own.driver,
    csiAddress: own['csi-address'] ?? '',
    kubeletRegistrationPath: own['kubelet-registration-path'] ?? '',
    registrationDir: own['plugin-registration-dir'] ?? DEFAULT_PLUGIN_REGISTRATION_DIR,
    driverArgs,
    log,
  });
  const outcome = await new Promise<'stopped' | 'rejected'>((resolve) => {
    const signal = ctx.io.signal;
    if (signal?.aborted) resolve('stopped');
    signal?.addEventListener('abort', () => resolve('stopped'), { once: true });
    void plugin.registrationFailed.then(() => resolve('rejected'));
  });
  await plugin.shutdown();
  return outcome === 'rejected' ? 1 : 0;
}
