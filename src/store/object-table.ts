// The in-memory objects of one kind. Each key has a committed version (durable, what reads see)
// and a latest version (including writes whose fsync is still in flight, what writes check
// against), so that compare-and-swap is exact while reads never see an unacknowledged write.
import type { KubeObject } from '../api/meta.js';

interface Entry {
  committed: KubeObject | undefined;
  latest: KubeObject | undefined;
}

/**
 * The keys of one scope (every key, or one namespace's) in sorted order, kept for lists so a
 * page does not sort the whole kind: new keys are appended and sorted in at the next list (a
 * sorted run plus a short tail sorts in about linear time); keys of removed entries stay until
 * they outnumber the live ones, and lists skip them.
 */
interface KeyOrder {
  keys: string[];
  members: Set<string>;
  sorted: boolean;
}

export class ObjectTable {
  private readonly entries = new Map<string, Entry>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private committedCount = 0;
  private allOrder: KeyOrder | undefined;
  private readonly namespaceOrders = new Map<string, KeyOrder>();

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
    const out: KubeObject[] = [];
    for (const key of this.sortedKeys(namespace)) {
      const obj = this.entries.get(key)?.committed;
      if (obj) out.push(obj);
    }
    return out;
  }

  /**
   * One page of the committed objects that `matches` accepts, in key order: at most `limit`
   * (all when undefined) after `afterKey`, and whether more follow.
   */
  pageCommitted(
    namespace: string | undefined,
    afterKey: string | undefined,
    limit: number | undefined,
    matches: (obj: KubeObject) => boolean,
  ): { items: Array<[string, KubeObject]>; more: boolean } {
    const keys = this.sortedKeys(namespace);
    let at = 0;
    if (afterKey !== undefined) {
      let high = keys.length;
      while (at < high) {
        const mid = (at + high) >>> 1;
        if (keys[mid]! <= afterKey) at = mid + 1;
        else high = mid;
      }
    }
    const items: Array<[string, KubeObject]> = [];
    for (; at < keys.length; at++) {
      const key = keys[at]!;
      const obj = this.entries.get(key)?.committed;
      if (!obj || !matches(obj)) continue;
      if (limit !== undefined && items.length === limit) return { items, more: true };
      items.push([key, obj]);
    }
    return { items, more: false };
  }

  private sortedKeys(namespace: string | undefined): string[] {
    const live = namespace === undefined ? this.entries.size : (this.byNamespace.get(namespace)?.size ?? 0);
    let order = namespace === undefined ? this.allOrder : this.namespaceOrders.get(namespace);
    if (!order || order.keys.length > 2 * live + 64) {
      const keys = [
        ...(namespace === undefined ? this.entries.keys() : (this.byNamespace.get(namespace) ?? [])),
      ];
      order = { keys, members: new Set(keys), sorted: false };
      if (namespace === undefined) this.allOrder = order;
      else this.namespaceOrders.set(namespace, order);
    }
    if (!order.sorted) {
      order.keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      order.sorted = true;
    }
    return order.keys;
  }

  private addToOrders(key: string, namespace: string | undefined): void {
    const orders = [this.allOrder, namespace === undefined ? undefined : this.namespaceOrders.get(namespace)];
    for (const order of orders) {
      if (!order || order.members.has(key)) continue;
      order.members.add(key);
      order.keys.push(key);
      order.sorted = false;
    }
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
      this.addToOrders(key, namespace);
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
