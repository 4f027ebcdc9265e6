// Reading a data directory without changing it: the newest snapshot, every log record that
// verifies, and every damaged range, told apart from a torn tail. A torn tail is only what a
// crash in the middle of an append leaves: a strict prefix of one frame at the very end of the
// newest segment, with nothing readable after it, and no clean-shutdown marker saying the log
// was longer. Everything else unreadable, missing or out of order is damage. Used by start-up
// (which refuses on damage), `berth store verify` and `berth store repair`.
import { readFile } from 'node:fs/promises';
import { inDir, listDataDir, type DataDirListing } from './data-dir.js';
import { isTornFrame, scanFrames } from './record-framing.js';
import { readShutdownMarker, type ShutdownMarker } from './shutdown-marker.js';
import { readSnapshotFile, refOf, SNAPSHOT_FORMAT, type SnapshotInspection } from './snapshot.js';
import type { StoredRecord } from './wal.js';

/** A data directory written by a newer version: neither read, repaired nor changed. */
export class NewerFormatError extends Error {
  constructor(dataDir: string, file: string, format: number) {
    super(
      `the store in ${dataDir} was written by a newer version of berth and will not be opened: ` +
        `${file} has snapshot format ${format}, this version reads formats 1-${SNAPSHOT_FORMAT}. ` +
        `Nothing was changed; run the newer version of berth on it.`,
    );
    this.name = 'NewerFormatError';
  }
}

export interface Damage {
  file: string;
  offset: number;
  /** Unreadable bytes at `offset` (0 when records are missing or out of order). */
  bytes: number;
  problem: string;
  /** The newest revision read in order before the damage. */
  lastGoodRevision: number;
  /** Valid log records after the damage. */
  validRecordsAfter: number;
}

export interface SegmentSummary {
  name: string;
  startRevision: number;
  bytes: number;
  records: number;
}

export interface Inspection {
  listing: DataDirListing;
  snapshot: (SnapshotInspection & { name: string }) | undefined;
  segments: SegmentSummary[];
  /** Segments wholly older than the snapshot (left by an interrupted compaction); not read. */
  supersededSegments: string[];
  /** Every record that verifies and is newer than the snapshot, in file order. */
  records: StoredRecord[];
  /** The records that continue the snapshot without a gap: what start-up replays. */
  inOrder: StoredRecord[];
  tornTail: { file: string; offset: number; bytes: number } | undefined;
  marker: ShutdownMarker | undefined;
  damage: Damage[];
  /** The newest revision any readable part of the directory mentions. */
  newestRevision: number;
}

type Found = Omit<Damage, 'lastGoodRevision' | 'validRecordsAfter'>;

/** One thing met walking the files in order: a record, damage, or the torn tail. */
interface Positioned {
  file: string;
  offset: number;
  record?: StoredRecord;
  damage?: Found;
  tornTail?: boolean;
}

export async function inspectDataDir(dir: string): Promise<Inspection> {
  const listing = await listDataDir(dir);
  const events: Positioned[] = [];
  const pre: Positioned[] = [];

  let snapshot: Inspection['snapshot'];
  const newest = listing.snapshots[0];
  if (newest) {
    const inspected = await readSnapshotFile(inDir(dir, newest.name), newest.revision);
    if (inspected.newerFormat !== undefined)
      throw new NewerFormatError(dir, newest.name, inspected.newerFormat);
    snapshot = { ...inspected, name: newest.name };
    if (inspected.problem) {
      const first = inspected.damaged[0];
      pre.push({
        file: newest.name,
        offset: 0,
        damage: {
          file: newest.name,
          offset: first?.start ?? 0,
          bytes: first ? first.end - first.start : 0,
          problem: `snapshot ${inspected.problem}`,
        },
      });
    }
  }
  const snapshotRevision = snapshot?.revision ?? 0;

  let marker: ShutdownMarker | undefined;
  if (listing.marker) {
    marker = await readShutdownMarker(dir);
    const problem = 'unreadable clean-shutdown marker';
    if (!marker)
      pre.push({
        file: listing.marker,
        offset: 0,
        damage: { file: listing.marker, offset: 0, bytes: 0, problem },
      });
  }

  const segments: SegmentSummary[] = [];
  const supersededSegments: string[] = [];
  const last = listing.segments[listing.segments.length - 1];
  for (const [i, segment] of listing.segments.entries()) {
    const next = listing.segments[i + 1];
    if (next && next.startRevision <= snapshotRevision + 1) {
      supersededSegments.push(segment.name);
      continue;
    }
    const bytes = await readFile(inDir(dir, segment.name));
    const { frames, damaged } = scanFrames(bytes);
    const isNewest = segment === last;
    const file = segment.name;
    const positioned: Positioned[] = [];
    const damage = (offset: number, length: number, problem: string): void => {
      positioned.push({ file, offset, damage: { file, offset, bytes: length, problem } });
    };
    for (const frame of frames) {
      const record = frame.value as StoredRecord;
      if (typeof record?.rev !== 'number' || typeof record.key !== 'string') {
        damage(frame.offset, frame.end - frame.offset, 'a frame that is not a log record');
      } else if (record.rev > snapshotRevision) positioned.push({ file, offset: frame.offset, record });
    }
    for (const range of damaged) {
      const atEnd = range.end === bytes.length && isNewest && !marker;
      if (atEnd && isTornFrame(bytes.subarray(range.start))) {
        positioned.push({ file, offset: range.start, tornTail: true });
      } else damage(range.start, range.end - range.start, `${range.end - range.start} unreadable bytes`);
    }
    if (isNewest && marker && marker.segment !== file) {
      damage(bytes.length, 0, `the log ends in ${file}, but it was closed cleanly in ${marker.segment}`);
    } else if (isNewest && marker && marker.length !== bytes.length) {
      const problem = `the segment is ${bytes.length} bytes, but it was closed cleanly at ${marker.length} bytes`;
      damage(Math.min(bytes.length, marker.length), Math.abs(bytes.length - marker.length), problem);
    }
    positioned.sort((a, b) => a.offset - b.offset);
    events.push(...positioned);
    segments.push({
      name: segment.name,
      startRevision: segment.startRevision,
      bytes: bytes.length,
      records: frames.length,
    });
  }
  return sequence(listing, snapshot, segments, supersededSegments, marker, [...pre, ...events]);
}

/** Walks records and damage in file order: checks that revisions follow each other. */
function sequence(
  listing: DataDirListing,
  snapshot: Inspection['snapshot'],
  segments: SegmentSummary[],
  supersededSegments: string[],
  marker: ShutdownMarker | undefined,
  events: Positioned[],
): Inspection {
  const snapshotRevision = snapshot?.revision ?? 0;
  const records: StoredRecord[] = [];
  const inOrder: StoredRecord[] = [];
  const found: Array<{ damage: Found; lastGood: number; recordsBefore: number }> = [];
  let tornTail: Inspection['tornTail'];
  let expected = snapshotRevision + 1;
  let contiguous = true;
  const note = (damage: Found): void => {
    found.push({ damage, lastGood: expected - 1, recordsBefore: records.length });
    contiguous = false;
  };
  for (const event of events) {
    const { file, offset, record } = event;
    if (event.tornTail) {
      const segment = segments.find((s) => s.name === file);
      tornTail = { file, offset, bytes: (segment?.bytes ?? offset) - offset };
    }
    if (event.damage) note(event.damage);
    if (!record) continue;
    if (record.rev < expected) {
      note({
        file,
        offset,
        bytes: 0,
        problem: `record of revision ${record.rev} out of order, after revision ${expected - 1}`,
      });
    } else if (record.rev > expected) {
      const revisions =
        record.rev - 1 === expected ? `revision ${expected}` : `revisions ${expected}-${record.rev - 1}`;
      const previous = found[found.length - 1];
      // right after unreadable bytes, the missing revisions are what those bytes held
      if (previous && previous.recordsBefore === records.length && previous.damage.bytes > 0) {
        previous.damage.problem += ` (${revisions})`;
      } else note({ file, offset, bytes: 0, problem: `${revisions} missing before revision ${record.rev}` });
    }
    records.push(record);
    if (contiguous) inOrder.push(record);
    expected = Math.max(expected, record.rev + 1);
  }
  if (marker && expected - 1 < marker.revision) {
    note({
      file: marker.segment,
      offset: segments.find((s) => s.name === marker.segment)?.bytes ?? 0,
      bytes: 0,
      problem: `the log ends at revision ${expected - 1}, but it was closed cleanly at revision ${marker.revision}`,
    });
  }
  const damage = found.map(({ damage, lastGood, recordsBefore }) => ({
    ...damage,
    lastGoodRevision: lastGood,
    validRecordsAfter: records.length - recordsBefore,
  }));
  const newestRevision = Math.max(snapshotRevision, expected - 1, marker?.revision ?? 0);
  return {
    listing,
    snapshot,
    segments,
    supersededSegments,
    records,
    inOrder,
    tornTail,
    marker,
    damage,
    newestRevision,
  };
}

/** Objects per kind at the newest readable state (snapshot plus every readable record). */
export function countObjects(inspection: Inspection): Map<string, number> {
  const latest = new Map<string, boolean>();
  for (const entry of inspection.snapshot?.entries ?? []) latest.set(refOf(entry.kind, entry.key), true);
  for (const record of [...inspection.records].sort((a, b) => a.rev - b.rev)) {
    latest.set(refOf(record.kind, record.key), record.op === 'put');
  }
  const counts = new Map<string, number>();
  for (const [ref, present] of latest) {
    if (!present) continue;
    const kind = ref.slice(0, ref.indexOf(' '));
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}
