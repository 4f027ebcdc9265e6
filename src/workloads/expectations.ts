// Kubernetes' controller expectations, for controllers whose pods get generated names: after a
// sync created or deleted pods, the owner is not synced again until the informer shows those
// creations and deletions (or five minutes passed), so a lagging cache cannot make it create twice.
const EXPIRY_MS = 5 * 60_000;

interface Pending {
  names: Set<string>;
  uids: Set<string>;
  since: number;
}

export class Expectations {
  private readonly pending = new Map<string, Pending>();

  expect(key: string, createdNames: readonly string[], deletedUids: readonly string[], now: number): void {
    if (createdNames.length === 0 && deletedUids.length === 0) return;
    this.pending.set(key, { names: new Set(createdNames), uids: new Set(deletedUids), since: now });
  }

  /**
   * True when the cache shows every expected write: `seen(name)` says a created object is in the
   * cache, `gone(uid)` that a deleted one is absent or being deleted.
   */
  satisfied(
    key: string,
    seen: (name: string) => boolean,
    gone: (uid: string) => boolean,
    now: number,
  ): boolean {
    const p = this.pending.get(key);
    if (!p) return true;
    for (const name of p.names) if (seen(name)) p.names.delete(name);
    for (const uid of p.uids) if (gone(uid)) p.uids.delete(uid);
    if ((p.names.size === 0 && p.uids.size === 0) || now - p.since > EXPIRY_MS) {
      this.pending.delete(key);
      return true;
    }
    return false;
  }

  forget(key: string): void {
    this.pending.delete(key);
  }
}
