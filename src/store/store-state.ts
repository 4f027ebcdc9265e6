// The store's in-memory state: one ObjectTable per kind, the committed revision, and the watch
// hub. Durable log records are applied here both on recovery and after each group commit, so
// a reopened store and a running one reach the same state the same way.
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { ObjectTable } from './object-table.js';
import { SharedManagedFields } from './shared-fields.js';
import { refOf, type SnapshotEntry } from './snapshot.js';
import type { LogRecord } from './wal.js';
import { WatchHub } from './watch-hub.js';

const kindKeys = new WeakMap<KindInfo, string>();

/** `<group>/<plural>`: the kind's table and log name (kept per kind: every read and write asks). */
export function kindKey(kind: KindInfo): string {
  let key = kindKeys.get(kind);
  if (key === undefined) kindKeys.set(kind, (key = `${kind.group}/${kind.plural}`));
  return key;
}

export class StoreState {
  readonly tables = new Map<string, ObjectTable>();
  readonly hub: WatchHub;
  /** Equal managedFields entries of stored objects, one instance each. */
  readonly sharedFields = new SharedManagedFields();
  /** The newest durable revision. */
  revision: number;
  /** Records applied since the revision of the newest snapshot. */
  recordsSinceSnapshot = 0;

  constructor(revision: number, historyLimit: number) {
    this.revision = revision;
    this.hub = new WatchHub(historyLimit, revision);
  }

  table(kind: string): ObjectTable {
    let table = this.tables.get(kind);
    if (!table) this.tables.set(kind, (table = new ObjectTable()));
    return table;
  }

  loadSnapshotEntry(entry: SnapshotEntry): void {
    this.table(entry.kind).commit(entry.key, entry.object, true);
  }

  /**
   * Applies a durable record and publishes its change. `recovering` also moves the latest
   * version; a running store moved it already when it sequenced the write.
   */
  applyDurable(record: LogRecord, recovering: boolean): void {
    const next: KubeObject | undefined = record.op === 'put' ? record.object : undefined;
    const previous = this.table(record.kind).commit(record.key, next, recovering);
    this.revision = record.rev;
    this.recordsSinceSnapshot++;
    this.hub.publish({
      rev: record.rev,
      kind: record.kind,
      type: record.op === 'delete' ? 'DELETED' : previous ? 'MODIFIED' : 'ADDED',
      previous,
      object: record.object,
    });
  }

  /** Every committed object; objects are never mutated once stored, so references suffice. */
  snapshotEntries(): SnapshotEntry[] {
    const entries: SnapshotEntry[] = [];
    for (const [kind, table] of this.tables) {
      for (const [key, object] of table.committedEntries()) entries.push({ kind, key, object });
    }
    return entries;
  }

  /** `[reference, resourceVersion]` of every committed object, for the clean-shutdown marker. */
  objectVersions(): Array<[string, number]> {
    return this.snapshotEntries().map((e) => [
      refOf(e.kind, e.key),
      Number(e.object.metadata.resourceVersion),
    ]);
  }

  get objectCount(): number {
    let count = 0;
    for (const table of this.tables.values()) count += table.size;
    return count;
  }
}
