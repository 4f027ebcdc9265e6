// List paging for drivers: starting_token is an index into a sorted list that the driver gave out.
import { csiError, status } from '../../csi/errors.js';
import type { ListSnapshotsResponse, Snapshot } from '../../csi/types.js';

/** A page of `entries` from `starting_token` (an index); ABORTED for a token this driver never gave. */
export function pageOf<T>(entries: readonly T[], req: { max_entries?: number; starting_token?: string }) {
  const max = req.max_entries ?? 0;
  if (max < 0) throw csiError(status.INVALID_ARGUMENT, 'max_entries must not be negative');
  const token = req.starting_token ?? '';
  let start = 0;
  if (token !== '') {
    if (!/^\d{1,9}$/.test(token) || Number(token) > entries.length) {
      throw csiError(status.ABORTED, `starting_token ${JSON.stringify(token.slice(0, 64))} is not valid`);
    }
    start = Number(token);
  }
  const end = max > 0 ? Math.min(start + max, entries.length) : entries.length;
  return { page: entries.slice(start, end), next_token: end < entries.length ? String(end) : '' };
}

/** A ListSnapshots answer: the snapshots ordered by id, one page of them, and the next token. */
export function snapshotPage(
  snapshots: readonly Snapshot[],
  req: { max_entries?: number; starting_token?: string },
): ListSnapshotsResponse {
  const sorted = [...snapshots].sort((a, b) =>
    a.snapshot_id < b.snapshot_id ? -1 : a.snapshot_id > b.snapshot_id ? 1 : 0,
  );
  const { page, next_token } = pageOf(sorted, req);
  return { entries: page.map((snapshot) => ({ snapshot })), next_token };
}
