// The last version this store read or wrote of recently touched keys. An update usually follows a
// read of the same object (the API server reads it for admission first), so a read-modify-write
// can decide on this copy and go straight to its compare-and-swap, saving etcd a range per write,
// as Kubernetes' GuaranteedUpdate does with its cached state. The copy may be stale (another API
// server wrote since): the transaction's compare then fails and answers the current value.
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

  /** Remembers `value` of `key`, forgetting the least recently remembered key beyond capacity. */
  remember(key: Buffer, value: RecentValue): void {
    const id = key.toString('latin1');
    this.values.delete(id);
    this.values.set(id, value);
    if (this.values.size > this.capacity) this.values.delete(this.values.keys().next().value!);
  }

  forget(key: Buffer): void {
    this.values.delete(key.toString('latin1'));
  }
}
