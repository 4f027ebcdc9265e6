// A list+watch cache of one kind (optionally narrowed by namespace and selectors) over the
// ObjectStore contract, like client-go's shared informer: list, then watch from the list's
// revision; when the store answers 410 Expired, list again and deliver only the differences.
// Handlers see onAdd/onUpdate/onDelete; readers use get/list and named indexes. A periodic resync
// re-delivers onUpdate(obj, obj) for every cached object so level-triggered controllers re-check.
// Cached objects are shared and frozen: callers copy before editing. They are asked of the store
// read-only, so over the embedded store the cache holds the store's own objects, not copies.
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { objectKey } from '../api/meta.js';
import { isStatusError } from '../api/errors.js';
import { deepFreeze } from '../store/merge-patch.js';
import type { ListOptions, ObjectStore, Watch, WatchEvent } from '../store/types.js';
import type { Clock, TimerHandle } from './clock.js';
import { sleep, systemClock } from './clock.js';
import type { IndexDef, IndexFunc } from './indexed-cache.js';
import { IndexedCache } from './indexed-cache.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';

/** The cache key of an object: "namespace/name", or "name" for cluster-scoped objects. */
export function keyOf(obj: { metadata: { namespace?: string; name?: string } }): string {
  return objectKey(obj);
}

/** client-go's reflector back-off for watches that keep ending: 800 ms initial, reset after 2 quiet minutes. */
const WATCH_BACKOFF_INITIAL_MS = 800;
const WATCH_BACKOFF_RESET_MS = 120_000;

export interface InformerHandlers<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/**
 * Handlers that enqueue the key of every added, updated (including resync) and deleted object:
 * the usual wiring of an informer to a controller. `keyFn` may map to another key (a UID, an owner).
 */
export function enqueueOnChange<T extends KubeObject>(
  enqueue: (key: string) => void,
  keyFn: (obj: T) => string | undefined = keyOf,
): InformerHandlers<T> {
  const add = (obj: T): void => {
    const key = keyFn(obj);
    if (key !== undefined && key !== '') enqueue(key);
  };
  return { onAdd: add, onUpdate: (_old, obj) => add(obj), onDelete: add };
}

/** Handlers that call `fn` with the object of every add, update (including resync) and delete. */
export function onAnyChange<T extends KubeObject>(fn: (obj: T) => void): InformerHandlers<T> {
  return { onAdd: fn, onUpdate: (_old, obj) => fn(obj), onDelete: fn };
}

export interface HandlerOptions<T extends KubeObject = KubeObject> {
  /** Re-deliver every cached object to these handlers as onUpdate(obj, obj) this often; 0 = never. */
  resyncMs?: number;
  /**
   * Re-deliver only the objects this says may need a look (a pure check, e.g. "the controller's
   * decision for it is not a no-op"): a resync of a settled cluster then costs a check per object,
   * not a queued reconcile each.
   */
  resyncFilter?: (obj: T) => boolean;
  /**
   * Asked before each resync pass; false skips the whole pass (e.g. nothing the filter reads has
   * changed since a pass whose filter passed nothing on: see SettledResync).
   */
  resyncNeeded?: () => boolean;
}

/** One addHandler call: its handlers and, when it asked for one, its own resync timer. */
interface Registration<T extends KubeObject> {
  handlers: InformerHandlers<T>;
  resyncMs: number;
  resyncFilter: ((obj: T) => boolean) | undefined;
  resyncNeeded: (() => boolean) | undefined;
  timer?: TimerHandle;
}

export interface InformerOptions {
  store: ObjectStore;
  kind: KindInfo;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as onUpdate(obj, obj) this often; 0 = never. Default 0. */
  resyncMs?: number;
  /** Longest wait between retries when list or watch fails for a reason other than 410. */
  maxRetryMs?: number;
  clock?: Clock;
  logger?: Logger;
  /**
   * Cache objects without metadata.managedFields (controller-runtime's TransformStripManagedFields):
   * no controller reads them, and an update of a cached object then sends none, which the API
   * server answers by keeping the stored ones (as Kubernetes does for a client that omits them).
   * Often half of a small object's JSON: the controller serialises, and the server parses,
   * validates and compares, that much less per update.
   */
  stripManagedFields?: boolean;
}

/** Pure: `obj` without metadata.managedFields (itself when it has none). */
export function withoutManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata['managedFields'] === undefined) return obj;
  const { managedFields: _managed, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly store: ObjectStore;
  private readonly kind: KindInfo;
  private readonly selection: ListOptions;
  private readonly resyncMs: number;
  private readonly maxRetryMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** What an object from the store is cached as. */
  private readonly ingest: (obj: T) => T;

  private readonly cache: IndexedCache<T>;
  private readonly registrations: Registration<T>[] = [];

  private resourceVersion = '';
  private changeCount = 0;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private started = false;
  private stopped = false;
  private watch: Watch | undefined;
  /** Events from a watch whose token is not current are late arrivals from a replaced watch. */
  private watchToken = 0;
  private resyncTimer: TimerHandle | undefined;
  /** Watch ends within the back-off reset window; the second and later wait before watching again. */
  private watchEnds = 0;
  private lastWatchEndMs = Number.NEGATIVE_INFINITY;
  private readonly stopController = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  constructor(options: InformerOptions) {
    this.store = options.store;
    this.kind = options.kind;
    this.selection = {
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      ...(options.labelSelector !== undefined ? { labelSelector: options.labelSelector } : {}),
      ...(options.fieldSelector !== undefined ? { fieldSelector: options.fieldSelector } : {}),
    };
    this.resyncMs = options.resyncMs ?? 0;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ informer: options.kind.plural });
    this.ingest = options.stripManagedFields
      ? (obj) => deepFreeze(withoutManagedFields(obj))
      : (obj) => deepFreeze(obj);
    this.cache = new IndexedCache<T>((index, key, err) =>
      this.log.error('index function failed', { index, key, err }),
    );
  }

  /**
   * Adds handlers. Added after the first sync, they are first told onAdd for every cached object.
   * Returns what removes them again (a controller sharing this informer stops without stopping it).
   */
  addHandler(handlers: InformerHandlers<T>, options: HandlerOptions<T> = {}): () => void {
    const registration: Registration<T> = {
      handlers,
      resyncMs: options.resyncMs ?? 0,
      resyncFilter: options.resyncFilter,
      resyncNeeded: options.resyncNeeded,
    };
    this.registrations.push(registration);
    if (this.synced) for (const obj of this.cache.values()) this.call('onAdd', () => handlers.onAdd?.(obj));
    if (this.started) this.scheduleHandlerResync(registration);
    return () => {
      const at = this.registrations.indexOf(registration);
      if (at >= 0) this.registrations.splice(at, 1);
      registration.timer?.cancel();
    };
  }

  /** Adds an index; its function returns the values an object is filed under. */
  addIndex(index: IndexDef<T>): void;
  addIndex(name: string, fn: IndexFunc<T>): void;
  addIndex(nameOrIndex: string | IndexDef<T>, fn?: IndexFunc<T>): void {
    if (typeof nameOrIndex === 'string') this.cache.addIndex(nameOrIndex, fn!);
    else this.cache.addIndex(nameOrIndex.name, nameOrIndex.fn);
  }

  /** Objects filed under `value` in an index. */
  byIndex(index: string | IndexDef<T>, value: string): T[] {
    return this.cache.byIndex(typeof index === 'string' ? index : index.name, value);
  }

  /** How many objects are filed under `value` in an index (without building the list). */
  countByIndex(index: string | IndexDef<T>, value: string): number {
    return this.cache.countByIndex(typeof index === 'string' ? index : index.name, value);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return this.cache.values();
  }

  /**
   * How many times the cache changed (an object added, replaced or removed): a generation that
   * lets a reader know it has seen everything (e.g. a SettledResync over several informers).
   */
  get changes(): number {
    return this.changeCount;
  }

  /** The revision the cache reflects (the last list or watch event). */
  lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves after the first list has filled the cache (or at once after stop()). */
  waitForSync(): Promise<void> {
    if (this.synced || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Starts list+watch in the background; failures are logged and retried, never thrown. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.loop = this.listAndWatch(true);
    this.scheduleResync();
    for (const registration of this.registrations) this.scheduleHandlerResync(registration);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopController.abort(new Error('informer stopped'));
    this.resyncTimer?.cancel();
    for (const registration of this.registrations) registration.timer?.cancel();
    this.watchToken++;
    this.watch?.stop();
    this.watch = undefined;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.loop;
  }

  /** (Re)establishes the watch, listing first when asked or when the store says our revision expired. */
  private async listAndWatch(needList: boolean): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (needList) {
          const result = await this.store.list<T>(this.kind, { ...this.selection, readOnly: true });
          if (this.stopped) return;
          this.replace(result.items);
          this.resourceVersion = result.resourceVersion;
          needList = false;
        }
        const token = ++this.watchToken;
        const watch = await this.store.watch(
          this.kind,
          { ...this.selection, resourceVersion: this.resourceVersion, readOnly: true },
          (event) => this.onWatchEvent(token, event),
          (err) => this.onWatchEnded(token, err),
        );
        if (this.stopped || token !== this.watchToken) {
          watch.stop();
          return;
        }
        this.watch = watch;
        this.log.debug('watching', { resourceVersion: this.resourceVersion });
        return;
      } catch (err) {
        if (this.stopped) return;
        failures++;
        if (isExpired(err)) {
          needList = true;
          // The first expiry is routine (we fell behind the store's history): relist at once.
          if (failures === 1) {
            this.log.info('watch revision expired; relisting', { resourceVersion: this.resourceVersion });
            continue;
          }
        }
        const delay = Math.min(1000 * 2 ** (failures - 1), this.maxRetryMs);
        this.log.warn('list/watch failed; retrying', { err, failures, retryInMs: delay });
        try {
          await sleep(this.clock, delay, this.stopController.signal);
        } catch {
          return; // stopped
        }
      }
    }
  }

  /** The store ended the watch (e.g. a remote store lost its place): watch again, or relist. */
  private onWatchEnded(token: number, err: Error): void {
    if (token !== this.watchToken || this.stopped) return;
    this.watchToken++;
    this.watch = undefined;
    const delay = this.rewatchDelay();
    this.log.info('watch ended; re-establishing', { err, retryInMs: delay });
    const previous = this.loop;
    this.loop = (async () => {
      await previous;
      if (delay > 0) {
        try {
          await sleep(this.clock, delay, this.stopController.signal);
        } catch {
          return; // stopped
        }
      }
      await this.listAndWatch(isExpired(err));
    })();
  }

  /**
   * A watch that keeps ending (a server closing every stream at once) must not turn into a loop of
   * requests: as client-go's reflector, the first end in a while re-watches at once, later ones
   * wait 800 ms doubling to maxRetryMs with jitter; two quiet minutes reset the count.
   */
  private rewatchDelay(): number {
    const now = this.clock.now().getTime();
    if (now - this.lastWatchEndMs > WATCH_BACKOFF_RESET_MS) this.watchEnds = 0;
    this.lastWatchEndMs = now;
    this.watchEnds++;
    if (this.watchEnds === 1) return 0;
    const base = Math.min(WATCH_BACKOFF_INITIAL_MS * 2 ** (this.watchEnds - 2), this.maxRetryMs);
    return Math.round(base * (1 + Math.random() * 0.5));
  }

  private onWatchEvent(token: number, event: WatchEvent): void {
    if (token !== this.watchToken || this.stopped) return;
    const obj = this.ingest(event.object as T);
    const key = keyOf(obj);
    if (obj.metadata.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    const old = this.cache.get(key);
    this.changeCount++;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        this.cache.put(key, obj);
        if (old) this.emitUpdate(old, obj);
        else this.emitAdd(obj);
        break;
      case 'DELETED':
        this.cache.remove(key);
        this.emitDelete(obj);
        break;
    }
  }

  /** Replaces the cache with a fresh list and tells handlers what changed since the old one. */
  private replace(items: T[]): void {
    const fresh = new Map(items.map((obj) => [keyOf(obj), this.ingest(obj)]));
    for (const [key, old] of this.cache.entries()) {
      if (!fresh.has(key)) {
        this.changeCount++;
        this.cache.remove(key);
        this.emitDelete(old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      this.cache.put(key, obj);
      if (!old) {
        this.changeCount++;
        this.emitAdd(obj);
      } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        this.changeCount++;
        this.emitUpdate(old, obj);
      }
    }
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private scheduleResync(): void {
    if (this.resyncMs <= 0 || this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      if (this.stopped) return;
      if (this.synced) for (const obj of this.cache.values()) this.emitUpdate(obj, obj);
      this.scheduleResync();
    }, this.resyncMs);
  }

  private scheduleHandlerResync(registration: Registration<T>): void {
    if (registration.resyncMs <= 0 || this.stopped) return;
    registration.timer = this.clock.setTimeout(() => {
      if (this.stopped || !this.registrations.includes(registration)) return;
      const { handlers, resyncFilter, resyncNeeded } = registration;
      if (this.synced && (!resyncNeeded || resyncNeeded()))
        for (const obj of this.cache.values()) {
          this.call('onUpdate', () => {
            if (!resyncFilter || resyncFilter(obj)) handlers.onUpdate?.(obj, obj);
          });
        }
      this.scheduleHandlerResync(registration);
    }, registration.resyncMs);
  }

  // Handlers are copied first: one may remove itself (or another) while being told.
  private emitAdd(obj: T): void {
    for (const { handlers: h } of [...this.registrations]) this.call('onAdd', () => h.onAdd?.(obj));
  }

  private emitUpdate(oldObj: T, newObj: T): void {
    for (const { handlers: h } of [...this.registrations])
      this.call('onUpdate', () => h.onUpdate?.(oldObj, newObj));
  }

  private emitDelete(obj: T): void {
    for (const { handlers: h } of [...this.registrations]) this.call('onDelete', () => h.onDelete?.(obj));
  }

  /** A throwing handler is logged; it must not break the cache or the other handlers. */
  private call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error('informer handler failed', { handler: what, err });
    }
  }
}

function isExpired(err: unknown): boolean {
  return (
    isStatusError(err, 'Expired') || isStatusError(err, 'Gone') || (isStatusError(err) && err.code === 410)
  );
}
