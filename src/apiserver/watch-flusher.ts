// Pacing of watch stream writes. Each write to a stream costs far more than the bytes it carries
// (a TLS record, a syscall, and on loopback the receiver's TCP work), so writes to all streams go
// out together in ticks: at a high event rate each stream gets one larger write per tick instead
// of one per store batch, and streams of one collection write the same batch in the same tick,
// sharing its buffer. The first events after a quiet spell go out at once.
// The interval adapts to what a tick costs: with many streams a tick of writes takes long, and
// ticks are spaced so that writing takes at most `busyShare` of the time (a 1,000-stream tick
// that costs 15 ms runs every 30 ms, not every 20 ms), so fan-out cannot starve the rest of the
// server; with few streams the interval stays at its minimum. It never passes 50 ms: an event
// waits up to one interval plus the tick's own writing, and delivery should stay within 100 ms;
// what a longer interval saves is only the per-write overhead, as the bytes cost the same.
import { performance } from 'node:perf_hooks';

export interface FlushPacing {
  /** The shortest interval between ticks. */
  minIntervalMs: number;
  /** The longest, however costly a tick. */
  maxIntervalMs: number;
  /** The share of time writing may take (0..1]. */
  busyShare: number;
  now: () => number;
}

const defaultPacing: FlushPacing = {
  minIntervalMs: 20,
  maxIntervalMs: 50,
  busyShare: 0.5,
  now: () => performance.now(),
};

export class WatchFlusher {
  private due = new Set<() => void>();
  private scheduled = false;
  private lastTick = -Infinity;
  private interval: number;
  private readonly pacing: FlushPacing;

  constructor(pacing: Partial<FlushPacing> = {}) {
    this.pacing = { ...defaultPacing, ...pacing };
    this.pacing.maxIntervalMs = Math.max(this.pacing.maxIntervalMs, this.pacing.minIntervalMs);
    this.interval = this.pacing.minIntervalMs;
  }

  /** The interval the next tick keeps after the last one. */
  get intervalMs(): number {
    return this.interval;
  }

  schedule(flush: () => void): void {
    this.due.add(flush);
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.lastTick + this.interval - this.pacing.now();
    if (wait <= 0) queueMicrotask(() => this.tick());
    else setTimeout(() => this.tick(), wait);
  }

  private tick(): void {
    this.scheduled = false;
    const started = (this.lastTick = this.pacing.now());
    const due = this.due;
    this.due = new Set();
    for (const flush of due) flush();
    // HTTP responses cork their socket until the next tick, so the writes themselves happen
    // then: measure once they are done
    process.nextTick(() => {
      const spent = this.pacing.now() - started;
      const { minIntervalMs, maxIntervalMs, busyShare } = this.pacing;
      this.interval = Math.min(maxIntervalMs, Math.max(minIntervalMs, spent / busyShare));
    });
  }
}
