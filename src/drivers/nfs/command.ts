// `berth driver nfs --endpoint unix:///path/csi.sock --node-id NAME [--mount-helper PATH]
// [--nfs-port N --mount-port N]`: runs the driver until SIGINT/SIGTERM (or the given signal aborts).
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Logger } from '../../machinery/logger.js';
import { JsonLogger } from '../../machinery/logger.js';
import type { NfsDriverOptions } from './driver.js';
import { startNfsDriver } from './driver.js';
import { serveUntilStopped } from '../../csi/server.js';

export const NFS_DRIVER_USAGE =
  'usage: berth driver nfs --endpoint unix:///path/csi.sock [--node-id NAME] [--mount-helper PATH] [--mount-timeout-ms MS] [--nfs-port N] [--mount-port N]';

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`${flag} must be a port number\n${NFS_DRIVER_USAGE}`);
  return n;
}

export function parseNfsDriverArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): NfsDriverOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      endpoint: { type: 'string' },
      'node-id': { type: 'string' },
      'mount-helper': { type: 'string' },
      'mount-timeout-ms': { type: 'string' },
      'nfs-port': { type: 'string' },
      'mount-port': { type: 'string' },
    },
    strict: true,
  });
  const endpoint = values.endpoint ?? env['CSI_ENDPOINT'];
  if (!endpoint) throw new Error(NFS_DRIVER_USAGE);
  const options: NfsDriverOptions = { endpoint, nodeId: values['node-id'] ?? os.hostname() };
  if (values['mount-helper']) options.mountHelper = values['mount-helper'];
  if (values['mount-timeout-ms']) {
    const ms = Number(values['mount-timeout-ms']);
    if (!Number.isInteger(ms) || ms <= 0)
      throw new Error(`--mount-timeout-ms must be a positive integer\n${NFS_DRIVER_USAGE}`);
    options.mountTimeoutMs = ms;
  }
  const nfsPort = port(values['nfs-port'], '--nfs-port');
  const mountPort = port(values['mount-port'], '--mount-port');
  if (nfsPort !== undefined) options.nfsPort = nfsPort;
  if (mountPort !== undefined) options.mountPort = mountPort;
  return options;
}

export async function runNfsDriverCommand(
  argv: readonly string[],
  options: { signal?: AbortSignal; log?: Logger } = {},
): Promise<void> {
  const args = parseNfsDriverArgs(argv);
  const log = options.log ?? new JsonLogger(process.stderr);
  const driver = await startNfsDriver({ ...args, log });
  await serveUntilStopped(driver, options.signal);
}
