// Lease-based leader election (coordination.k8s.io/v1 Lease) over the ObjectStore, with client-go's
// rules and csi-lib-utils' timings (lease 15 s, renew deadline 10 s, retry 5 s). A candidate takes
// the Lease when it is free or when its holder has not renewed it for a lease duration as measured
// on the candidate's own clock from when it last saw the record change (so clock skew between
// hosts does not matter); every write is a compare-and-swap on resourceVersion. The leader renews
// every retry period and steps down if it cannot renew within the renew deadline. Losing the lease
// puts the elector back into candidate mode; stop() releases the lease if held.
import { isStatusError } from '../api/errors.js';
import type { KindInfo } from '../api/kinds.js';
import { kindFor } from '../api/kinds.js';
import type { Lease } from '../api/types.js';
import type { ObjectStore } from '../store/types.js';
import type { Clock, TimerHandle } from './clock.js';
import { sleep, systemClock } from './clock.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 5_000;
/** client-go waits retryPeriod * (1 + rand * 1.2) between acquire attempts. */
const JITTER_FACTOR = 1.2;

export interface LeaderElectorOptions {
  store: ObjectStore;
  /** Lease name; csi sidecars use the driver name with "/" replaced by "-". */
  name: string;
  namespace: string;
  /** Unique per candidate, e.g. hostname + pid. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Release the lease on stop() so a successor need not wait for expiry. Default true. */
  releaseOnStop?: boolean;
  /** Called on becoming leader; `signal` aborts when leadership ends. */
  onStartedLeading?: (signal: AbortSignal) => void;
  onStoppedLeading?: () => void;
  /** Called when the observed holder changes (including to ourselves). */
  onNewLeader?: (identity: string) => void;
  clock?: Clock;
  logger?: Logger;
  /** Random source for jitter; tests pass () => 0. */
  random?: () => number;
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function microTime(d: Date): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

export class LeaderElector {
  private readonly store: ObjectStore;
  private readonly leaseKind: KindInfo;
  private readonly name: string;
  private readonly namespace: string;
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly releaseOnStop: boolean;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly callbacks: Pick<
    LeaderElectorOptions,
    'onStartedLeading' | 'onStoppedLeading' | 'onNewLeader'
  >;

  private observed: Lease | undefined;
  private observedAtMs = 0;
  private observedHolder = '';
  private leading = false;
  private leadership: AbortController | undefined;
  private watchdog: TimerHandle | undefined;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.store = options.store;
    const leaseKind = kindFor('coordination.k8s.io/v1', 'Lease');
    if (!leaseKind) throw new Error('the Lease kind is not registered');
    this.leaseKind = leaseKind;
    this.name = options.name;
    this.namespace = options.namespace;
    this.identity = options.identity;
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod');
    }
    this.releaseOnStop = options.releaseOnStop ?? true;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ lease: `${options.namespace}/${options.name}` });
    this.random = options.random ?? Math.random;
    this.callbacks = {
      ...(options.onStartedLeading ? { onStartedLeading: options.onStartedLeading } : {}),
      ...(options.onStoppedLeading ? { onStoppedLeading: options.onStoppedLeading } : {}),
      ...(options.onNewLeader ? { onNewLeader: options.onNewLeader } : {}),
    };
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder this candidate last saw ('' if none). */
  leader(): string {
    return this.observedHolder;
  }

  /** Runs the acquire/renew loop in the background until stop(). */
  start(): void {
    if (this.loop || this.stopController.signal.aborted) return;
    this.loop = this.run();
  }

  /** Stops campaigning; a leader releases the lease (unless releaseOnStop is false) and steps down. */
  async stop(): Promise<void> {
    this.stopController.abort(new Error('leader elector stopped'));
    await this.loop;
    if (this.leading && this.releaseOnStop) await this.release();
    this.stepDown();
  }

  /**
   * One election round: takes or renews the lease if this candidate may. Resolves true when this
   * candidate holds the lease afterwards. Never throws (store errors count as "not acquired").
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    let current: Lease | undefined;
    try {
      current = await this.store.get<Lease>(this.leaseKind, this.namespace, this.name);
    } catch (err) {
      if (!isStatusError(err, 'NotFound')) {
        this.log.warn('could not read lease', { err });
        return false;
      }
    }
    if (!current) return this.createLease(now);
    this.observe(current);

    const spec = current.spec;
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    const heldByOther = holder !== '' && holder !== this.identity;
    if (heldByOther && this.observedAtMs + durationMs > now.getTime()) return false;

    const weHeldIt = holder === this.identity;
    const next: Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.round(this.leaseDurationMs / 1000),
        renewTime: microTime(now),
        acquireTime: weHeldIt && spec.acquireTime ? spec.acquireTime : microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (weHeldIt || holder === '' ? 0 : 1),
      },
    };
    try {
      this.observe(await this.store.update(this.leaseKind, next));
      return true;
    } catch (err) {
      // Conflict: someone else wrote first; they win this round.
      if (!isStatusError(err, 'Conflict')) this.log.warn('could not update lease', { err });
      return false;
    }
  }

  private async createLease(now: Date): Promise<boolean> {
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.round(this.leaseDurationMs / 1000),
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      },
    };
    try {
      this.observe(await this.store.create(this.leaseKind, lease));
      return true;
    } catch (err) {
      if (!isStatusError(err, 'AlreadyExists')) this.log.warn('could not create lease', { err });
      return false;
    }
  }

  /** Remembers when the record last changed, on our clock: expiry is measured from then. */
  private observe(lease: Lease): void {
    const changed =
      !this.observed ||
      this.observed.metadata.resourceVersion !== lease.metadata.resourceVersion ||
      this.observed.spec.renewTime !== lease.spec.renewTime ||
      this.observed.spec.holderIdentity !== lease.spec.holderIdentity;
    if (changed) {
      this.observed = lease;
      this.observedAtMs = this.clock.now().getTime();
    }
    const holder = lease.spec.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder !== '') {
        this.log.info('new leader observed', { holder });
        this.safely('onNewLeader', () => this.callbacks.onNewLeader?.(holder));
      }
    }
  }

  private async run(): Promise<void> {
    const stopped = this.stopController.signal;
    while (!stopped.aborted) {
      if (!(await this.acquire())) return;
      this.stepUp();
      await this.renewUntilLost();
      if (stopped.aborted) return; // stop() releases and steps down
      this.log.warn('lost leadership', { identity: this.identity });
      this.stepDown();
    }
  }

  /** Tries until the lease is ours (true) or the elector is stopped (false). */
  private async acquire(): Promise<boolean> {
    const stopped = this.stopController.signal;
    while (!stopped.aborted) {
      if (await this.tryAcquireOrRenew()) return !stopped.aborted || this.leadingAfterStop();
      const wait = this.retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
      if (!(await this.pause(wait))) return false;
    }
    return false;
  }

  /** Acquired just as stop() was called: mark as leading so stop() releases what we took. */
  private leadingAfterStop(): boolean {
    this.leading = true;
    return false;
  }

  /**
   * Renews every retry period; returns when a renew deadline passes without success, or on stop.
   * The deadline is also a timer (the watchdog): a renewal still unanswered when it fires (the API
   * server is cut off) ends the leadership then, before the lease can expire for the others.
   */
  private async renewUntilLost(): Promise<void> {
    let lastRenewMs = this.clock.now().getTime();
    while (!this.stopController.signal.aborted) {
      if (!(await this.pause(this.retryPeriodMs))) return;
      if (!this.leading) return;
      const renewed = await this.tryAcquireOrRenew();
      if (!this.leading) return; // the watchdog fired while the renewal was in flight
      if (renewed) {
        lastRenewMs = this.clock.now().getTime();
        this.armWatchdog();
        continue;
      }
      if (this.clock.now().getTime() - lastRenewMs >= this.renewDeadlineMs) return;
    }
  }

  private armWatchdog(): void {
    this.watchdog?.cancel();
    this.watchdog = this.clock.setTimeout(() => {
      this.watchdog = undefined;
      if (!this.leading || this.stopController.signal.aborted) return;
      this.log.warn('could not renew the lease within the renew deadline', {
        identity: this.identity,
        renewDeadlineMs: this.renewDeadlineMs,
      });
      this.stepDown();
    }, this.renewDeadlineMs);
  }

  /** Sleeps on the clock; false if stop() interrupted it. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(this.clock, ms, this.stopController.signal);
      return true;
    } catch {
      return false;
    }
  }

  private async release(): Promise<void> {
    const current = this.observed;
    if (!current || current.spec.holderIdentity !== this.identity) return;
    const now = microTime(this.clock.now());
    try {
      this.observe(
        await this.store.update(this.leaseKind, {
          ...current,
          spec: {
            ...current.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: now,
            acquireTime: now,
          },
        }),
      );
      this.log.info('released lease');
    } catch (err) {
      this.log.warn('could not release lease', { err });
    }
  }

  private stepUp(): void {
    if (this.leading && this.leadership) return;
    this.leading = true;
    this.leadership = new AbortController();
    this.armWatchdog();
    this.log.info('became leader', { identity: this.identity });
    const signal = this.leadership.signal;
    this.safely('onStartedLeading', () => this.callbacks.onStartedLeading?.(signal));
  }

  private stepDown(): void {
    if (!this.leading) return;
    const hadStarted = this.leadership !== undefined;
    this.leading = false;
    this.watchdog?.cancel();
    this.watchdog = undefined;
    this.leadership?.abort(new Error('leadership lost'));
    this.leadership = undefined;
    if (hadStarted) this.safely('onStoppedLeading', () => this.callbacks.onStoppedLeading?.());
  }

  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error('leader election callback failed', { callback: what, err });
    }
  }
}
