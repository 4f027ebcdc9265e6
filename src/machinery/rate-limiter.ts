// Retry delays for the work queue, with client-go's semantics: a per-key exponential back-off that
// resets on forget, an overall token bucket, and the max of several limiters. Delays are in ms.
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';

export interface RateLimiter {
  /** How long to wait before `key` may be processed again; counts as one more failure of it. */
  when(key: string): number;
  /** The key succeeded (or gave up): clear its failure history. */
  forget(key: string): void;
  /** How many times `key` has been rate-limited since it was last forgotten. */
  numRequeues(key: string): number;
}

/** external-provisioner's --retry-interval-start / --retry-interval-max defaults. */
export const DEFAULT_RETRY_BASE_MS = 1000;
export const DEFAULT_RETRY_MAX_MS = 5 * 60 * 1000;

/** The back-off of each kind of retry, with the numbers of the Kubernetes component that does it. */
export const BACKOFF = {
  /** external-provisioner: --retry-interval-start 1 s, --retry-interval-max 5 min. */
  provisioner: { baseMs: DEFAULT_RETRY_BASE_MS, maxMs: DEFAULT_RETRY_MAX_MS },
  /**
   * kubelet's and the attach/detach controller's exponential back-off: 500 ms doubling to 2 min 2 s
   * (node stage/publish/unpublish/unstage, flex attach and mount).
   */
  volumeOperation: { baseMs: 500, maxMs: 122_000 },
  /** external-attacher: --retry-interval-start 1 s, --retry-interval-max 5 min. */
  attacher: { baseMs: DEFAULT_RETRY_BASE_MS, maxMs: DEFAULT_RETRY_MAX_MS },
  /** external-resizer: --retry-interval-start 1 s, --retry-interval-max 5 min. */
  resizer: { baseMs: DEFAULT_RETRY_BASE_MS, maxMs: DEFAULT_RETRY_MAX_MS },
  /** kube-scheduler: --pod-initial-backoff-seconds 1, --pod-max-backoff-seconds 10. */
  schedulerPod: { baseMs: 1000, maxMs: 10_000 },
} as const satisfies Record<string, { baseMs: number; maxMs: number }>;

/** The share of each delay taken off at random, so retries of many keys do not fire in step. */
export const DEFAULT_JITTER = 0.1;

export interface BackoffOptions {
  /** 0..1: each delay is shortened by up to this fraction at random. Default 0 (exact delays). */
  jitter?: number;
  /** Returns a number in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * base * 2^failures, capped at max; the first failure waits `base`. With jitter, each delay is
 * shortened by a random share of itself, so it never exceeds the documented numbers.
 */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private readonly failures = new Map<string, number>();

  constructor(baseMs = DEFAULT_RETRY_BASE_MS, maxMs = DEFAULT_RETRY_MAX_MS, options: BackoffOptions = {}) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? 0));
    this.random = options.random ?? Math.random;
  }

  when(key: string): number {
    const exp = this.failures.get(key) ?? 0;
    this.failures.set(key, exp + 1);
    // 2^exp overflows to Infinity long before it matters; the cap keeps the result finite.
    const delay = Math.min(this.baseMs * 2 ** exp, this.maxMs);
    return this.jitter === 0 ? delay : Math.round(delay * (1 - this.jitter * this.random()));
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * A token bucket shared by all keys (golang.org/x/time/rate Reserve semantics): `burst` tokens,
 * refilled at `qps` per second; each when() takes a token, and waits if the bucket is in debt.
 */
export class BucketRateLimiter implements RateLimiter {
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private lastMs: number;

  constructor(qps: number, burst: number, clock: Clock = systemClock) {
    this.qps = qps;
    this.burst = burst;
    this.clock = clock;
    this.tokens = burst;
    this.lastMs = clock.now().getTime();
  }

  when(_key: string): number {
    const nowMs = this.clock.now().getTime();
    const elapsedS = Math.max(0, nowMs - this.lastMs) / 1000;
    this.lastMs = Math.max(this.lastMs, nowMs);
    this.tokens = Math.min(this.burst, this.tokens + elapsedS * this.qps);
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens / this.qps) * 1000);
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

/** The longest delay of its members; forget and numRequeues apply to (and read from) all of them. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(key));
    return max;
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(key));
    return max;
  }
}

/** The shared back-off for one kind of retry (see BACKOFF), with jitter unless told otherwise. */
export function backoffFor(
  kind: keyof typeof BACKOFF,
  overrides: { baseMs?: number | undefined; maxMs?: number | undefined } & BackoffOptions = {},
): ItemExponentialFailureRateLimiter {
  const numbers = BACKOFF[kind];
  return new ItemExponentialFailureRateLimiter(
    overrides.baseMs ?? numbers.baseMs,
    overrides.maxMs ?? numbers.maxMs,
    { jitter: overrides.jitter ?? DEFAULT_JITTER, ...(overrides.random ? { random: overrides.random } : {}) },
  );
}

export interface ControllerRateLimiterOptions {
  baseMs?: number;
  maxMs?: number;
  qps?: number;
  burst?: number;
  clock?: Clock;
}

/**
 * client-go's DefaultControllerRateLimiter shape with the CSI sidecars' retry interval defaults:
 * max(exponential 1 s -> 5 min per key, 10 qps / 100 burst overall).
 */
export function defaultControllerRateLimiter(options: ControllerRateLimiterOptions = {}): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialFailureRateLimiter(
      options.baseMs ?? DEFAULT_RETRY_BASE_MS,
      options.maxMs ?? DEFAULT_RETRY_MAX_MS,
    ),
    new BucketRateLimiter(options.qps ?? 10, options.burst ?? 100, options.clock ?? systemClock),
  );
}
