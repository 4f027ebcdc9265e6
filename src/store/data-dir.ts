// File names inside a data directory and the small durable-filesystem steps shared by the log
// and snapshot writers.
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeStoreFs, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, type StoreFs } from './store-fs.js';

/** A log segment's file name. */
export const SEGMENT_NAME = /^wal-(\d{20})\.log$/;
const SNAPSHOT = /^snapshot-(\d{20})\.snap$/;
/** Written at a clean close: where the log ended, so a shortened log reads as damage. */
export const SHUTDOWN_MARKER = 'clean-shutdown';
export const QUARANTINE_DIR = 'quarantine';

export function segmentName(startRevision: number): string {
  return `wal-${String(startRevision).padStart(20, '0')}.log`;
}

export function snapshotName(revision: number): string {
  return `snapshot-${String(revision).padStart(20, '0')}.snap`;
}

export interface DataDirListing {
  /** Log segments, oldest first, with the first revision each may hold. */
  segments: Array<{ name: string; startRevision: number }>;
  /** Snapshots, newest first. */
  snapshots: Array<{ name: string; revision: number }>;
  /** Leftovers of an interrupted snapshot write. */
  temporary: string[];
  /** The clean-shutdown marker, when present. */
  marker: string | undefined;
}

export async function listDataDir(dir: string): Promise<DataDirListing> {
  const names = await readdir(dir);
  const listing: DataDirListing = { segments: [], snapshots: [], temporary: [], marker: undefined };
  for (const name of names) {
    const segment = SEGMENT_NAME.exec(name);
    const snapshot = SNAPSHOT.exec(name);
    if (segment) listing.segments.push({ name, startRevision: Number(segment[1]) });
    else if (snapshot) listing.snapshots.push({ name, revision: Number(snapshot[1]) });
    else if (name.endsWith('.tmp')) listing.temporary.push(name);
    else if (name === SHUTDOWN_MARKER) listing.marker = name;
  }
  listing.segments.sort((a, b) => a.startRevision - b.startRevision);
  listing.snapshots.sort((a, b) => b.revision - a.revision);
  return listing;
}

/** The store's own files: what verify reads, repair quarantines and start makes private. */
export function storeFiles(listing: DataDirListing): string[] {
  return [
    ...listing.snapshots.map((s) => s.name),
    ...listing.segments.map((s) => s.name),
    ...(listing.marker ? [listing.marker] : []),
  ];
}

/** Makes renames, creations and removals in `dir` durable. */
export async function syncDir(dir: string, fs: StoreFs = nodeStoreFs): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function inDir(dir: string, name: string): string {
  return join(dir, name);
}

/**
 * Creates the data directory owner-only (0700), and makes an existing one and every file in
 * it private too, as etcd does; returns a line for the log for each change made.
 */
export async function makeDataDirPrivate(dir: string): Promise<string[]> {
  const notes: string[] = [];
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const dirMode = (await stat(dir)).mode & 0o777;
  if (dirMode !== PRIVATE_DIR_MODE) {
    await chmod(dir, PRIVATE_DIR_MODE);
    notes.push(
      `data directory ${dir} had permissions ${octal(dirMode)}; changed to ${octal(PRIVATE_DIR_MODE)}`,
    );
  }
  const widened: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue; // node root directories and sockets keep their own modes
    const mode = (await stat(inDir(dir, entry.name))).mode & 0o777;
    if (mode === PRIVATE_FILE_MODE) continue;
    await chmod(inDir(dir, entry.name), PRIVATE_FILE_MODE);
    widened.push(`${entry.name} (${octal(mode)})`);
  }
  if (widened.length > 0) {
    notes.push(`files in the data directory changed to ${octal(PRIVATE_FILE_MODE)}: ${widened.join(', ')}`);
  }
  return notes;
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}
