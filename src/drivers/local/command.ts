// `berth driver local --endpoint unix:///path/csi.sock --node-id NAME --data-dir DIR`: runs the
// driver until SIGINT/SIGTERM (or the given signal aborts).
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Logger } from '../../machinery/logger.js';
import { JsonLogger } from '../../machinery/logger.js';
import { startLocalDriver } from './driver.js';
import { serveUntilStopped } from '../../csi/server.js';

export interface LocalDriverArgs {
  endpoint: string;
  nodeId: string;
  dataDir: string;
}

export const LOCAL_DRIVER_USAGE =
  'usage: berth driver local --endpoint unix:///path/csi.sock [--node-id NAME] --data-dir DIR';

export function parseLocalDriverArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): LocalDriverArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      endpoint: { type: 'string' },
      'node-id': { type: 'string' },
      'data-dir': { type: 'string' },
    },
    strict: true,
  });
  const endpoint = values.endpoint ?? env['CSI_ENDPOINT'];
  const dataDir = values['data-dir'];
  if (!endpoint || !dataDir) throw new Error(LOCAL_DRIVER_USAGE);
  return { endpoint, dataDir, nodeId: values['node-id'] ?? os.hostname() };
}

export async function runLocalDriverCommand(
  argv: readonly string[],
  options: { signal?: AbortSignal; log?: Logger } = {},
): Promise<void> {
  const args = parseLocalDriverArgs(argv);
  const log = options.log ?? new JsonLogger(process.stderr);
  const driver = await startLocalDriver({ ...args, log });
  await serveUntilStopped(driver, options.signal);
}
