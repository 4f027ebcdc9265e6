// Pure: how the CLI reports a failure, in kubectl's words.
import { isStatusError } from '../api/errors.js';
import { UsageError } from './io.js';

/**
 * `Error from server (NotFound): persistentvolumeclaims "x" not found` for server errors;
 * `error: ...` for everything else. `context` is kubectl's `error when creating "file.yaml"`.
 */
export function formatError(err: unknown, context?: string): string {
  const prefix = context ? `${context}: ` : '';
  if (isStatusError(err)) return `Error from server (${err.reason}): ${prefix}${err.message}`;
  if (err instanceof UsageError) return `error: ${prefix}${err.message}`;
  const message = err instanceof Error ? err.message : String(err);
  return `error: ${prefix}${message}`;
}
