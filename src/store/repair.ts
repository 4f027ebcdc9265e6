// `berth store repair`: copies the store's files into quarantine/<time>/, then rebuilds the
// directory as one snapshot holding everything that verifies (records on both sides of the
// damage), and names the objects that may have lost their latest version: against the
// clean-shutdown marker's list of versions when there is one, else those whose record or
// snapshot entry sits in unreadable bytes (named by later records' hints and the snapshot's
// index) and that no later record rewrote.
import { copyFile, mkdir, unlink } from 'node:fs/promises';
import { inDir, QUARANTINE_DIR, snapshotName, storeFiles, syncDir } from './data-dir.js';
import { inspectDataDir, type Damage, type Inspection } from './inspection.js';
import { acquireDirLock } from './lock.js';
import type { ShutdownMarker } from './shutdown-marker.js';
import { refOf, writeSnapshot, type SnapshotEntry } from './snapshot.js';
import { PRIVATE_DIR_MODE } from './store-fs.js';
import { HINT_DISTANCES, type StoredRecord } from './wal.js';

export interface RepairReport {
  damage: Damage[];
  /** Where the damaged directory's files were copied; undefined when nothing needed repair. */
  quarantine: string | undefined;
  /** The revision of the rebuilt snapshot: the newest the directory mentions. */
  revision: number;
  objects: number;
  keptRecords: number;
  /** `<group>/<plural> <namespace>/<name>` of every object that may have lost its latest version. */
  lostObjects: string[];
  /** Of lostObjects, those the rebuilt store holds no version of (e.g. kept only in a damaged snapshot). */
  goneObjects: string[];
  /** Revisions lost to damage whose object nothing names (none when the hints survive). */
  unnamedRevisions: number[];
  /**
   * Damage at the very end of the log with no clean-shutdown marker: records after this
   * revision may have been lost, how many and of which objects cannot be known.
   */
  unknownAfterRevision: number | undefined;
}

export async function repairDataDir(dir: string, now: Date): Promise<RepairReport> {
  const lock = await acquireDirLock(dir);
  try {
    const inspection = await inspectDataDir(dir);
    const { damage, snapshot, newestRevision, listing } = inspection;
    if (damage.length === 0) {
      const objects = (snapshot?.entries.length ?? 0) + inspection.records.length;
      const report = { damage, quarantine: undefined, revision: newestRevision, objects, keptRecords: 0 };
      return {
        ...report,
        lostObjects: [],
        goneObjects: [],
        unnamedRevisions: [],
        unknownAfterRevision: undefined,
      };
    }
    const quarantine = inDir(dir, `${QUARANTINE_DIR}/${now.toISOString().replace(/[:.]/g, '-')}`);
    await mkdir(quarantine, { recursive: true, mode: PRIVATE_DIR_MODE });
    for (const name of storeFiles(listing)) await copyFile(inDir(dir, name), inDir(quarantine, name));
    await syncDir(quarantine);

    const rebuilt = rebuild(inspection);
    const { lostObjects, unnamedRevisions } = inspection.marker
      ? { lostObjects: lostAgainstMarker(rebuilt.current, inspection.marker), unnamedRevisions: [] }
      : lostFromHints(inspection, rebuilt);
    const { current, byRev } = rebuilt;
    const entries = [...current.values()].filter((e): e is SnapshotEntry => e !== undefined);
    await writeSnapshot(dir, { revision: newestRevision, entries });
    for (const name of [...storeFiles(listing), ...listing.temporary]) {
      if (name !== snapshotName(newestRevision)) await unlink(inDir(dir, name));
    }
    await syncDir(dir);
    return {
      damage,
      quarantine,
      revision: newestRevision,
      objects: entries.length,
      keptRecords: byRev.size,
      lostObjects,
      goneObjects: lostObjects.filter((ref) => current.get(ref) === undefined),
      unnamedRevisions,
      unknownAfterRevision: inspection.marker
        ? undefined
        : damage.find((d) => d.validRecordsAfter === 0 && d.bytes > 0)?.lastGoodRevision,
    };
  } finally {
    await lock.release();
  }
}

interface Rebuilt {
  /** Every object's newest readable version (undefined: deleted). */
  current: Map<string, SnapshotEntry | undefined>;
  /** The revision of each object's newest readable log record. */
  lastWritten: Map<string, number>;
  byRev: Map<number, StoredRecord>;
}

function rebuild(inspection: Inspection): Rebuilt {
  const byRev = new Map<number, StoredRecord>();
  for (const record of inspection.records) if (!byRev.has(record.rev)) byRev.set(record.rev, record);
  const current = new Map<string, SnapshotEntry | undefined>();
  const lastWritten = new Map<string, number>();
  for (const entry of inspection.snapshot?.entries ?? []) current.set(refOf(entry.kind, entry.key), entry);
  for (const record of [...byRev.values()].sort((a, b) => a.rev - b.rev)) {
    const ref = refOf(record.kind, record.key);
    const { kind, key, object } = record;
    current.set(ref, record.op === 'put' ? { kind, key, object } : undefined);
    lastWritten.set(ref, record.rev);
  }
  return { current, lastWritten, byRev };
}

/** After a clean stop the marker lists every object's version: the difference is exact. */
function lostAgainstMarker(current: Rebuilt['current'], marker: ShutdownMarker): string[] {
  const expected = new Map(marker.objects);
  const lost = new Set<string>();
  for (const [ref, rev] of expected) {
    if (Number(current.get(ref)?.object.metadata.resourceVersion) !== rev) lost.add(ref);
  }
  for (const [ref, entry] of current) if (entry && !expected.has(ref)) lost.add(ref);
  return [...lost].sort();
}

/**
 * Without a marker (damage after a crash): lost snapshot entries are named by the snapshot's
 * index, lost log records by the hints of the records after them; an object counts as lost
 * unless a later readable record rewrote it.
 */
function lostFromHints(
  inspection: Inspection,
  { byRev, lastWritten }: Rebuilt,
): { lostObjects: string[]; unnamedRevisions: number[] } {
  const { snapshot, newestRevision } = inspection;
  const lost = new Map<string, number>();
  const snapshotRevision = snapshot?.revision ?? 0;
  const readable = new Set((snapshot?.entries ?? []).map((e) => refOf(e.kind, e.key)));
  for (const chunk of snapshot?.indexRefs ?? [])
    for (const ref of chunk.map(String)) if (!readable.has(ref)) lost.set(ref, snapshotRevision);
  const unnamedRevisions: number[] = [];
  for (let rev = snapshotRevision + 1; rev <= newestRevision; rev++) {
    if (byRev.has(rev)) continue;
    const ref = nameFromHints(byRev, rev);
    if (ref === undefined) unnamedRevisions.push(rev);
    else lost.set(ref, Math.max(rev, lost.get(ref) ?? 0));
  }
  const lostObjects = [...lost]
    .filter(([ref, rev]) => (lastWritten.get(ref) ?? 0) < rev)
    .map(([ref]) => ref)
    .sort();
  return { lostObjects, unnamedRevisions };
}

/** The object of a lost revision, as a later record's hint names it. */
function nameFromHints(byRev: ReadonlyMap<number, StoredRecord>, rev: number): string | undefined {
  for (const [i, distance] of HINT_DISTANCES.entries()) {
    const hint = byRev.get(rev + distance)?.h?.[i];
    if (typeof hint === 'string') return hint;
  }
  return undefined;
}
