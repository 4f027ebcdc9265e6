// The informer's store of objects by key, with named secondary indexes (client-go's Indexer).
// Pure and synchronous: the informer feeds it from list and watch; readers query it.
import type { KubeObject } from '../api/meta.js';

/** The values an object is filed under in one index (e.g. its node name, its claim's UID). */
export type IndexFunc<T extends KubeObject> = (obj: T) => string[];

/** A named index: defined once (see indexes.ts) so every controller sharing a cache files alike. */
export interface IndexDef<T extends KubeObject> {
  readonly name: string;
  readonly fn: IndexFunc<T>;
}

export function defineIndex<T extends KubeObject>(name: string, fn: IndexFunc<T>): IndexDef<T> {
  return { name, fn };
}

export class IndexedCache<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexFuncs = new Map<string, IndexFunc<T>>();
  /** index name -> index value -> object keys */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  /** What each object was filed under, so removal does not depend on the index function again. */
  private readonly filed = new Map<string, Map<string, string[]>>();
  private readonly onIndexError: (index: string, key: string, err: unknown) => void;

  constructor(onIndexError: (index: string, key: string, err: unknown) => void = () => {}) {
    this.onIndexError = onIndexError;
  }

  get size(): number {
    return this.objects.size;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  values(): T[] {
    return [...this.objects.values()];
  }

  entries(): [string, T][] {
    return [...this.objects.entries()];
  }

  put(key: string, obj: T): void {
    this.unfile(key);
    this.objects.set(key, obj);
    for (const [name, fn] of this.indexFuncs) this.file(name, fn, key, obj);
  }

  remove(key: string): void {
    this.unfile(key);
    this.objects.delete(key);
  }

  /** Adds an index; adding the same name with the same function again is a no-op (shared caches). */
  addIndex(name: string, fn: IndexFunc<T>): void {
    const existing = this.indexFuncs.get(name);
    if (existing === fn) return;
    if (existing) throw new Error(`index "${name}" already exists`);
    this.indexFuncs.set(name, fn);
    this.indexes.set(name, new Map());
    for (const [key, obj] of this.objects) this.file(name, fn, key, obj);
  }

  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`index "${name}" does not exist`);
    const out: T[] = [];
    for (const key of index.get(value) ?? []) {
      const obj = this.objects.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  private file(name: string, fn: IndexFunc<T>, key: string, obj: T): void {
    let values: string[];
    try {
      values = [...new Set(fn(obj))];
    } catch (err) {
      // A buggy index function leaves this object out of that index; the cache stays whole.
      this.onIndexError(name, key, err);
      return;
    }
    const index = this.indexes.get(name)!;
    for (const value of values) {
      let keys = index.get(value);
      if (!keys) index.set(value, (keys = new Set()));
      keys.add(key);
    }
    let byIndex = this.filed.get(key);
    if (!byIndex) this.filed.set(key, (byIndex = new Map()));
    byIndex.set(name, values);
  }

  private unfile(key: string): void {
    const byIndex = this.filed.get(key);
    if (!byIndex) return;
    this.filed.delete(key);
    for (const [name, values] of byIndex) {
      const index = this.indexes.get(name);
      for (const value of values) {
        const keys = index?.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index?.delete(value);
      }
    }
  }
}
