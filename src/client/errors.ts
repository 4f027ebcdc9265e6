// Turning HTTP failures into the errors the rest of berth understands: a Kubernetes Status body
// becomes a StatusError carrying the server's own message; a refused connection says what to do.
import { StatusError } from '../api/errors.js';
import type { StatusReason } from '../api/errors.js';

export class ApiUnreachableError extends Error {
  readonly url: string;

  constructor(url: string, cause: unknown) {
    super(`cannot reach the berth API at ${url}: is \`berth up\` running?`, { cause });
    this.name = 'ApiUnreachableError';
    this.url = url;
  }
}

const reasonByCode: Record<number, StatusReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

interface StatusLike {
  kind?: unknown;
  code?: unknown;
  reason?: unknown;
  message?: unknown;
  details?: unknown;
}

/** Pure: the error for a failed response, from its status code and (maybe JSON) body text. */
export function errorFromResponse(httpStatus: number, bodyText: string): StatusError {
  let body: StatusLike | undefined;
  try {
    body = JSON.parse(bodyText) as StatusLike;
  } catch {
    body = undefined;
  }
  if (body && body.kind === 'Status') return statusErrorFrom(body, httpStatus);
  const reason = reasonByCode[httpStatus] ?? 'InternalError';
  const message = bodyText.trim() || `the server responded with HTTP ${httpStatus}`;
  return new StatusError(httpStatus, reason, message);
}

/** A Status object (from a response body or a watch ERROR event) as a StatusError. */
export function statusErrorFrom(status: StatusLike, fallbackCode = 500): StatusError {
  const code = typeof status.code === 'number' ? status.code : fallbackCode;
  const reason =
    typeof status.reason === 'string' && status.reason !== ''
      ? (status.reason as StatusReason)
      : (reasonByCode[code] ?? 'InternalError');
  const message = typeof status.message === 'string' ? status.message : `HTTP ${code}`;
  const details = status.details as StatusError['details'];
  return details ? new StatusError(code, reason, message, details) : new StatusError(code, reason, message);
}

/** True for the network errors fetch reports when nothing listens at the address. */
export function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const cause = (err as { cause?: { code?: unknown } }).cause;
  const code = cause?.code ?? (err as { code?: unknown }).code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENOTFOUND' ||
    code === 'UND_ERR_SOCKET' ||
    (err.name === 'TypeError' && err.message === 'fetch failed')
  );
}
