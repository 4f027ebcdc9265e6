// Garbage collection as the Kubernetes garbage collector does it. Background propagation: an
// object whose every ownerReference names an owner uid that no longer exists is deleted (owners
// of kinds it does not scan are assumed to exist). Orphan propagation: an owner being deleted
// with the `orphan` finalizer first loses its dependents (their ownerReferences to it are
// removed), then the finalizer. Foreground propagation: an owner with `foregroundDeletion` has
// its dependents deleted first, and loses the finalizer once none is left.
import { withoutFinalizer } from '../api/finalizers.js';
import { isStatusError } from '../api/errors.js';
import { apiVersionOf, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { cloneJson } from '../api/clone-json.js';
import { GcTriggers } from './gc-triggers.js';
import type { ObjectStore, Watch, WatchEvent } from './types.js';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

export interface Orphan {
  kind: KindInfo;
  object: KubeObject;
}

/**
 * The objects to delete: those with owner references, all of which point at scanned kinds
 * and at uids not in `liveUids`. Pure, for table tests.
 */
export function findOrphans(
  objects: ReadonlyArray<{ kind: KindInfo; object: KubeObject }>,
  scannedKinds: readonly KindInfo[],
  liveUids: ReadonlySet<string>,
): Orphan[] {
  const scanned = new Set(scannedKinds.map((k) => `${apiVersionOf(k)}/${k.kind}`));
  return objects.filter(({ object }) => {
    const owners = object.metadata.ownerReferences ?? [];
    return (
      owners.length > 0 &&
      owners.every((ref) => scanned.has(`${ref.apiVersion}/${ref.kind}`) && !liveUids.has(ref.uid))
    );
  });
}

export type FinalizerAction =
  | { type: 'dropOwnerReference'; kind: KindInfo; object: KubeObject; ownerUid: string }
  | { type: 'deleteDependent'; kind: KindInfo; object: KubeObject }
  | { type: 'removeFinalizer'; kind: KindInfo; object: KubeObject; finalizer: string };

/**
 * The work the orphan and foregroundDeletion finalizers ask for, given every scanned object.
 * Pure, for table tests.
 */
export function finalizerWork(
  objects: ReadonlyArray<{ kind: KindInfo; object: KubeObject }>,
): FinalizerAction[] {
  const actions: FinalizerAction[] = [];
  // one index of dependents by owner uid: a scan per owner was quadratic when many owners went at once
  const byOwner = new Map<string, Array<{ kind: KindInfo; object: KubeObject }>>();
  for (const entry of objects) {
    const ownerUids = new Set((entry.object.metadata.ownerReferences ?? []).map((ref) => ref.uid));
    for (const ownerUid of ownerUids) {
      const list = byOwner.get(ownerUid);
      if (list) list.push(entry);
      else byOwner.set(ownerUid, [entry]);
    }
  }
  const dependentsOf = (uid: string) => byOwner.get(uid) ?? [];
  for (const { kind, object } of objects) {
    const { deletionTimestamp, finalizers = [], uid = '' } = object.metadata;
    if (!deletionTimestamp || uid === '') continue;
    for (const finalizer of [ORPHAN_FINALIZER, FOREGROUND_FINALIZER]) {
      if (!finalizers.includes(finalizer)) continue;
      const dependents = dependentsOf(uid);
      if (finalizer === ORPHAN_FINALIZER) {
        for (const d of dependents) actions.push({ type: 'dropOwnerReference', ...d, ownerUid: uid });
      } else {
        for (const d of dependents) {
          if (!d.object.metadata.deletionTimestamp) actions.push({ type: 'deleteDependent', ...d });
        }
      }
      // once nothing refers to the owner any more, it may go
      if (dependents.length === 0) actions.push({ type: 'removeFinalizer', kind, object, finalizer });
    }
  }
  return actions;
}

export interface GarbageCollectorOptions {
  store: ObjectStore;
  kinds: readonly KindInfo[];
  /** How long after a change that can give it work a pass runs (default 5 s): changes batch up. */
  intervalMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Told about failures of a pass (default: ignored; the next pass retries). */
  onError?: (err: unknown) => void;
  /**
   * The changes of a kind from a cache this process already keeps of it (its shared informer),
   * or undefined: the collector then hears of that kind's changes there instead of through a
   * watch of its own, so each change crosses the store (etcd, API server, network) once, not twice.
   */
  changesFrom?: (kind: KindInfo) => ChangeFeed | undefined;
}

/** What the collector needs of an informer: handlers told of each object added, changed, deleted. */
export interface ChangeFeed {
  addHandler(handlers: {
    onAdd?(object: KubeObject): void;
    onUpdate?(previous: KubeObject, object: KubeObject): void;
    onDelete?(object: KubeObject): void;
  }): () => void;
}

export class GarbageCollector {
  private readonly store: ObjectStore;
  private readonly kinds: readonly KindInfo[];
  private readonly intervalMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly onError: (err: unknown) => void;
  private readonly changesFrom: (kind: KindInfo) => ChangeFeed | undefined;
  /** Removes the handlers added to feeds of changes. */
  private readonly removers: (() => void)[] = [];
  private timer: unknown;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  private readonly triggers = new GcTriggers([ORPHAN_FINALIZER, FOREGROUND_FINALIZER]);
  private readonly watches: Watch[] = [];
  /** A pass is scheduled or running. */
  private pending = false;
  /** Something changed while a pass ran: run another after it. */
  private dirty = false;

  constructor(options: GarbageCollectorOptions) {
    this.store = options.store;
    this.kinds = options.kinds;
    this.intervalMs = options.intervalMs ?? 5000;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as NodeJS.Timeout));
    this.onError = options.onError ?? (() => undefined);
    this.changesFrom = options.changesFrom ?? (() => undefined);
  }

  /**
   * Watches every kind (from the start, so what is there already counts as a change) and runs a
   * pass after each change that can give it work.
   */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const kind of this.kinds) {
      const feed = this.changesFrom(kind);
      if (feed) this.removers.push(this.follow(feed));
      else void this.watchKind(kind, 0);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer(this.timer);
    for (const remove of this.removers.splice(0)) remove();
    for (const watch of this.watches.splice(0)) watch.stop();
    await this.running;
  }

  /** One pass; returns the objects it deleted. */
  async collectOnce(): Promise<Orphan[]> {
    // Dependents are listed before owners: an owner always exists before a dependent can name
    // its uid, so an owner missing from the later listing really was deleted.
    const dependents = await this.listAll();
    const liveUids = new Set((await this.listAll()).map(({ object }) => object.metadata.uid ?? ''));
    await this.runFinalizerWork(dependents);
    const orphans = findOrphans(dependents, this.kinds, liveUids);
    const deleted: Orphan[] = [];
    for (const orphan of orphans) {
      const { namespace, name, uid } = orphan.object.metadata;
      try {
        await this.store.delete(orphan.kind, namespace, name ?? '', uid ? { uid } : {});
        deleted.push(orphan);
      } catch (err) {
        // gone already, or replaced by a new object with the same name: nothing to collect
        if (!isStatusError(err, 'NotFound') && !isStatusError(err, 'Conflict')) throw err;
      }
    }
    return deleted;
  }

  /** Performs finalizerWork; a conflict or a vanished object is left for the next pass. */
  private async runFinalizerWork(objects: Array<{ kind: KindInfo; object: KubeObject }>): Promise<void> {
    for (const action of finalizerWork(objects)) {
      const { namespace, name = '', uid } = action.object.metadata;
      try {
        if (action.type === 'deleteDependent') {
          await this.store.delete(action.kind, namespace, name, uid ? { uid } : {});
        } else if (action.type === 'dropOwnerReference') {
          const next = cloneJson(action.object);
          const refs = (next.metadata.ownerReferences ?? []).filter((r) => r.uid !== action.ownerUid);
          if (refs.length > 0) next.metadata.ownerReferences = refs;
          else delete next.metadata.ownerReferences;
          await this.store.update(action.kind, next);
        } else {
          await this.store.update(action.kind, withoutFinalizer(action.object, action.finalizer));
        }
      } catch (err) {
        if (!isStatusError(err, 'NotFound') && !isStatusError(err, 'Conflict')) throw err;
      }
    }
  }

  private async listAll(): Promise<Array<{ kind: KindInfo; object: KubeObject }>> {
    const all: Array<{ kind: KindInfo; object: KubeObject }> = [];
    for (const kind of this.kinds) {
      // read only: a pass copies what it changes (dropOwnerReference, withoutFinalizer), not every object
      for (const object of (await this.store.list(kind, { readOnly: true })).items)
        all.push({ kind, object });
    }
    return all;
  }

  /** Hears of a kind's changes from a cache that has them (what it holds already counts as added). */
  private follow(feed: ChangeFeed): () => void {
    const observe = (event: WatchEvent): void => {
      if (!this.stopped && this.triggers.observe(event)) this.changed();
    };
    return feed.addHandler({
      onAdd: (object) => observe({ type: 'ADDED', object }),
      onUpdate: (_previous, object) => observe({ type: 'MODIFIED', object }),
      onDelete: (object) => observe({ type: 'DELETED', object }),
    });
  }

  /** Watches one kind; when the watch fails or ends, it is opened again (and a pass runs, as events may be missed). */
  private async watchKind(kind: KindInfo, failures: number): Promise<void> {
    if (this.stopped) return;
    const again = (err: unknown): void => {
      this.onError(err);
      this.changed();
      this.setTimer(() => void this.watchKind(kind, failures + 1), Math.min(1000 * 2 ** failures, 30_000));
    };
    try {
      let ended = false;
      const watch = await this.store.watch(
        kind,
        { resourceVersion: '0', readOnly: true },
        (event) => {
          if (this.triggers.observe(event)) this.changed();
        },
        (err) => {
          if (ended || this.stopped) return;
          ended = true;
          const at = this.watches.indexOf(watch);
          if (at >= 0) this.watches.splice(at, 1);
          again(err);
        },
      );
      if (this.stopped) watch.stop();
      else this.watches.push(watch);
    } catch (err) {
      if (!this.stopped) again(err);
    }
  }

  /** Runs a pass after the interval; changes meanwhile join it, changes during it get another. */
  private changed(): void {
    if (this.stopped) return;
    if (this.pending) {
      this.dirty = true;
      return;
    }
    this.pending = true;
    this.timer = this.setTimer(() => {
      this.dirty = false;
      this.running = this.collectOnce()
        .catch((err: unknown) => {
          this.onError(err);
          this.dirty = true; // try again
        })
        .finally(() => {
          this.pending = false;
          if (this.dirty) this.changed();
        });
    }, this.intervalMs);
  }
}
