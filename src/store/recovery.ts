// Opening a data directory: the newest snapshot, then every log record after it. A torn tail
// (a crash in the middle of an append) is cut off the newest segment; any other damage stops
// the start with an error that names it, and nothing in the directory is changed.
import { truncate, unlink } from 'node:fs/promises';
import { inDir, syncDir } from './data-dir.js';
import { inspectDataDir, type Damage, type Inspection } from './inspection.js';
import { removeShutdownMarker } from './shutdown-marker.js';
import { deepFreeze } from './merge-patch.js';
import { managedFieldsOf } from './shared-fields.js';
import { refOf } from './snapshot.js';
import { StoreState } from './store-state.js';
import { nodeStoreFs, type StoreFs } from './store-fs.js';

export interface Recovered {
  state: StoreState;
  snapshotRevision: number;
  /** The segment to keep appending to. */
  appendSegmentStart: number;
  segments: number;
  replayedRecords: number;
  droppedTailBytes: number;
  /** References of the newest records, to seed the log's hints. */
  recent: Array<{ rev: number; ref: string }>;
}

export class StoreDamagedError extends Error {
  readonly dataDir: string;
  readonly damage: Damage[];
  constructor(dataDir: string, damage: Damage[]) {
    const first = damage[0]!;
    const where =
      first.bytes > 0 ? `at byte ${first.offset} (${first.bytes} bytes)` : `at byte ${first.offset}`;
    const more = damage.length > 1 ? ` (and ${damage.length - 1} more damaged place(s))` : '';
    super(
      `the store in ${dataDir} is damaged and will not be opened: ${first.file} ${where}: ${first.problem}; ` +
        `last good resourceVersion ${first.lastGoodRevision}; ${first.validRecordsAfter} valid record(s) follow the damage${more}. ` +
        `Nothing was changed. See all damage with "berth store verify --data-dir ${dataDir}"; ` +
        `"berth store repair --data-dir ${dataDir}" copies the damaged files to ${inDir(dataDir, 'quarantine')}/ ` +
        `and rebuilds the log from every record that verifies, naming the objects that may have lost their latest version.`,
    );
    this.name = 'StoreDamagedError';
    this.dataDir = dataDir;
    this.damage = damage;
  }
}

export async function recover(
  dir: string,
  historyLimit: number,
  fs: StoreFs = nodeStoreFs,
): Promise<Recovered> {
  const inspection = await inspectDataDir(dir);
  if (inspection.damage.length > 0) throw new StoreDamagedError(dir, inspection.damage);
  const state = stateOf(inspection, historyLimit);

  const { listing, tornTail } = inspection;
  for (const name of listing.temporary) await unlink(inDir(dir, name));
  if (tornTail) {
    await truncate(inDir(dir, tornTail.file), tornTail.offset);
    const handle = await fs.open(inDir(dir, tornTail.file), 'r+');
    await handle.sync().finally(() => handle.close());
  }
  if (listing.marker) await removeShutdownMarker(dir, fs);
  else if (listing.temporary.length > 0 || tornTail) await syncDir(dir, fs);

  const last = listing.segments[listing.segments.length - 1];
  return {
    state,
    snapshotRevision: inspection.snapshot?.revision ?? 0,
    appendSegmentStart: last ? last.startRevision : state.revision + 1,
    segments: listing.segments.length,
    replayedRecords: inspection.inOrder.length,
    droppedTailBytes: tornTail?.bytes ?? 0,
    recent: inspection.inOrder.slice(-64).map((r) => ({ rev: r.rev, ref: refOf(r.kind, r.key) })),
  };
}

/** The state an undamaged directory holds: snapshot entries, then the records after them. */
export function stateOf(inspection: Inspection, historyLimit: number): StoreState {
  const state = new StoreState(inspection.snapshot?.revision ?? 0, historyLimit);
  // the snapshot's entries hold its table's rows already: shared from here on, as written
  for (const row of inspection.snapshot?.sharedFields ?? []) {
    state.sharedFields.share(row, true);
    deepFreeze(row); // (also when an equal row was shared before it)
  }
  for (const entry of inspection.snapshot?.entries ?? []) state.loadSnapshotEntry(entry);
  for (const { h: _hints, ...record } of inspection.inOrder) {
    // records were just parsed: their entries are this store's to share in place
    state.sharedFields.shareList(managedFieldsOf(record.object), true);
    state.applyDurable(record, true);
  }
  return state;
}
