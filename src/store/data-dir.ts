// File names inside a data directory and the small durable-filesystem steps shared by the log
// and snapshot writers.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const SEGMENT = /^wal-(\d{20})\.log$/;
const SNAPSHOT = /^snapshot-(\d{20})\.snap$/;

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
}

export async function listDataDir(dir: string): Promise<DataDirListing> {
  const names = await readdir(dir);
  const listing: DataDirListing = { segments: [], snapshots: [], temporary: [] };
  for (const name of names) {
    const segment = SEGMENT.exec(name);
    const snapshot = SNAPSHOT.exec(name);
    if (segment) listing.segments.push({ name, startRevision: Number(segment[1]) });
    else if (snapshot) listing.snapshots.push({ name, revision: Number(snapshot[1]) });
    else if (name.endsWith('.tmp')) listing.temporary.push(name);
  }
  listing.segments.sort((a, b) => a.startRevision - b.startRevision);
  listing.snapshots.sort((a, b) => b.revision - a.revision);
  return listing;
}

/** Makes renames, creations and removals in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function inDir(dir: string, name: string): string {
  return join(dir, name);
}
