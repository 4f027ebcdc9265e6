// `berth store repair`: copies the store's files into quarantine/<time>/, then rebuilds the
// directory as one snapshot holding everything that verifies (records on both sides of the
// damage), and names the objects that may have lost their latest version: those whose record
// or snapshot entry sits in unreadable bytes (named through the hints later records carry,
// the snapshot's index and the clean-shutdown marker) and that no later record rewrote.
import { copyFile, mkdir, unlink } from 'node:fs/promises';
import { inDir, QUARANTINE_DIR, snapshotName, storeFiles, syncDir } from './data-dir.js';
import { inspectDataDir, type Damage } from './inspection.js';
import { acquireDirLock } from './lock.js';
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
  /** Revisions lost to damage whose object nothing names (none when the hints survive). */
  unnamedRevisions: number[];
}

export async function repairDataDir(dir: string, now: Date): Promise<RepairReport> {
  const lock = await acquireDirLock(dir);
  try {
    const inspection = await inspectDataDir(dir);
    const { damage, snapshot, newestRevision, listing } = inspection;
    if (damage.length === 0) {
      const objects = (snapshot?.entries.length ?? 0) + inspection.records.length;
      const report = { damage, quarantine: undefined, revision: newestRevision, objects, keptRecords: 0 };
      return { ...report, lostObjects: [], unnamedRevisions: [] };
    }
    const quarantine = inDir(dir, `${QUARANTINE_DIR}/${now.toISOString().replace(/[:.]/g, '-')}`);
    await mkdir(quarantine, { recursive: true, mode: PRIVATE_DIR_MODE });
    for (const name of storeFiles(listing)) await copyFile(inDir(dir, name), inDir(quarantine, name));
    await syncDir(quarantine);

    const byRev = new Map<number, StoredRecord>();
    for (const record of inspection.records) if (!byRev.has(record.rev)) byRev.set(record.rev, record);
    const current = new Map<string, SnapshotEntry | undefined>();
    const lastWritten = new Map<string, number>();
    for (const entry of snapshot?.entries ?? []) current.set(refOf(entry.kind, entry.key), entry);
    for (const record of [...byRev.values()].sort((a, b) => a.rev - b.rev)) {
      const ref = refOf(record.kind, record.key);
      current.set(
        ref,
        record.op === 'put' ? { kind: record.kind, key: record.key, object: record.object } : undefined,
      );
      lastWritten.set(ref, record.rev);
    }

    const lost = new Map<string, number>();
    const snapshotRevision = snapshot?.revision ?? 0;
    const readable = new Set((snapshot?.entries ?? []).map((e) => refOf(e.kind, e.key)));
    for (const ref of snapshot?.refs ?? []) if (!readable.has(ref)) lost.set(ref, snapshotRevision);
    const unnamedRevisions: number[] = [];
    const recent = new Map((inspection.marker?.recent ?? []).map((r) => [r.rev, r.ref]));
    for (let rev = snapshotRevision + 1; rev <= newestRevision; rev++) {
      if (byRev.has(rev)) continue;
      const ref = recent.get(rev) ?? nameFromHints(byRev, rev);
      if (ref === undefined) unnamedRevisions.push(rev);
      else lost.set(ref, Math.max(rev, lost.get(ref) ?? 0));
    }
    const lostObjects = [...lost]
      .filter(([ref, rev]) => (lastWritten.get(ref) ?? 0) < rev)
      .map(([ref]) => ref)
      .sort();

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
      unnamedRevisions,
    };
  } finally {
    await lock.release();
  }
}

/** The object of a lost revision, as a later record's hint names it. */
function nameFromHints(byRev: ReadonlyMap<number, StoredRecord>, rev: number): string | undefined {
  for (const [i, distance] of HINT_DISTANCES.entries()) {
    const hint = byRev.get(rev + distance)?.h?.[i];
    if (typeof hint === 'string') return hint;
  }
  return undefined;
}
