// What the long-running commands (up, apiserver, controller-manager, node) share: --log-level,
// --csi-driver and running until the command's signal.
import { JsonLogger, type LogLevel } from '../machinery/logger.js';
import { parseCsiDriverFlags, type DriverEndpoint } from '../node/index.js';
import type { CommandContext } from './context.js';
import { UsageError } from './io.js';

export const logOptions = { 'log-level': { type: 'string' } } as const;

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function loggerFor(ctx: CommandContext, text: string | undefined): JsonLogger {
  const level = (text ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) {
    throw new UsageError(
      `invalid argument "${level}" for "--log-level" flag: expected ${LOG_LEVELS.join(', ')}`,
    );
  }
  return new JsonLogger(ctx.io.stderr, { level });
}

export function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return; // no way to be stopped: run until the process ends
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** The repeatable `--csi-driver NAME=SOCKET` of up, controller-manager and node. */
export function csiDriverFlags(values: readonly string[] | undefined): DriverEndpoint[] {
  try {
    return parseCsiDriverFlags(values ?? []);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
