// The last version this store read or wrote of recently touched keys. An update usually follows a
// read of the same object (the API server reads it for admission first), so a read-modify-write
// can decide on this copy and go straight to its compare-and-swap, saving etcd a range per write,
// as Kubernetes' GuaranteedUpdate does with its cached state. The copy may be stale (another API
// server wrote since): the transaction's compare then fails and answers the current value.
// The store's watches feed it too (a replica sees the versions other replicas write), and an
// older version never replaces a newer one. A key's value at one mod_revision never changes, so
// a copy whose mod_revision a client names is exactly the version that client read.
import type { IKeyValue } from 'etcd3';

/** What a read-modify-write needs of a key's value. */
export type RecentValue = Pick<IKeyValue, 'value' | 'mod_revision'>;

export class RecentValues {
  private readonly values = new Map<string, RecentValue>();
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get(key: Buffer): RecentValue | undefined {
    return this.values.get(key.toString('latin1'));
  }

  /**
   * Remembers `value` of `key` unless a later version is remembered, forgetting the least
   * recently remembered key beyond capacity.
   */
  remember(key: Buffer, value: RecentValue): void {
    const id = key.toString('latin1');
    const known = this.values.get(id);
    if (known && isBefore(value.mod_revision, known.mod_revision)) return;
    this.values.delete(id);
    this.values.set(id, value);
    if (this.values.size > this.capacity) this.values.delete(this.values.keys().next().value!);
  }

  /** Forgets `key` (deleted at `revision`, when given: a version written after it is kept). */
  forget(key: Buffer, revision?: string): void {
    const id = key.toString('latin1');
    const known = this.values.get(id);
    if (known && revision !== undefined && isBefore(revision, known.mod_revision)) return;
    this.values.delete(id);
  }
}

/** Pure: whether revision `a` comes before `b` (decimal strings, as etcd sends int64s). */
function isBefore(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}
