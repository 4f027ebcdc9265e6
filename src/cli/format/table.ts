// Pure table rendering in kubectl's layout: columns padded to the widest cell plus 3 spaces,
// no trailing padding on the last column, headers in upper case.
import type { Table } from '../../client/table.js';

export const COLUMN_GAP = 3;

/** A cell as kubectl prints it: absent values show as <none>. */
export function cellText(cell: unknown): string {
  if (cell === null || cell === undefined) return '<none>';
  if (typeof cell === 'string') return cell;
  if (typeof cell === 'number' || typeof cell === 'boolean' || typeof cell === 'bigint') return String(cell);
  return JSON.stringify(cell);
}

export function columnWidths(lines: readonly (readonly string[])[]): number[] {
  const widths: number[] = [];
  for (const line of lines) {
    line.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return widths;
}

/** Lines padded to `widths` (grown where a cell is wider), each ending in a newline. */
export function renderLines(
  lines: readonly (readonly string[])[],
  widths: readonly number[] = columnWidths(lines),
): string {
  let out = '';
  for (const line of lines) {
    const padded = line.map((cell, i) =>
      i === line.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + COLUMN_GAP),
    );
    out += padded.join('').trimEnd() + '\n';
  }
  return out;
}

export interface TableLayout {
  /** Prefix for the NAME column, e.g. `persistentvolume/` when several kinds are printed. */
  namePrefix?: string;
  /** Adds a leading NAMESPACE column (from each row's object metadata), as `-A` does. */
  withNamespace?: boolean;
}

/** The header and rows of a server Table as string cells. */
export function tableLines(table: Table, layout: TableLayout = {}): { header: string[]; rows: string[][] } {
  const nameIndex = table.columnDefinitions.findIndex((c) => c.name.toLowerCase() === 'name');
  const header = table.columnDefinitions.map((c) => c.name.toUpperCase());
  const rows = table.rows.map((row) => {
    const cells = table.columnDefinitions.map((_c, i) => cellText(row.cells[i]));
    if (layout.namePrefix && nameIndex >= 0)
      cells[nameIndex] = `${layout.namePrefix}${cells[nameIndex] ?? ''}`;
    if (layout.withNamespace) cells.unshift(row.object?.metadata?.namespace ?? '');
    return cells;
  });
  if (layout.withNamespace) header.unshift('NAMESPACE');
  return { header, rows };
}
