// Access-mode abbreviations as kubectl prints them (GetAccessModesAsString): one table for the
// API server's table printers and `berth describe`.
const abbreviations: readonly [string, string][] = [
  ['ReadWriteOnce', 'RWO'],
  ['ReadOnlyMany', 'ROX'],
  ['ReadWriteMany', 'RWX'],
  ['ReadWriteOncePod', 'RWOP'],
];

/** "RWO,ROX": abbreviations in upstream's fixed order, each once; unknown modes are left out. */
export function accessModesString(modes: unknown): string {
  const list: unknown[] = Array.isArray(modes) ? modes : [];
  return abbreviations
    .filter(([mode]) => list.includes(mode))
    .map(([, short]) => short)
    .join(',');
}
