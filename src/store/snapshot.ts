// Snapshots: every object at one revision, written atomically (temp file, fsync, rename, fsync
// of the directory) with the same framing as the log. Layout: a header, an index of every
// object's reference, the objects in reference order, the index again, and a trailer holding
// the count and a SHA-256 over every byte before it. The index is written twice so that one
// damaged range cannot hide both an object and its name: repair can say which objects it lost.
// Formats 3 and 4 also hold a table of the distinct metadata.managedFields entries, after the
// header; objects name their entries by row (see snapshot-fields.ts). Format 4 names an object's
// kind `table`, not `kind`: a version that reads only formats 1-2 refuses the file, and its
// repair took format 3's objects for whole ones (serving row numbers as managedFields), where it
// cannot take format 4's for anything (it names them lost). Formats 1-3 are still read; a newer
// format is refused, never guessed at.
// Backups (`berth store backup`) are snapshot files too.
import { createHash, type Hash } from 'node:crypto';
import { rename, unlink, type FileHandle } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import type { KubeObject } from '../api/meta.js';
import { inDir, snapshotName, syncDir } from './data-dir.js';
import { readFileShared, sha256Elsewhere, sha256Hex } from './digest.js';
import {
  encodeFrame,
  lastFrame,
  scanFrames,
  type ByteRange,
  type ScannedFrame,
  type ScannedFrames,
} from './record-framing.js';
import { FieldsTable, TableRows } from './snapshot-fields.js';
import { nodeStoreFs, PRIVATE_FILE_MODE, type StoreFs } from './store-fs.js';

export interface SnapshotEntry {
  kind: string;
  key: string;
  object: KubeObject;
}

export interface Snapshot {
  revision: number;
  entries: SnapshotEntry[];
}

interface Header {
  snapshot: 1 | 2 | 3 | 4;
  revision: number;
  count: number;
  /** Formats 3 and 4: rows in the managedFields table. */
  fields?: number;
}

/** The newest snapshot format this version reads and the one it writes. */
export const SNAPSHOT_FORMAT = 4;

const INDEX_CHUNK = 512;

/** How an object is named in indexes, hints and repair reports: `<group>/<plural> <key>`. */
export function refOf(kind: string, key: string): string {
  return `${kind} ${key}`;
}

/** The entries in reference order, with their references (computed once, not per comparison). */
function sortedByRef(entries: readonly SnapshotEntry[]): { entries: SnapshotEntry[]; refs: string[] } {
  const refs = entries.map((e) => refOf(e.kind, e.key));
  const order = refs
    .map((_, i) => i)
    .sort((a, b) => (refs[a]! < refs[b]! ? -1 : refs[a]! > refs[b]! ? 1 : 0));
  return { entries: order.map((i) => entries[i]!), refs: order.map((i) => refs[i]!) };
}

/** Every frame of a snapshot file but the trailer, in file order. */
function* bodyFrames(snapshot: Snapshot): Generator<Buffer> {
  const { entries, refs } = sortedByRef(snapshot.entries);
  const table = new FieldsTable();
  for (const entry of entries) table.add(entry.object);
  const header: Header = {
    snapshot: SNAPSHOT_FORMAT,
    revision: snapshot.revision,
    count: entries.length,
    fields: table.rows.length,
  };
  yield encodeFrame(header);
  yield* table.frames();
  const index: Buffer[] = [];
  for (let i = 0; i < refs.length; i += INDEX_CHUNK)
    index.push(encodeFrame({ refs: refs.slice(i, i + INDEX_CHUNK) }));
  yield* index;
  // each object's copy with row numbers made as it is encoded, not all at once
  for (const { kind, key, object } of entries)
    yield encodeFrame({ table: kind, key, object: table.withRows(object) });
  yield* index;
}

/** The trailer: the count and a SHA-256 over every byte before it. */
function trailerFrame(count: number, body: Hash): Buffer {
  return encodeFrame({ end: count, sha256: body.digest('hex') });
}

/** The bytes of a snapshot file. */
export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const hash = createHash('sha256');
  const frames: Buffer[] = [];
  for (const frame of bodyFrames(snapshot)) {
    hash.update(frame);
    frames.push(frame);
  }
  frames.push(trailerFrame(snapshot.entries.length, hash));
  return Buffer.concat(frames);
}

/** Frames encoded between two turns of the event loop: a few milliseconds of work. */
const FRAMES_PER_TURN = 256;

/**
 * The frames of a snapshot file (the bytes of encodeSnapshot), a batch per turn of the event
 * loop: a running store compacts, or serves a backup, without stalling its requests for the
 * whole encoding, and without one copy of every byte in a single buffer.
 */
export async function* snapshotBatches(snapshot: Snapshot): AsyncGenerator<Buffer[]> {
  const hash = createHash('sha256');
  let batch: Buffer[] = [];
  for (const frame of bodyFrames(snapshot)) {
    hash.update(frame);
    batch.push(frame);
    if (batch.length === FRAMES_PER_TURN) {
      yield batch;
      batch = [];
      await setImmediate();
    }
  }
  batch.push(trailerFrame(snapshot.entries.length, hash));
  yield batch;
}

export async function writeSnapshot(
  dir: string,
  snapshot: Snapshot,
  fs: StoreFs = nodeStoreFs,
): Promise<string> {
  const name = snapshotName(snapshot.revision);
  await writeFileDurably(dir, name, snapshotBatches(snapshot), fs);
  return name;
}

/** Writes every byte of `buffers`, in order (a write may take fewer bytes than it was given). */
async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  const pending = buffers.filter((b) => b.length > 0);
  while (pending.length > 0) {
    let written = (await handle.writev(pending)).bytesWritten;
    while (pending.length > 0 && written >= pending[0]!.length) written -= pending.shift()!.length;
    if (written > 0) pending[0] = pending[0]!.subarray(written);
  }
}

/** temp file, fsync, rename, fsync of the directory; the temp file is removed on failure. */
export async function writeFileDurably(
  dir: string,
  name: string,
  content: Buffer | AsyncIterable<Buffer[]>,
  fs: StoreFs = nodeStoreFs,
) {
  const temp = inDir(dir, `${name}.tmp`);
  try {
    const handle = await fs.open(temp, 'w', PRIVATE_FILE_MODE);
    try {
      if (Buffer.isBuffer(content)) await writeAll(handle, [content]);
      else for await (const batch of content) await writeAll(handle, batch);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, inDir(dir, name));
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir, fs);
}

/** What could be read of a snapshot file, intact or not. */
export interface SnapshotInspection {
  revision: number;
  /** Every entry whose frame verifies. */
  entries: SnapshotEntry[];
  /**
   * The references the snapshot's indexes list (each copy of the index, in chunks), as far as
   * they can be read: the objects it holds, even those whose entry is damaged.
   */
  indexRefs: unknown[][];
  /** Why the snapshot may not be used; undefined when it is whole. */
  problem: string | undefined;
  damaged: ByteRange[];
  /** Formats 3-4: the managedFields entries the objects share (frozen), for the store to share further. */
  sharedFields: unknown[];
  /** The snapshot's format, when it is newer than this version reads. */
  newerFormat: number | undefined;
}

/** The digest a snapshot's last frame (its trailer, when whole) claims for the bytes before it. */
function claimedDigest(last: ScannedFrame | undefined): string | undefined {
  const sha256 = (last?.value as { sha256?: unknown } | undefined)?.sha256;
  return typeof sha256 === 'string' ? sha256 : undefined;
}

/** `revisionFromName` is the revision a data directory's file name claims (absent for backups). */
export function inspectSnapshot(bytes: Buffer, revisionFromName?: number): SnapshotInspection {
  // A whole snapshot ends with its trailer: when the SHA-256 of the bytes before it matches,
  // every frame is as written and their CRC-32s need not be computed as well (at 100k objects,
  // about as long as the digest). Otherwise every frame is checked, to find what is readable.
  const last = lastFrame(bytes);
  const claimed = claimedDigest(last);
  const verifiedBefore =
    last && claimed !== undefined && sha256Hex(bytes.subarray(0, last.offset)) === claimed
      ? last.offset
      : undefined;
  return inspectScanned(
    bytes,
    scanFrames(bytes, verifiedBefore !== undefined),
    verifiedBefore,
    revisionFromName,
  );
}

/** What the frames of a snapshot hold; `verifiedBefore`: the bytes before it matched the trailer's digest. */
function inspectScanned(
  bytes: Buffer,
  { frames, damaged }: ScannedFrames,
  verifiedBefore: number | undefined,
  revisionFromName: number | undefined,
): SnapshotInspection {
  const header = frames[0]?.offset === 0 ? (frames[0].value as Partial<Header>) : undefined;
  const newerFormat =
    typeof header?.snapshot === 'number' && header.snapshot > SNAPSHOT_FORMAT ? header.snapshot : undefined;
  const found: SnapshotEntry[] = [];
  const indexRefs: unknown[][] = [];
  const rows = new TableRows();
  let trailer: { end?: number; sha256?: string; offset: number } | undefined;
  for (const frame of frames) {
    const value = frame.value as Record<string, unknown>;
    if (Array.isArray(value['refs'])) indexRefs.push(value['refs']);
    else if (typeof value['kind'] === 'string' && typeof value['key'] === 'string')
      found.push(value as never);
    else if (typeof value['table'] === 'string' && typeof value['key'] === 'string')
      found.push({ kind: value['table'], key: value['key'], object: value['object'] as KubeObject });
    else if (typeof value['end'] === 'number') trailer = { ...value, offset: frame.offset };
    else rows.add(value);
  }
  const withTable = header?.snapshot === 3 || header?.snapshot === 4;
  // (a damaged header: only files of formats 3 and 4 have table frames)
  const byRows = withTable || (header?.snapshot !== 1 && header?.snapshot !== 2 && rows.count > 0);
  // an entry whose table rows are missing is lost as a damaged one is: named by the index only
  const entries = byRows ? found.filter((entry) => rows.resolve(entry.object)) : found;
  const revision = typeof header?.revision === 'number' ? header.revision : (revisionFromName ?? 0);
  let problem: string | undefined;
  if (newerFormat !== undefined)
    problem = `format ${newerFormat} is newer than this version of berth reads (1-${SNAPSHOT_FORMAT})`;
  else if (damaged.length > 0) problem = `${damaged.length} unreadable range(s)`;
  else if (!header || (header.snapshot !== 1 && header.snapshot !== 2 && !withTable))
    problem = 'no snapshot header';
  else if (withTable && (rows.count !== header.fields || entries.length !== found.length))
    problem = 'the managedFields table does not match its header or the objects';
  else if (!trailer || trailer.end !== header.count || entries.length !== header.count)
    problem = 'incomplete: the trailer is missing or its count does not match';
  else if (header.snapshot !== 1) {
    const matches =
      trailer.offset === verifiedBefore || sha256Hex(bytes.subarray(0, trailer.offset)) === trailer.sha256;
    if (!matches) problem = 'checksum mismatch: the content is not what was written';
  }
  if (revisionFromName !== undefined && revision !== revisionFromName && !problem)
    problem = `holds revision ${revision}, its name says ${revisionFromName}`;
  return { revision, entries, indexRefs, problem, damaged, sharedFields: rows.all(), newerFormat };
}

/**
 * Reads and inspects a snapshot file. A whole one's digest is computed on another thread while
 * this one decodes its frames (without their CRC-32s); a digest that does not match sends it
 * through inspectSnapshot, which checks every frame.
 */
export async function readSnapshotFile(path: string, revisionFromName?: number): Promise<SnapshotInspection> {
  const bytes = await readFileShared(path);
  const last = lastFrame(bytes);
  const claimed = claimedDigest(last);
  if (!last || claimed === undefined) return inspectSnapshot(bytes, revisionFromName);
  const digest = sha256Elsewhere(bytes.subarray(0, last.offset));
  const scanned = scanFrames(bytes, true);
  if ((await digest).sha256 === claimed) return inspectScanned(bytes, scanned, last.offset, revisionFromName);
  return inspectSnapshot(bytes, revisionFromName);
}
