// gRPC status handling for CSI calls: one error type, and the in-progress/final split that tells a
// caller whether the same request must be retried (the operation may still be running) or not.
import { status } from '@grpc/grpc-js';

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(status)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .map(([name, code]) => [code, name]),
);

export function statusName(code: number): string {
  return CODE_NAMES[code] ?? `CODE_${code}`;
}

export class CsiError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly details: string;
  /** True when the error never came back as a gRPC status (it wraps a local failure). */
  readonly local: boolean;

  constructor(code: number, details: string, options?: { cause?: unknown; local?: boolean }) {
    super(
      `${statusName(code)}: ${details}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'CsiError';
    this.code = code;
    this.codeName = statusName(code);
    this.details = details;
    this.local = options?.local ?? false;
  }
}

/** For drivers: `throw csiError(status.NOT_FOUND, 'volume x not found')`. */
export function csiError(code: number, details: string): CsiError {
  return new CsiError(code, details);
}

interface StatusLike {
  code: number;
  details?: string;
  message?: string;
}

function isStatusLike(err: unknown): err is StatusLike {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number';
}

/** Turns a grpc-js ServiceError (or anything thrown) into a CsiError; non-gRPC errors become UNKNOWN. */
export function toCsiError(err: unknown): CsiError {
  if (err instanceof CsiError) return err;
  if (isStatusLike(err)) {
    const details = err.details ?? err.message ?? '';
    return new CsiError(err.code, details, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CsiError(status.UNKNOWN, message, { cause: err, local: true });
}

// Codes after which the driver may still be working on the request (external-attacher's list).
const IN_PROGRESS_CODES: ReadonlySet<number> = new Set([
  status.CANCELLED,
  status.DEADLINE_EXCEEDED,
  status.UNAVAILABLE,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
]);

export type CsiErrorClass = 'in-progress' | 'final';

/**
 * 'in-progress': the operation may still be running; retry the very same request.
 * 'final': it failed before starting or failed for good. Errors without a gRPC status never reached
 * the driver's answer, so they are treated as in-progress too (we cannot know).
 */
export function classify(err: unknown): CsiErrorClass {
  if (err instanceof CsiError && err.local) return 'in-progress';
  if (err instanceof CsiError || isStatusLike(err)) {
    return IN_PROGRESS_CODES.has(err.code) ? 'in-progress' : 'final';
  }
  return 'in-progress';
}

export function isRetryable(err: unknown): boolean {
  return classify(err) === 'in-progress';
}

export { status };
