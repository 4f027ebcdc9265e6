// Watch fan-out and bounded history. Every durable change is recorded (up to historyLimit
// events) so a watch can resume from a revision; each watcher sees the change through its own
// filter, so an object that starts or stops matching arrives as ADDED or DELETED, as in
// Kubernetes. Delivery is asynchronous (never inside a writer's call stack) and in order.
// Watchers are indexed by kind and namespace, so a change costs nothing for the watchers of other
// kinds or of other namespaces (a thousand per-namespace watchers do not each look at every write).
import { gone } from '../api/errors.js';
import type { KubeObject } from '../api/meta.js';
import type { ObjectFilter } from './object-filter.js';
import type { Watch, WatchEvent, WatchEventType } from './types.js';
import { cloneJson, deepFreeze } from './merge-patch.js';

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

/** A watch's queue holds its events and, among them, the bookmarks asked for (a revision). */
type Queued = WatchEvent | number;

interface WatcherOptions {
  kind: string;
  filter: ObjectFilter;
  onEvent: (event: WatchEvent) => void;
  onProgress: ((revision: string) => void) | undefined;
  onStop: (w: Watcher) => void;
  readOnly: boolean;
  /** The revision every event up to which the watcher has been given, now. */
  progress: () => number;
}

class Watcher implements Watch {
  readonly kind: string;
  readonly filter: ObjectFilter;
  private readonly o: WatcherOptions;
  private queue: Queued[] = [];
  private scheduled = false;
  private stopped = false;
  errors = 0;

  constructor(options: WatcherOptions) {
    this.kind = options.kind;
    this.filter = options.filter;
    this.o = options;
  }

  /**
   * Every change published so far is in this watcher's queue already (publishing is
   * synchronous), so once the queue reaches this marker all of them have been delivered.
   */
  requestProgress(): void {
    if (this.o.onProgress) this.push(this.o.progress());
  }

  push(event: Queued): void {
    if (this.stopped) return;
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue = [];
    this.o.onStop(this);
  }

  private drain(): void {
    this.scheduled = false;
    const events = this.queue;
    this.queue = [];
    for (const event of events) {
      if (this.stopped) return;
      try {
        if (typeof event === 'number') {
          this.o.onProgress?.(String(event));
          continue;
        }
        // each watcher gets its own copy, so a handler that mutates cannot corrupt the store,
        // unless it promised only to read (then all share the committed object)
        const object = this.o.readOnly ? deepFreeze(event.object) : cloneJson(event.object);
        this.o.onEvent({ type: event.type, object });
      } catch {
        this.errors++;
      }
    }
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
  /** kind -> namespace ('' for watchers of every namespace) -> watchers. */
  private readonly index = new Map<string, Map<string, Set<Watcher>>>();
  private errorsOfStopped = 0;

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

  private deliver(change: ChangeEvent, watchers: Set<Watcher> | undefined): void {
    if (!watchers) return;
    for (const watcher of watchers) {
      const event = filteredEvent(change, watcher.filter);
      if (event) watcher.push(event);
    }
  }

  private indexed(watcher: Watcher): Set<Watcher> {
    let byNamespace = this.index.get(watcher.kind);
    if (!byNamespace) this.index.set(watcher.kind, (byNamespace = new Map()));
    const namespace = watcher.filter.namespace ?? '';
    let watchers = byNamespace.get(namespace);
    if (!watchers) byNamespace.set(namespace, (watchers = new Set()));
    return watchers;
  }

  private unindex(watcher: Watcher): void {
    const byNamespace = this.index.get(watcher.kind);
    const namespace = watcher.filter.namespace ?? '';
    const watchers = byNamespace?.get(namespace);
    if (!byNamespace || !watchers) return;
    watchers.delete(watcher);
    if (watchers.size === 0) byNamespace.delete(namespace);
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
    options: { readOnly?: boolean | undefined; onProgress?: ((revision: string) => void) | undefined } = {},
  ): Watch {
    if (fromRevision < this.startRevision) {
      throw gone(`too old resource version: ${fromRevision} (${this.startRevision})`);
    }
    const watcher = new Watcher({
      kind,
      filter,
      onEvent,
      onProgress: options.onProgress,
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
    this.indexed(watcher).add(watcher);
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
