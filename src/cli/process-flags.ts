// What the long-running commands (up, apiserver, controller-manager, node) share: --log-level
// and running until the command's signal.
import { JsonLogger, type LogLevel } from '../machinery/logger.js';
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
