// Watch fan-out and bounded history. Every durable change is recorded (up to historyLimit
// events) so a watch can resume from a revision; each watcher sees the change through its own
// filter, so an object that starts or stops matching arrives as ADDED or DELETED, as in
// Kubernetes. Delivery is asynchronous (never inside a writer's call stack) and in order.
// Watchers are indexed by kind and namespace, so a change costs nothing for the watchers of other
// kinds or of other namespaces (a thousand per-namespace watchers do not each look at every write).
import { gone } from '../api/errors.js';
import type { KubeObject } from '../api/meta.js';
import type { ObjectFilter } from './object-filter.js';
import type { Watch, WatchEvent, WatchEventType, WatchOptions } from './types.js';
import { cloneJson } from '../api/clone-json.js';
import { deepFreeze } from './merge-patch.js';

export interface ChangeEvent {
  rev: number;
  kind: string;
  type: WatchEventType;
  /** The committed object before this change (absent for ADDED). */
  previous: KubeObject | undefined;
  /** The object after the change; for DELETED its final state. */
  object: KubeObject;
}

/** What a watcher with `filter` should see for `change`, if anything. */
export function filteredEvent(change: ChangeEvent, filter: ObjectFilter): WatchEvent | undefined {
  const before = change.previous !== undefined && filter.matches(change.previous);
  switch (change.type) {
    case 'ADDED':
      return filter.matches(change.object) ? { type: 'ADDED', object: change.object } : undefined;
    case 'DELETED':
      return before ? { type: 'DELETED', object: change.object } : undefined;
    case 'MODIFIED': {
      const after = filter.matches(change.object);
      if (before && after) return { type: 'MODIFIED', object: change.object };
      if (after) return { type: 'ADDED', object: change.object };
      if (before) return { type: 'DELETED', object: change.object };
      return undefined;
    }
  }
}

/**
 * A watch's queue holds its events, batches of events it shares with other watchers, and the
 * bookmarks asked for (a revision).
 */
type Queued = WatchEvent | readonly WatchEvent[] | number;

interface WatcherOptions {
  kind: string;
  filter: ObjectFilter;
  onEvent: (event: WatchEvent) => void;
  onEvents: ((events: readonly WatchEvent[]) => void) | undefined;
  onProgress: ((revision: string) => void) | undefined;
  onStop: (w: Watcher) => void;
  /** Asks the hub to drain this watcher soon (once per `push` after a drain). */
  schedule: (w: Watcher) => void;
  readOnly: boolean;
  /** The revision every event up to which the watcher has been given, now. */
  progress: () => number;
}

class Watcher implements Watch {
  readonly kind: string;
  readonly filter: ObjectFilter;
  /** Takes the batches shared by every such watcher of its kind and namespace. */
  readonly sharesBatches: boolean;
  private readonly o: WatcherOptions;
  private queue: Queued[] = [];
  private scheduled = false;
  private stopped = false;
  errors = 0;
  /** Set by the hub: called before a bookmark is queued (so the marker follows every event). */
  beforeProgress: (() => void) | undefined;

  constructor(options: WatcherOptions) {
    this.kind = options.kind;
    this.filter = options.filter;
    this.o = options;
    this.sharesBatches = options.readOnly && options.onEvents !== undefined && !options.filter.selects;
  }

  /**
   * Every change published so far is in this watcher's queue already (publishing is
   * synchronous), so once the queue reaches this marker all of them have been delivered.
   */
  requestProgress(): void {
    if (!this.o.onProgress) return;
    this.beforeProgress?.();
    this.push(this.o.progress());
  }

  push(event: Queued): void {
    if (this.stopped) return;
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      this.o.schedule(this);
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue = [];
    this.o.onStop(this);
  }

  drain(): void {
    this.scheduled = false;
    const events = this.queue;
    this.queue = [];
    for (const event of events) {
      if (this.stopped) return;
      try {
        if (typeof event === 'number') this.o.onProgress?.(String(event));
        else if (isBatch(event)) this.o.onEvents?.(event);
        else this.deliver(event);
      } catch {
        this.errors++;
      }
    }
  }

  private deliver(event: WatchEvent): void {
    // each watcher gets its own copy, so a handler that mutates cannot corrupt the store,
    // unless it promised only to read (then all share the committed object)
    const object = this.o.readOnly ? deepFreeze(event.object) : cloneJson(event.object);
    this.o.onEvent({ type: event.type, object });
  }
}

const isBatch = (entry: WatchEvent | readonly WatchEvent[]): entry is readonly WatchEvent[] =>
  Array.isArray(entry);

/**
 * The watchers of one kind in one namespace ('' for every namespace). Those that share batches
 * cost nothing per change each: a change is filtered and appended once to the open batch, which
 * every one of them got a reference to when it opened, and they take it whole when drained.
 */
class Bucket {
  readonly shared = new Set<Watcher>();
  readonly own = new Set<Watcher>();
  /** The batch changes are appended to until the next drain (or a new watcher, or a bookmark). */
  open: WatchEvent[] | undefined;

  get size(): number {
    return this.shared.size + this.own.size;
  }

  /** Later changes go in a new batch; this one is handed out as it is. */
  close(): void {
    if (this.open) Object.freeze(this.open);
    this.open = undefined;
  }

  add(watcher: Watcher): void {
    // the new watcher's history replay covers the open batch's changes already
    this.close();
    (watcher.sharesBatches ? this.shared : this.own).add(watcher);
  }

  delete(watcher: Watcher): void {
    (watcher.sharesBatches ? this.shared : this.own).delete(watcher);
  }

  /** Hands `change` to each watcher; returns true when it opened a batch. */
  deliver(change: ChangeEvent): boolean {
    let opened = false;
    const first = this.shared.values().next();
    // every sharing watcher has no selector and this bucket's namespace: all see the same event
    const event = first.done ? undefined : filteredEvent(change, first.value.filter);
    if (event) {
      if (!this.open) {
        const batch: WatchEvent[] = (this.open = []);
        for (const watcher of this.shared) watcher.push(batch);
        opened = true;
      }
      deepFreeze(event.object);
      this.open.push(event);
    }
    for (const watcher of this.own) {
      const own = filteredEvent(change, watcher.filter);
      if (own) watcher.push(own);
    }
    return opened;
  }
}

export class WatchHub {
  private readonly limit: number;
  private history: ChangeEvent[] = [];
  private head = 0; // index of the oldest retained event in `history`
  private startRevision: number;
  /** The revision of the newest change published (or the start, before any). */
  private latestRevision: number;
  private readonly watchers = new Set<Watcher>();
  /** kind -> namespace ('' for watchers of every namespace) -> its watchers. */
  private readonly index = new Map<string, Map<string, Bucket>>();
  private errorsOfStopped = 0;
  /** Watchers with something queued, drained together in one callback. */
  private due: Watcher[] = [];
  /** Buckets whose open batch the next drain closes. */
  private opened: Bucket[] = [];

  /** `startRevision`: the newest revision whose changes are not (or no longer) retained. */
  constructor(limit: number, startRevision: number) {
    this.limit = limit;
    this.startRevision = startRevision;
    this.latestRevision = startRevision;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get handlerErrors(): number {
    let total = this.errorsOfStopped;
    for (const w of this.watchers) total += w.errors;
    return total;
  }

  /** The oldest revision a watch can resume from. */
  get oldestResumable(): number {
    return this.startRevision;
  }

  /** Records a durable change and hands it to every watcher of its kind. */
  publish(change: ChangeEvent): void {
    this.latestRevision = change.rev;
    this.history.push(change);
    if (this.history.length - this.head > this.limit) {
      this.startRevision = this.history[this.head]!.rev;
      this.head++;
      // compact the array now and then instead of shifting on every event
      if (this.head > 1024 && this.head * 2 > this.history.length) {
        this.history = this.history.slice(this.head);
        this.head = 0;
      }
    }
    const byNamespace = this.index.get(change.kind);
    if (!byNamespace) return;
    this.deliver(change, byNamespace.get(''));
    const namespace = change.object.metadata.namespace;
    if (namespace) this.deliver(change, byNamespace.get(namespace));
  }

  private deliver(change: ChangeEvent, bucket: Bucket | undefined): void {
    if (bucket?.deliver(change)) this.opened.push(bucket);
  }

  private readonly schedule = (watcher: Watcher): void => {
    if (this.due.length === 0) setImmediate(this.drain);
    this.due.push(watcher);
  };

  private readonly drain = (): void => {
    for (const bucket of this.opened) bucket.close();
    this.opened = [];
    const due = this.due;
    this.due = [];
    for (const watcher of due) watcher.drain();
  };

  private bucketOf(watcher: Watcher): Bucket {
    let byNamespace = this.index.get(watcher.kind);
    if (!byNamespace) this.index.set(watcher.kind, (byNamespace = new Map()));
    const namespace = watcher.filter.namespace ?? '';
    let bucket = byNamespace.get(namespace);
    if (!bucket) byNamespace.set(namespace, (bucket = new Bucket()));
    return bucket;
  }

  private unindex(watcher: Watcher): void {
    const byNamespace = this.index.get(watcher.kind);
    const namespace = watcher.filter.namespace ?? '';
    const bucket = byNamespace?.get(namespace);
    if (!byNamespace || !bucket) return;
    bucket.delete(watcher);
    if (bucket.size === 0) byNamespace.delete(namespace);
    if (byNamespace.size === 0) this.index.delete(watcher.kind);
  }

  /**
   * Starts a watch: `initial` objects arrive first as ADDED, then every change of `kind` after
   * `fromRevision` (replayed from history, then live). Throws 410 Expired if history no longer
   * reaches back to `fromRevision`.
   */
  subscribe(
    kind: string,
    filter: ObjectFilter,
    fromRevision: number,
    initial: KubeObject[],
    onEvent: (event: WatchEvent) => void,
    options: Pick<WatchOptions, 'readOnly' | 'onProgress' | 'onEvents'> = {},
  ): Watch {
    if (fromRevision < this.startRevision) {
      throw gone(`too old resource version: ${fromRevision} (${this.startRevision})`);
    }
    const watcher = new Watcher({
      kind,
      filter,
      onEvent,
      onEvents: options.onEvents,
      onProgress: options.onProgress,
      schedule: this.schedule,
      onStop: (w) => {
        this.errorsOfStopped += w.errors;
        this.watchers.delete(w);
        this.unindex(w);
      },
      readOnly: options.readOnly ?? false,
      // a watch from a revision ahead of the newest change has seen nothing before it either
      progress: () => Math.max(this.latestRevision, fromRevision),
    });
    for (const object of initial) watcher.push({ type: 'ADDED', object });
    for (let i = this.firstIndexAfter(fromRevision); i < this.history.length; i++) {
      const change = this.history[i]!;
      if (change.kind !== kind) continue;
      const event = filteredEvent(change, filter);
      if (event) watcher.push(event);
    }
    this.watchers.add(watcher);
    const bucket = this.bucketOf(watcher);
    bucket.add(watcher);
    // a bookmark asked for now follows every change so far: those later go in a new batch
    if (watcher.sharesBatches) watcher.beforeProgress = () => bucket.close();
    return watcher;
  }

  stopAll(): void {
    for (const watcher of [...this.watchers]) watcher.stop();
  }

  private firstIndexAfter(revision: number): number {
    let low = this.head;
    let high = this.history.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.history[mid]!.rev <= revision) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
