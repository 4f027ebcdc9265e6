// Pure: aligns tab-separated lines the way Go's text/tabwriter does for `kubectl describe`:
// a column is aligned over each run of consecutive lines that have a tab-terminated cell there.

export function alignTabs(text: string, padding = 2): string {
  const lines = text.split('\n').map((line) => line.split('\t'));
  const widths = lines.map((cells) => new Array<number>(Math.max(0, cells.length - 1)).fill(0));
  const maxColumns = Math.max(0, ...lines.map((cells) => cells.length - 1));
  for (let column = 0; column < maxColumns; column++) {
    let start = 0;
    while (start < lines.length) {
      if ((lines[start]?.length ?? 0) - 1 <= column) {
        start++;
        continue;
      }
      let end = start;
      let width = 0;
      while (end < lines.length && (lines[end]?.length ?? 0) - 1 > column) {
        width = Math.max(width, lines[end]?.[column]?.length ?? 0);
        end++;
      }
      for (let i = start; i < end; i++) {
        const row = widths[i];
        if (row) row[column] = width + padding;
      }
      start = end;
    }
  }
  return lines
    .map((cells, i) =>
      cells
        .map((cell, column) => (column < cells.length - 1 ? cell.padEnd(widths[i]?.[column] ?? 0) : cell))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}
