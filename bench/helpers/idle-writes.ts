// Which objects a running berth wrote in a window of revisions, read from its data directory's
// log (read only; the store keeps running): each written object by kind and key, with the paths
// of the fields that differ from the object's previous record in the log, so an idle window's
// writes can be told apart (a Lease renewal, a status post, a capacity update...).
import { inspectDataDir } from '../../src/store/inspection.js';

/** The leaf paths whose values differ between two JSON values (metadata's bookkeeping left out). */
function changedPaths(before: unknown, after: unknown, at = ''): string[] {
  if (before === after) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (!isObject(before) || !isObject(after)) return [at || '.'];
  const out: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (at === '.metadata' && (key === 'resourceVersion' || key === 'managedFields')) continue;
    out.push(...changedPaths(before[key], after[key], `${at}.${key}`));
  }
  return out;
}

/** One line per distinct (kind, key, changed fields), with how often it was written. */
export async function idleWrites(dataDir: string, afterRevision: number, upTo: number): Promise<string[]> {
  const { records } = await inspectDataDir(dataDir);
  const previous = new Map<string, unknown>();
  const counts = new Map<string, number>();
  for (const record of records) {
    const id = `${record.kind} ${record.key}`;
    if (record.rev > afterRevision && record.rev <= upTo) {
      const fields = previous.has(id) ? changedPaths(previous.get(id), record.object) : ['(new)'];
      const line = `${record.op} ${id}: ${fields.slice(0, 6).join(' ') || 'no field changed'}`;
      counts.set(line, (counts.get(line) ?? 0) + 1);
    }
    previous.set(id, record.object);
  }
  return [...counts].map(([line, n]) => `${n}x ${line}`);
}
