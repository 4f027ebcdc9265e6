// List paging (`limit` / `continue`), as the Kubernetes API does it: a page ends with an opaque
// token naming the revision of the first page and the key the next page starts after. Every
// backend uses these, so tokens and errors read the same whichever store answers.
import type { StatusError } from '../api/errors.js';
import { badRequest, gone } from '../api/errors.js';
import type { ListOptions } from './types.js';

export interface ContinuePoint {
  /** The revision the first page was read at; later pages answer with it too. */
  revision: number;
  /** The last key of the previous page; the next page starts after it. */
  afterKey: string;
}

/** Largest accepted limit: a page is held in memory whole. */
const MAX_LIMIT = 100_000;

export function encodeContinue(point: ContinuePoint): string {
  return Buffer.from(JSON.stringify({ v: 'berth/v1', rv: point.revision, start: point.afterKey })).toString(
    'base64url',
  );
}

export function decodeContinue(token: string): ContinuePoint {
  const fail = (why: string): StatusError => badRequest(`continue key is not valid: ${why}`);
  if (token.length > 8192) throw fail('too long');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw fail('not a continue token of this server');
  }
  const { v, rv, start } = (doc ?? {}) as Record<string, unknown>;
  if (v !== 'berth/v1') throw fail('not a continue token of this server');
  if (typeof rv !== 'number' || !Number.isSafeInteger(rv) || rv < 1) throw fail('bad resource version');
  if (typeof start !== 'string' || start === '') throw fail('bad start key');
  return { revision: rv, afterKey: start };
}

/** The page size asked for, or undefined for "everything"; 400 for a malformed one. */
export function pageLimit(options: ListOptions): number | undefined {
  const { limit } = options;
  if (limit === undefined || limit === 0) return undefined;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw badRequest(`limit must be a non-negative integer, got ${String(limit)}`);
  }
  return Math.min(limit, MAX_LIMIT);
}

/** A continue token whose revision the store no longer has (as the API server words it). */
export function continueExpired(): StatusError {
  return gone(
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
  );
}

/**
 * One page of `entries` (sorted by key, already filtered): the items after `afterKey`, at most
 * `limit`, and the continue point when more follow.
 */
export function pageOf<T>(
  entries: ReadonlyArray<readonly [string, T]>,
  revision: number,
  limit: number | undefined,
  afterKey: string | undefined,
): { items: T[]; next: ContinuePoint | undefined } {
  let start = 0;
  if (afterKey !== undefined) {
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (entries[mid]![0] <= afterKey) low = mid + 1;
      else high = mid;
    }
    start = low;
  }
  const end = limit === undefined ? entries.length : Math.min(entries.length, start + limit);
  const items = entries.slice(start, end).map(([, value]) => value);
  const next = end < entries.length ? { revision, afterKey: entries[end - 1]![0] } : undefined;
  return { items, next };
}
