// The in-memory objects of one kind. Each key has a committed version (durable, what reads see)
// and a latest version (including writes whose fsync is still in flight, what writes check
// against), so that compare-and-swap is exact while reads never see an unacknowledged write.
import type { KubeObject } from '../api/meta.js';

interface Entry {
  committed: KubeObject | undefined;
  latest: KubeObject | undefined;
}

export class ObjectTable {
  private readonly entries = new Map<string, Entry>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private committedCount = 0;

  get size(): number {
    return this.committedCount;
  }

  latest(key: string): KubeObject | undefined {
    return this.entries.get(key)?.latest;
  }

  committed(key: string): KubeObject | undefined {
    return this.entries.get(key)?.committed;
  }

  setLatest(key: string, obj: KubeObject | undefined): void {
    this.entry(key).latest = obj;
    this.dropIfEmpty(key);
  }

  /** Makes `obj` (or absence) the committed version; returns the previous committed version. */
  commit(key: string, obj: KubeObject | undefined, alsoLatest = false): KubeObject | undefined {
    const entry = this.entry(key);
    const previous = entry.committed;
    entry.committed = obj;
    if (alsoLatest) entry.latest = obj;
    this.committedCount += (obj ? 1 : 0) - (previous ? 1 : 0);
    this.dropIfEmpty(key);
    return previous;
  }

  /** Committed objects, in key order, optionally of one namespace only. */
  listCommitted(namespace?: string): KubeObject[] {
    const keys = namespace === undefined ? this.entries.keys() : (this.byNamespace.get(namespace) ?? []);
    const out: Array<[string, KubeObject]> = [];
    for (const key of keys) {
      const obj = this.entries.get(key)?.committed;
      if (obj) out.push([key, obj]);
    }
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out.map(([, obj]) => obj);
  }

  *committedEntries(): Generator<[string, KubeObject]> {
    for (const [key, entry] of this.entries) if (entry.committed) yield [key, entry.committed];
  }

  private entry(key: string): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { committed: undefined, latest: undefined };
      this.entries.set(key, entry);
      const namespace = namespaceOf(key);
      if (namespace !== undefined) {
        let keys = this.byNamespace.get(namespace);
        if (!keys) this.byNamespace.set(namespace, (keys = new Set()));
        keys.add(key);
      }
    }
    return entry;
  }

  private dropIfEmpty(key: string): void {
    const entry = this.entries.get(key);
    if (!entry || entry.committed || entry.latest) return;
    this.entries.delete(key);
    const namespace = namespaceOf(key);
    if (namespace === undefined) return;
    const keys = this.byNamespace.get(namespace);
    keys?.delete(key);
    if (keys?.size === 0) this.byNamespace.delete(namespace);
  }
}

/** Keys are "namespace/name" for namespaced objects and "name" otherwise (see objectKey). */
function namespaceOf(key: string): string | undefined {
  const slash = key.indexOf('/');
  return slash < 0 ? undefined : key.slice(0, slash);
}
