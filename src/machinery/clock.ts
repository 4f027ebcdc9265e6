// Time as an injected dependency. Controllers, queues, informers and leader election read the time
// and schedule timers only through a Clock, so tests drive them with FakeClock instead of waiting.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** The real clock. Timers are unref'd so a pending retry never keeps the process alive by itself. */
export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/** Resolves after `ms` on `clock`; rejects with the signal's reason if aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(signal?.reason as Error);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface FakeTimer {
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * Manual time for tests. Nothing happens until advance(): it moves time forward and fires every
 * timer that falls due, in due order (ties in the order they were set), with now() equal to each
 * timer's due time while it runs. Timers set by a firing timer fire too if they fall in the window.
 */
export class FakeClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(start: Date | number = Date.UTC(2025, 0, 1)) {
    this.nowMs = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { due: this.nowMs + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return {
      cancel: () => {
        this.timers = this.timers.filter((t) => t !== timer);
      },
    };
  }

  /** Number of timers not yet fired or cancelled. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** Due time (ms since epoch) of the earliest pending timer. */
  nextDue(): number | undefined {
    return this.earliest()?.due;
  }

  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      const next = this.earliest();
      if (!next || next.due > target) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.nowMs = Math.max(this.nowMs, next.due);
      next.fn();
    }
    this.nowMs = target;
  }

  /**
   * advance() for code whose timers start async work: fires due timers one at a time and lets
   * pending promise callbacks run after each, so chains like "timer -> await -> new timer" progress.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.earliest();
      if (!next || next.due > target) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.nowMs = Math.max(this.nowMs, next.due);
      next.fn();
    }
    this.nowMs = target;
    await flushMicrotasks();
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Lets every already-queued promise callback (and the callbacks they queue) run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
