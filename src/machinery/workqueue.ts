// The rate-limited delaying work queue every controller drains, with client-go's guarantees:
// a key waiting in the queue is stored once however often it is added (de-duplication); a key
// handed out by get() is "processing" until done(), and adds meanwhile only mark it dirty so it is
// queued again after done() (never processed by two workers at once, never lost).
// Delays (addAfter, addRateLimited) run on the injected clock.
import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';
import type { RateLimiter } from './rate-limiter.js';
import { defaultControllerRateLimiter } from './rate-limiter.js';
import type { QueueMetrics } from './metrics.js';
import { queueMetrics } from './metrics.js';

export interface WorkQueueOptions {
  clock?: Clock;
  rateLimiter?: RateLimiter;
  /** Reported as the `name` label of the workqueue_* metrics; unnamed queues report none. */
  name?: string;
}

/**
 * First in, first out, each step O(1): Array.prototype.shift moves every element once the array
 * is long (a binder's queue holds tens of thousands of keys), so taken keys are skipped by a head
 * index and the array is cut only once they are half of it.
 */
class Fifo {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: string): void {
    this.items.push(item);
  }

  shift(): string | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

interface Waiting {
  readyAtMs: number;
  timer: TimerHandle;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  /** Keys ready to hand out, in order; every one is also in `dirty` and none is in `processing`. */
  private readonly queue = new Fifo();
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, Waiting>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private stopping = false;
  private readonly metrics: QueueMetrics;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter({ clock: this.clock });
    this.metrics = queueMetrics(options.name, this.clock, () => this.queue.length);
  }

  /** Marks `key` as needing processing. No-op after shutDown. */
  add(key: string): void {
    if (this.stopping || this.dirty.has(key)) return;
    this.metrics.added(key);
    this.dirty.add(key);
    if (this.processing.has(key)) return; // queued again by done()
    this.queue.push(key);
    this.handOut();
  }

  /**
   * The next key to process, waiting until there is one. Resolves undefined once the queue is shut
   * down and empty. The caller must call done(key) when finished with it.
   */
  get(): Promise<string | undefined> {
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    if (this.stopping) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Processing of `key` finished; if it was added meanwhile it goes back in the queue. */
  done(key: string): void {
    this.metrics.finished(key);
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.handOut();
    }
  }

  /** Adds `key` after `ms`. A key already waiting keeps the earlier of the two times. */
  addAfter(key: string, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAtMs = this.clock.now().getTime() + ms;
    const existing = this.waiting.get(key);
    if (existing && existing.readyAtMs <= readyAtMs) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { readyAtMs, timer });
  }

  /** Adds `key` after the rate limiter's delay for it (one more failure). */
  addRateLimited(key: string): void {
    this.metrics.retried();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears the failure history of `key` (it succeeded, or will not be retried). */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Keys ready to be handed out (not counting processing or delayed keys). */
  len(): number {
    return this.queue.length;
  }

  /** Keys handed out by get() and not yet done(). */
  processingLen(): number {
    return this.processing.size;
  }

  /** Keys waiting for a delay to pass. */
  delayedLen(): number {
    return this.waiting.size;
  }

  /** Stops accepting keys, drops delayed ones, and releases waiting get() calls once empty. */
  shutDown(): void {
    this.stopping = true;
    this.metrics.close();
    for (const w of this.waiting.values()) w.timer.cancel();
    this.waiting.clear();
    if (this.queue.length === 0) {
      for (const resolve of this.getters.splice(0)) resolve(undefined);
    }
  }

  shuttingDown(): boolean {
    return this.stopping;
  }

  private take(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.processing.add(key);
    this.dirty.delete(key);
    this.metrics.started(key);
    return key;
  }

  private handOut(): void {
    while (this.getters.length > 0 && this.queue.length > 0) {
      const resolve = this.getters.shift();
      resolve?.(this.take());
    }
    if (this.stopping && this.queue.length === 0) {
      for (const resolve of this.getters.splice(0)) resolve(undefined);
    }
  }
}
