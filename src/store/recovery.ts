// Opening a data directory: newest complete snapshot, then every intact log record after it.
// A torn tail (a crash in the middle of a write) is cut off the last segment; damage anywhere
// else is reported instead of silently losing acknowledged writes.
import { unlink } from 'node:fs/promises';
import { inDir, listDataDir, syncDir } from './data-dir.js';
import { readSnapshot } from './snapshot.js';
import { StoreState } from './store-state.js';
import { readSegment, truncateSegment } from './wal.js';

export interface Recovered {
  state: StoreState;
  snapshotRevision: number;
  /** The segment to keep appending to. */
  appendSegmentStart: number;
  replayedRecords: number;
  droppedTailBytes: number;
}

export async function recover(dir: string, historyLimit: number): Promise<Recovered> {
  const listing = await listDataDir(dir);
  for (const name of listing.temporary) await unlink(inDir(dir, name));

  let state: StoreState | undefined;
  let snapshotRevision = 0;
  for (const candidate of listing.snapshots) {
    const snapshot = await readSnapshot(dir, candidate.name);
    if (!snapshot) continue; // cannot happen with atomic renames unless the disk lies; try an older one
    state = new StoreState(snapshot.revision, historyLimit);
    for (const entry of snapshot.entries) state.loadSnapshotEntry(entry);
    snapshotRevision = snapshot.revision;
    break;
  }
  state ??= new StoreState(0, historyLimit);

  let replayedRecords = 0;
  let droppedTailBytes = 0;
  const segments = listing.segments;
  for (const [index, segment] of segments.entries()) {
    const contents = await readSegment(dir, segment.name);
    if (contents.validLength < contents.totalLength) {
      if (index !== segments.length - 1) {
        throw new Error(
          `log segment ${segment.name} in ${dir} is damaged at byte ${contents.validLength} and is not the last segment`,
        );
      }
      droppedTailBytes = contents.totalLength - contents.validLength;
      await truncateSegment(dir, segment.name, contents.validLength);
    }
    for (const record of contents.records) {
      if (record.rev <= state.revision) continue;
      if (record.rev !== state.revision + 1) {
        throw new Error(
          `log segment ${segment.name} in ${dir} jumps from revision ${state.revision} to ${record.rev}`,
        );
      }
      state.applyDurable(record, true);
      replayedRecords++;
    }
  }
  if (droppedTailBytes > 0) await syncDir(dir);

  const last = segments[segments.length - 1];
  return {
    state,
    snapshotRevision,
    appendSegmentStart: last ? last.startRevision : state.revision + 1,
    replayedRecords,
    droppedTailBytes,
  };
}
