// What wakes the garbage collector: a pass lists every object twice, so it runs only after a
// change that can give it work, as Kubernetes' collector acts on its graph's changes instead of
// polling. Such a change is a dependent whose ownerReferences (or deletion state) changed, the
// deletion of an object some dependent names as its owner, or of a dependent itself (a
// foreground owner may be waiting for it). Everything else (a claim bound, a lease renewed with
// the same owner) leaves the collector asleep.
import type { KubeObject } from '../api/meta.js';
import type { WatchEvent } from './types.js';

/** What the collector reads of an object: its owners' uids and whether it waits for propagation. */
function signatureOf(object: KubeObject, propagationFinalizers: readonly string[]): string | undefined {
  const owners = (object.metadata.ownerReferences ?? []).map((r) => `${r.apiVersion}/${r.kind}/${r.uid}`);
  const waiting =
    object.metadata.deletionTimestamp !== undefined &&
    (object.metadata.finalizers ?? []).some((f) => propagationFinalizers.includes(f));
  if (owners.length === 0 && !waiting) return undefined;
  return `${waiting ? 'deleting ' : ''}${owners.join(' ')}`;
}

interface Known {
  signature: string;
  ownerUids: string[];
}

/** Remembers the dependents' owner references; tells which watch events can give the collector work. */
export class GcTriggers {
  private readonly known = new Map<string, Known>();
  /** Owner uid -> how many known dependents name it. */
  private readonly referenced = new Map<string, number>();
  private readonly propagationFinalizers: readonly string[];

  constructor(propagationFinalizers: readonly string[]) {
    this.propagationFinalizers = propagationFinalizers;
  }

  /** Records the event; true when it can give the collector work. */
  observe(event: WatchEvent): boolean {
    const uid = event.object.metadata.uid ?? '';
    if (uid === '') return false;
    const before = this.known.get(uid);
    if (event.type === 'DELETED') {
      this.forget(uid, before);
      return before !== undefined || this.referenced.has(uid);
    }
    const signature = signatureOf(event.object, this.propagationFinalizers);
    if (signature === before?.signature) return false;
    this.forget(uid, before);
    if (signature !== undefined) {
      const ownerUids = (event.object.metadata.ownerReferences ?? []).map((r) => r.uid);
      this.known.set(uid, { signature, ownerUids });
      for (const owner of ownerUids) this.referenced.set(owner, (this.referenced.get(owner) ?? 0) + 1);
    }
    return true;
  }

  /** How many objects it remembers (dependents and owners waiting for propagation). */
  get size(): number {
    return this.known.size;
  }

  private forget(uid: string, before: Known | undefined): void {
    if (!before) return;
    this.known.delete(uid);
    for (const owner of before.ownerUids) {
      const left = (this.referenced.get(owner) ?? 1) - 1;
      if (left > 0) this.referenced.set(owner, left);
      else this.referenced.delete(owner);
    }
  }
}
