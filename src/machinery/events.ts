// Records core/v1 Events about objects through the ObjectStore, the way client-go's recorder does:
// one Event per (object, type, reason, message), named "<object name>.<hex nanoseconds>" in the
// object's namespace (or "default"); a repeat within 10 minutes bumps count and lastTimestamp on
// the existing Event instead of creating another; similar events are combined and a spam filter
// drops floods (event-correlation.ts). Recording never throws: failures are logged.
// Writes are serialized so a burst of repeats aggregates into one Event.
import { isStatusError } from '../api/errors.js';
import type { KindInfo } from '../api/kinds.js';
import { kindFor } from '../api/kinds.js';
import type { KubeObject, ObjectReference } from '../api/meta.js';
import type { Event } from '../api/types.js';
import type { ObjectStore } from '../store/types.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { BoundedMap, EVENT_AGGREGATION_WINDOW_MS, EventCorrelator } from './event-correlation.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';

export { EVENT_AGGREGATION_WINDOW_MS } from './event-correlation.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  store: ObjectStore;
  /** source.component, e.g. "persistentvolume-controller". */
  component: string;
  /** source.host, for node-side components. */
  host?: string;
  clock?: Clock;
  logger?: Logger;
}

interface Remembered {
  namespace: string;
  name: string;
  count: number;
  lastSeenMs: number;
}

/** Kubernetes timestamps on Events have second precision. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function objectReference(obj: KubeObject): ObjectReference {
  const m = obj.metadata;
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    ...(m.namespace ? { namespace: m.namespace } : {}),
    ...(m.name !== undefined ? { name: m.name } : {}),
    ...(m.uid !== undefined ? { uid: m.uid } : {}),
    ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
  };
}

export class EventRecorder {
  private readonly store: ObjectStore;
  private readonly component: string;
  private readonly host: string | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly eventKind: KindInfo;
  private readonly seen = new BoundedMap<Remembered>();
  private readonly correlator = new EventCorrelator();
  private pending: Promise<void> = Promise.resolve();
  private lastNanos = 0n;

  constructor(options: EventRecorderOptions) {
    this.store = options.store;
    this.component = options.component;
    this.host = options.host;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ component: options.component });
    const eventKind = kindFor('v1', 'Event');
    if (!eventKind) throw new Error('the Event kind is not registered');
    this.eventKind = eventKind;
  }

  /** Records an event about `obj`. Returns at once; flush() waits for the write. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const when = this.clock.now();
    this.pending = this.pending
      .then(() => this.write(obj, type, reason, message, when))
      .catch((err: unknown) => {
        this.log.error('could not record event', { reason, err });
      });
  }

  /** Resolves when every event recorded so far has been written (or failed and been logged). */
  flush(): Promise<void> {
    return this.pending;
  }

  private async write(
    obj: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    when: Date,
  ): Promise<void> {
    const ref = objectReference(obj);
    const nowMs = when.getTime();
    const correlation = this.correlator.correlate({ ref, type, reason, message, nowMs });
    if (correlation.action === 'drop') {
      this.log.debug('event dropped by the spam filter', { reason, object: ref.name });
      return;
    }
    const aggKey = correlation.key;
    const text = correlation.message;
    const prior = this.seen.get(aggKey);
    if (prior && nowMs - prior.lastSeenMs <= EVENT_AGGREGATION_WINDOW_MS) {
      try {
        await this.store.patch(this.eventKind, prior.namespace, prior.name, {
          count: prior.count + 1,
          lastTimestamp: rfc3339(when),
          message: text,
        });
        this.seen.set(aggKey, { ...prior, count: prior.count + 1, lastSeenMs: nowMs });
        return;
      } catch (err) {
        // Someone deleted the Event (or it expired): start a new one below.
        if (!isStatusError(err, 'NotFound')) throw err;
      }
    }
    const namespace = ref.namespace ?? 'default';
    const stamp = rfc3339(when);
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${ref.name ?? 'unknown'}.${this.uniqueHex(nowMs)}`, namespace },
      involvedObject: ref,
      reason,
      message: text,
      type,
      source: { component: this.component, ...(this.host !== undefined ? { host: this.host } : {}) },
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      count: 1,
    };
    const created = await this.store.create(this.eventKind, event);
    this.seen.set(aggKey, { namespace, name: created.metadata.name ?? '', count: 1, lastSeenMs: nowMs });
  }

  /** Unix nanoseconds in hex like client-go, nudged forward so two events never share a name. */
  private uniqueHex(nowMs: number): string {
    let nanos = BigInt(nowMs) * 1_000_000n;
    if (nanos <= this.lastNanos) nanos = this.lastNanos + 1n;
    this.lastNanos = nanos;
    return nanos.toString(16);
  }
}
