// metadata.managedFields entries shared between stored objects. Most objects of a kind carry
// entries equal to thousands of others' (the same manager, operation and fieldsV1 tree, often
// the same time): at 100k objects they were about 40% of the store's heap and of the objects
// parsed at start. Stored objects are never changed in place, so equal entries (and equal
// fieldsV1 trees of entries that differ in time) can be one frozen instance, looked up by their
// JSON text, which also keeps every answer byte for byte what was written.
import { cloneJson } from '../api/clone-json.js';
import { deepFreeze } from './merge-patch.js';

/** Distinct entries (and trees) remembered; past it the table starts over (sharing is a saving, not a rule). */
const DEFAULT_LIMIT = 4096;

export class SharedManagedFields {
  private readonly entries = new Map<string, unknown>();
  private readonly trees = new Map<string, unknown>();
  /** The instances handed out: an entry that is one of them needs no lookup. */
  private readonly shared = new WeakSet<object>();
  private readonly limit: number;

  constructor(limit = DEFAULT_LIMIT) {
    this.limit = limit;
  }

  /**
   * The shared equal of a managedFields entry (any JSON value). `owned`: the caller hands the
   * entry over, so it may be frozen and kept; otherwise a frozen copy is kept and the caller's
   * value is left as it was.
   */
  share(entry: unknown, owned: boolean): unknown {
    if (typeof entry !== 'object' || entry === null || this.shared.has(entry)) return entry;
    const json = JSON.stringify(entry);
    const found = this.entries.get(json);
    if (found !== undefined) return found;
    const kept = (owned ? entry : cloneJson(entry)) as Record<string, unknown>;
    if (!Array.isArray(kept) && !Object.isFrozen(kept)) {
      const tree = kept['fieldsV1'];
      if (typeof tree === 'object' && tree !== null) kept['fieldsV1'] = this.sharedTree(tree);
    }
    deepFreeze(kept);
    this.remember(this.entries, json, kept);
    this.shared.add(kept);
    return kept;
  }

  /**
   * `list` (an object's managedFields) with every entry shared; the same array when it already
   * held only shared entries, and anything but an array as it is. `owned` as for share: an
   * owned array is changed in place.
   */
  shareList<T>(list: T, owned: boolean): T {
    if (!Array.isArray(list)) return list;
    let out: unknown[] = list;
    for (let i = 0; i < list.length; i++) {
      const item: unknown = list[i];
      const shared = this.share(item, owned);
      if (shared === item) continue;
      if (out === list && !owned) out = [...list];
      out[i] = shared;
    }
    return out as T;
  }

  private sharedTree(tree: object): unknown {
    const json = JSON.stringify(tree);
    const found = this.trees.get(json);
    if (found !== undefined) return found;
    this.remember(this.trees, json, deepFreeze(tree));
    return tree;
  }

  private remember(table: Map<string, unknown>, json: string, value: unknown): void {
    if (table.size >= this.limit) table.clear();
    table.set(json, value);
  }
}

/** `metadata.managedFields` of a stored object, if it has metadata. */
export function managedFieldsOf(object: unknown): unknown {
  const metadata = (object as { metadata?: unknown } | null)?.metadata;
  return typeof metadata === 'object' && metadata !== null
    ? (metadata as Record<string, unknown>)['managedFields']
    : undefined;
}
