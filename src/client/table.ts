// The meta.k8s.io/v1 Table wire format the API server answers with when asked for
// `application/json;as=Table;v=v1;g=meta.k8s.io`, as `kubectl get` asks.
import type { ObjectMeta } from '../api/meta.js';

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

export interface TableColumnDefinition {
  name: string;
  type: string;
  format?: string;
  description?: string;
  /** 0 = shown by default; greater = shown only with `-o wide`. */
  priority?: number;
}

export interface TableRow {
  cells: unknown[];
  /** With includeObject=Metadata (the default), a PartialObjectMetadata. */
  object?: { metadata?: ObjectMeta; [key: string]: unknown };
}

export interface Table {
  apiVersion: string;
  kind: 'Table';
  metadata?: { resourceVersion?: string };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export function isTable(value: unknown): value is Table {
  const v = value as Partial<Table> | null;
  return v !== null && typeof v === 'object' && v.kind === 'Table' && Array.isArray(v.columnDefinitions);
}

/** Pure: keeps priority-0 columns (and their cells) unless `wide`, as kubectl does client-side. */
export function visibleColumns(table: Table, wide: boolean): Table {
  if (wide) return table;
  const keep = table.columnDefinitions.map((c) => (c.priority ?? 0) === 0);
  return {
    ...table,
    columnDefinitions: table.columnDefinitions.filter((_c, i) => keep[i]),
    rows: table.rows.map((row) => ({ ...row, cells: row.cells.filter((_c, i) => keep[i] ?? true) })),
  };
}
