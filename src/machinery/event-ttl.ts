// Events expire, as kube-apiserver's --event-ttl (1 h by default) makes them: an Event is removed
// once its last write (lastTimestamp, else firstTimestamp, else creationTimestamp) is older than
// the TTL. Kubernetes attaches an etcd lease to each write; here a sweep on the injected clock
// deletes expired Events, which has the same visible result whatever the store.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { Event } from '../api/types.js';
import type { ObjectStore } from '../store/types.js';
import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';

/** kube-apiserver's --event-ttl default. */
export const DEFAULT_EVENT_TTL_MS = 60 * 60 * 1000;
/** Sweeps run this often at most, so an Event outlives its TTL by no more than this. */
const MAX_SWEEP_INTERVAL_MS = 60_000;

/** Pure: when the Event was last written, in ms, or undefined when it carries no time at all. */
export function lastWrittenMs(event: Event): number | undefined {
  const stamp = event.lastTimestamp ?? event.firstTimestamp ?? event.metadata.creationTimestamp;
  const ms = stamp === undefined ? NaN : Date.parse(stamp);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Pure: the Events among `events` whose TTL has run out at `nowMs`. */
export function expiredEvents(events: readonly Event[], ttlMs: number, nowMs: number): Event[] {
  return events.filter((e) => {
    const written = lastWrittenMs(e);
    return written !== undefined && nowMs - written >= ttlMs;
  });
}

export interface EventExpiryOptions {
  store: ObjectStore;
  ttlMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export class EventExpiry {
  private readonly store: ObjectStore;
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private timer: TimerHandle | undefined;
  private sweeping: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(options: EventExpiryOptions) {
    this.store = options.store;
    this.ttlMs = options.ttlMs ?? DEFAULT_EVENT_TTL_MS;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ component: 'event-ttl' });
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.sweeping;
  }

  /** Deletes every expired Event now; returns how many went. */
  async sweep(): Promise<number> {
    const { items } = await this.store.list<Event>(K.event);
    const expired = expiredEvents(items, this.ttlMs, this.clock.now().getTime());
    let deleted = 0;
    for (const event of expired) {
      try {
        await this.store.delete(K.event, event.metadata.namespace, event.metadata.name ?? '', {
          ...(event.metadata.resourceVersion !== undefined
            ? { resourceVersion: event.metadata.resourceVersion }
            : {}),
        });
        deleted++;
      } catch (err) {
        // Gone already, or written again since the list (so no longer expired): both are fine.
        if (!isStatusError(err, 'NotFound') && !isStatusError(err, 'Conflict')) throw err;
      }
    }
    return deleted;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.sweeping = this.sweep()
        .then((n) => {
          if (n > 0) this.log.debug('expired events deleted', { count: n });
        })
        .catch((err: unknown) => this.log.warn('event expiry sweep failed', { err }))
        .finally(() => this.schedule(Math.min(MAX_SWEEP_INTERVAL_MS, this.ttlMs)));
    }, ms);
  }
}
