// `berth driver rbd --endpoint unix:///path/csi.sock --node-id NAME --config FILE [--state-dir DIR]
// [--default-mounter krbd|rbd-nbd|rbd-fuse]`: runs the driver until SIGINT/SIGTERM (or the signal aborts).
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Logger } from '../../machinery/logger.js';
import { JsonLogger } from '../../machinery/logger.js';
import type { MounterName } from './config.js';
import { MOUNTERS } from './config.js';
import { DEFAULT_STATE_DIR, startRbdDriver } from './driver.js';
import { serveUntilStopped } from '../../csi/server.js';

export interface RbdDriverArgs {
  endpoint: string;
  nodeId: string;
  configFile: string;
  stateDir: string;
  defaultMounter: MounterName;
}

export const RBD_DRIVER_USAGE =
  'usage: berth driver rbd --endpoint unix:///path/csi.sock [--node-id NAME] --config FILE ' +
  `[--state-dir DIR] [--default-mounter ${MOUNTERS.join('|')}]`;

export function parseRbdDriverArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): RbdDriverArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      endpoint: { type: 'string' },
      'node-id': { type: 'string' },
      config: { type: 'string' },
      'state-dir': { type: 'string' },
      'default-mounter': { type: 'string' },
    },
    strict: true,
  });
  const endpoint = values.endpoint ?? env['CSI_ENDPOINT'];
  const configFile = values.config;
  if (!endpoint || !configFile) throw new Error(RBD_DRIVER_USAGE);
  const mounter = values['default-mounter'] ?? 'krbd';
  if (!(MOUNTERS as readonly string[]).includes(mounter)) throw new Error(RBD_DRIVER_USAGE);
  return {
    endpoint,
    configFile,
    nodeId: values['node-id'] ?? os.hostname(),
    stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR,
    defaultMounter: mounter as MounterName,
  };
}

export async function runRbdDriverCommand(
  argv: readonly string[],
  options: { signal?: AbortSignal; log?: Logger } = {},
): Promise<void> {
  const args = parseRbdDriverArgs(argv);
  const log = options.log ?? new JsonLogger(process.stderr);
  const driver = await startRbdDriver({ ...args, log });
  await serveUntilStopped(driver, options.signal);
}
