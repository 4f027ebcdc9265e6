// The worker loop every berth controller runs: N workers drain one WorkQueue and call a Reconciler
// for each key. Success forgets the key's failures (and re-adds it later if asked); a TerminalError
// forgets it for good; any other error retries it with the rate limiter's back-off. A reconcile
// gets an AbortSignal that fires on its timeout or on stop(). Errors are logged, never thrown.
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import type { RateLimiter } from './rate-limiter.js';
import { WorkQueue } from './workqueue.js';

export interface ReconcileContext {
  signal: AbortSignal;
  log: Logger;
}

export type ReconcileResult = { requeueAfterMs?: number } | void;

export type Reconciler = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult>;

/** Thrown by a reconciler when retrying cannot help: the key is logged and forgotten. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export function isTerminalError(err: unknown): err is TerminalError {
  return err instanceof TerminalError;
}

/** The reason a reconcile's signal carries when its time ran out. */
export class ReconcileTimeoutError extends Error {
  constructor(key: string, ms: number) {
    super(`reconcile of "${key}" exceeded ${ms} ms`);
    this.name = 'ReconcileTimeoutError';
  }
}

export interface ControllerOptions {
  /** Shown in logs. */
  name: string;
  reconcile: Reconciler;
  /** Concurrent workers; distinct keys only, one key is never reconciled twice at once. Default 1. */
  workers?: number;
  /** Abort a reconcile's signal after this long; 0 = never. Default 0. */
  reconcileTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** Used to build the queue when `queue` is not given. */
  rateLimiter?: RateLimiter;
  queue?: WorkQueue;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly workers: number;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly inFlight = new Map<string, AbortController>();
  private running: Promise<void>[] = [];
  private started = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.reconciler = options.reconcile;
    this.workers = Math.max(1, options.workers ?? 1);
    this.timeoutMs = options.reconcileTimeoutMs ?? 0;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ controller: options.name });
    this.queue =
      options.queue ??
      new WorkQueue({
        name: options.name,
        clock: this.clock,
        ...(options.rateLimiter ? { rateLimiter: options.rateLimiter } : {}),
      });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.workers; i++) this.running.push(this.worker(i));
    this.log.info('controller started', { workers: this.workers });
  }

  /** Stops taking keys, aborts in-flight reconciles' signals, and waits for them to return. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.queue.shutDown();
    for (const ac of this.inFlight.values()) ac.abort(new Error(`controller ${this.name} stopping`));
    await Promise.all(this.running);
    this.running = [];
    this.notifyIdle();
    this.log.info('controller stopped');
  }

  /** Keys currently being reconciled. */
  inFlightKeys(): string[] {
    return [...this.inFlight.keys()];
  }

  /** True when no key is ready and none is being reconciled (delayed keys do not count). */
  isIdle(): boolean {
    return this.queue.len() === 0 && this.queue.processingLen() === 0;
  }

  /** Resolves the next time the controller is idle (at once if it is). For tests and shutdown. */
  whenIdle(): Promise<void> {
    if (this.isIdle() || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async worker(id: number): Promise<void> {
    for (;;) {
      // Let timers and I/O run between reconciles: a reconcile whose awaits all resolve at once
      // (an in-memory conflict retried straight away) must not starve the rest of the process.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.stopped) {
        this.queue.done(key);
        return;
      }
      try {
        await this.processItem(key, id);
      } catch (err) {
        // processItem handles reconcile errors; this guards against bugs in the loop itself.
        this.log.error('worker loop failed', { key, worker: id, err });
      } finally {
        this.queue.done(key);
        this.notifyIdle();
      }
    }
  }

  private async processItem(key: string, worker: number): Promise<void> {
    const ac = new AbortController();
    this.inFlight.set(key, ac);
    const timer =
      this.timeoutMs > 0
        ? this.clock.setTimeout(
            () => ac.abort(new ReconcileTimeoutError(key, this.timeoutMs)),
            this.timeoutMs,
          )
        : undefined;
    const log = this.log.child({ key });
    try {
      // Promise.resolve().then turns a synchronous throw into a rejection.
      const result = await Promise.resolve().then(() => this.reconciler(key, { signal: ac.signal, log }));
      this.queue.forget(key);
      const after = result?.requeueAfterMs;
      if (after !== undefined) this.queue.addAfter(key, after);
      log.debug('reconciled', { worker, ...(after !== undefined ? { requeueAfterMs: after } : {}) });
    } catch (err) {
      if (isTerminalError(err)) {
        this.queue.forget(key);
        log.error('reconcile failed permanently; not retrying', { err });
      } else {
        const failures = this.queue.numRequeues(key);
        this.queue.addRateLimited(key);
        log.warn('reconcile failed; will retry', {
          err,
          failures: failures + 1,
          timedOut: isTimeout(ac.signal),
        });
      }
    } finally {
      timer?.cancel();
      this.inFlight.delete(key);
    }
  }

  private notifyIdle(): void {
    if (!this.isIdle() && !this.stopped) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

function isTimeout(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof ReconcileTimeoutError;
}
