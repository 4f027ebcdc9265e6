// The managedFields table of a format 3 or 4 snapshot: the distinct metadata.managedFields entries,
// in frames of `{ "managedFields": [row, ...], "from": <index of the first row> }` after the
// header; each object's managedFields then lists row numbers instead of the entries. An object's
// entries are mostly equal to thousands of others', so the file holds each once, and opening it
// parses each once and shares it between the objects (about 40% of a PV's parsed heap).
// Replacing every entry by its row number (whatever the entry is) round-trips any JSON exactly.
import { withFields } from '../api/with-fields.js';
import type { KubeObject } from '../api/meta.js';
import { encodeFrame } from './record-framing.js';
import { managedFieldsOf } from './shared-fields.js';

const ROW_CHUNK = 512;

/** Builds the table while a snapshot is written. */
export class FieldsTable {
  readonly rows: unknown[] = [];
  private readonly byInstance = new Map<object, number>();
  private readonly byJson = new Map<string, number>();

  /** Gives `object`'s managedFields entries their rows (all are added before the table is written). */
  add(object: KubeObject): void {
    const list = managedFieldsOf(object);
    if (Array.isArray(list)) for (const item of list) this.rowOf(item);
  }

  /** `object` with its managedFields entries replaced by their rows (the object itself if it has none). */
  withRows(object: KubeObject): KubeObject {
    const list = managedFieldsOf(object);
    if (!Array.isArray(list)) return object;
    const managedFields = list.map((item: unknown) => this.rowOf(item));
    return withFields(object, { metadata: withFields(object.metadata, { managedFields }) });
  }

  *frames(): Generator<Buffer> {
    for (let from = 0; from < this.rows.length; from += ROW_CHUNK)
      yield encodeFrame({ managedFields: this.rows.slice(from, from + ROW_CHUNK), from });
  }

  private rowOf(item: unknown): number {
    // stored objects share their entries (SharedManagedFields): most are found by identity
    const isObject = typeof item === 'object' && item !== null;
    const known = isObject ? this.byInstance.get(item) : undefined;
    if (known !== undefined) return known;
    const json = JSON.stringify(item) ?? 'null';
    let row = this.byJson.get(json);
    if (row === undefined) {
      row = this.rows.length;
      this.rows.push(item ?? null);
      this.byJson.set(json, row);
    }
    if (isObject) this.byInstance.set(item, row);
    return row;
  }
}

/** Collects the table's frames while a snapshot is read, and puts the entries back into objects. */
export class TableRows {
  private readonly rows = new Map<number, unknown>();

  /** Takes a frame that is a chunk of the table; ignores any other. */
  add(frame: Record<string, unknown>): void {
    const rows = frame['managedFields'];
    const from = frame['from'];
    if (!Array.isArray(rows) || typeof from !== 'number' || !Number.isSafeInteger(from) || from < 0) return;
    for (const [i, row] of rows.entries()) this.rows.set(from + i, row);
  }

  get count(): number {
    return this.rows.size;
  }

  /**
   * Replaces the row numbers of a freshly parsed object's managedFields by the rows themselves
   * (in place); false when one is not a row number of the table.
   */
  resolve(object: unknown): boolean {
    const list = managedFieldsOf(object);
    if (!Array.isArray(list)) return true;
    for (let i = 0; i < list.length; i++) {
      const row: unknown = list[i];
      if (typeof row !== 'number' || !this.rows.has(row)) return false;
      list[i] = this.rows.get(row);
    }
    return true;
  }

  all(): unknown[] {
    return [...this.rows.values()];
  }
}
