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

/**
 * The keys filed under one index value: most values (a claim's volume, a volume's claim) name one
 * object, so a single key is held as the string itself and becomes a Set only when a second comes.
 */
type Filed = string | Set<string>;

export class IndexedCache<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexFuncs = new Map<string, IndexFunc<T>>();
  /** index name -> index value -> object keys */
  private readonly indexes = new Map<string, Map<string, Filed>>();
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
    const old = this.objects.get(key);
    this.objects.set(key, obj);
    for (const [name, fn] of this.indexFuncs) {
      const before = old ? this.valuesOf(name, fn, key, old, false) : [];
      const after = this.valuesOf(name, fn, key, obj, true);
      if (before.length === after.length && before.every((v, i) => v === after[i])) continue;
      const index = this.indexes.get(name)!;
      for (const value of before) unfile(index, value, key);
      for (const value of after) file(index, value, key);
    }
  }

  remove(key: string): void {
    const old = this.objects.get(key);
    if (!old) return;
    this.objects.delete(key);
    for (const [name, fn] of this.indexFuncs) {
      const index = this.indexes.get(name)!;
      for (const value of this.valuesOf(name, fn, key, old, false)) unfile(index, value, key);
    }
  }

  /** Adds an index; adding the same name with the same function again is a no-op (shared caches). */
  addIndex(name: string, fn: IndexFunc<T>): void {
    const existing = this.indexFuncs.get(name);
    if (existing === fn) return;
    if (existing) throw new Error(`index "${name}" already exists`);
    this.indexFuncs.set(name, fn);
    const index = new Map<string, Filed>();
    this.indexes.set(name, index);
    for (const [key, obj] of this.objects)
      for (const value of this.valuesOf(name, fn, key, obj, true)) file(index, value, key);
  }

  byIndex(name: string, value: string): T[] {
    const filed = this.filedUnder(name, value);
    const keys = filed === undefined ? [] : typeof filed === 'string' ? [filed] : filed;
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.objects.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** How many objects are filed under `value`: a check for handlers told of every object, no array built. */
  countByIndex(name: string, value: string): number {
    const filed = this.filedUnder(name, value);
    return filed === undefined ? 0 : typeof filed === 'string' ? 1 : filed.size;
  }

  private filedUnder(name: string, value: string): Filed | undefined {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`index "${name}" does not exist`);
    return index.get(value);
  }

  /**
   * The values `obj` is filed under. Index functions are pure, so the values an object was filed
   * under are found again from the object itself (no per-object record of them); a function that
   * throws leaves the object out of that index, and `report` says so once, when it is filed.
   */
  private valuesOf(name: string, fn: IndexFunc<T>, key: string, obj: T, report: boolean): string[] {
    try {
      const values = fn(obj);
      return values.length < 2 ? values : [...new Set(values)];
    } catch (err) {
      if (report) this.onIndexError(name, key, err);
      return [];
    }
  }
}

function file(index: Map<string, Filed>, value: string, key: string): void {
  const filed = index.get(value);
  if (filed === undefined) index.set(value, key);
  else if (typeof filed === 'string') {
    if (filed !== key) index.set(value, new Set([filed, key]));
  } else filed.add(key);
}

function unfile(index: Map<string, Filed>, value: string, key: string): void {
  const filed = index.get(value);
  if (filed === key) index.delete(value);
  else if (typeof filed === 'object') {
    filed.delete(key);
    if (filed.size === 1) index.set(value, filed.values().next().value!);
    else if (filed.size === 0) index.delete(value);
  }
}
