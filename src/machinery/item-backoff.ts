// A per-key back-off that outlives requeues: every failed attempt of a key doubles its wait (the
// rate limiter's numbers); success, or a change that makes the last failure moot, forgets it.
// Unlike the work queue's own back-off, an add caused by an unrelated change does not cut the
// wait short: the owner asks remainingMs() and queues the key for when it ends. kube-scheduler's
// pod back-off and the provisioner's per-claim back-off are this.
import type { Clock } from './clock.js';
import type { RateLimiter } from './rate-limiter.js';

export class ItemBackoff {
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private readonly until = new Map<string, number>();

  constructor(clock: Clock, limiter: RateLimiter) {
    this.clock = clock;
    this.limiter = limiter;
  }

  /** One more failed attempt of `key`; returns how long it now waits. */
  failed(key: string): number {
    const waitMs = this.limiter.when(key);
    this.until.set(key, this.clock.now().getTime() + waitMs);
    return waitMs;
  }

  /** How long `key` still waits before it may be tried (0: now). */
  remainingMs(key: string): number {
    const until = this.until.get(key);
    if (until === undefined) return 0;
    const remaining = until - this.clock.now().getTime();
    if (remaining <= 0) this.until.delete(key);
    return Math.max(0, remaining);
  }

  attempts(key: string): number {
    return this.limiter.numRequeues(key);
  }

  forget(key: string): void {
    this.until.delete(key);
    this.limiter.forget(key);
  }
}
