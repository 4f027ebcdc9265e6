// What client-go's event correlator decides before an Event is written, without IO: a spam filter
// per involved object (a token bucket: 25 events at once, then one per 5 minutes), aggregation of
// similar events (the 11th distinct message with the same object, type and reason within 10 minutes
// becomes one "(combined from similar events): ..." Event), and the key under which repeats of the
// same Event are counted on one object instead of written again.
import type { ObjectReference } from '../api/meta.js';

/** Repeats closer together than this are folded into one Event. */
export const EVENT_AGGREGATION_WINDOW_MS = 10 * 60 * 1000;
/** Distinct messages of one object+type+reason before they are combined (client-go's maxEvents). */
export const SIMILAR_EVENTS_BEFORE_COMBINING = 10;
export const COMBINED_PREFIX = '(combined from similar events): ';
/** client-go's spam filter: burst 25, refilled at 1/300 per second. */
export const SPAM_BURST = 25;
export const SPAM_REFILL_MS = 5 * 60 * 1000;
const MAX_REMEMBERED = 4096;

export interface EventFacts {
  ref: ObjectReference;
  type: string;
  reason: string;
  message: string;
  nowMs: number;
}

export type Correlation =
  | { action: 'drop' }
  /** Write (or count on) the Event remembered under `key`, with this message. */
  | { action: 'record'; key: string; message: string };

interface Similar {
  messages: Set<string>;
  firstMs: number;
}

interface Bucket {
  tokens: number;
  lastMs: number;
}

/** A Map that forgets its least recently set entries beyond a bound. */
export class BoundedMap<V> extends Map<string, V> {
  private readonly bound: number;

  constructor(bound = MAX_REMEMBERED) {
    super();
    this.bound = bound;
  }

  override set(key: string, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.bound) {
      const oldest = this.keys().next();
      if (!oldest.done) super.delete(oldest.value);
    }
    return this;
  }
}

function objectKeyOf(ref: ObjectReference): unknown[] {
  return [ref.apiVersion, ref.kind, ref.namespace, ref.name, ref.uid];
}

export class EventCorrelator {
  private readonly similar = new BoundedMap<Similar>();
  private readonly buckets = new BoundedMap<Bucket>();

  correlate(facts: EventFacts): Correlation {
    const object = JSON.stringify(objectKeyOf(facts.ref));
    if (!this.allow(object, facts.nowMs)) return { action: 'drop' };
    const similarKey = JSON.stringify([...objectKeyOf(facts.ref), facts.type, facts.reason]);
    let similar = this.similar.get(similarKey);
    if (!similar || facts.nowMs - similar.firstMs > EVENT_AGGREGATION_WINDOW_MS) {
      similar = { messages: new Set(), firstMs: facts.nowMs };
    }
    similar.messages.add(facts.message);
    this.similar.set(similarKey, similar);
    if (similar.messages.size > SIMILAR_EVENTS_BEFORE_COMBINING) {
      return { action: 'record', key: similarKey, message: COMBINED_PREFIX + facts.message };
    }
    return { action: 'record', key: JSON.stringify([similarKey, facts.message]), message: facts.message };
  }

  /** Takes a token from the object's bucket, if it has one. */
  private allow(object: string, nowMs: number): boolean {
    const bucket = this.buckets.get(object) ?? { tokens: SPAM_BURST, lastMs: nowMs };
    const refilled = Math.max(0, nowMs - bucket.lastMs) / SPAM_REFILL_MS;
    const tokens = Math.min(SPAM_BURST, bucket.tokens + refilled);
    const allowed = tokens >= 1;
    this.buckets.set(object, {
      tokens: allowed ? tokens - 1 : tokens,
      lastMs: Math.max(bucket.lastMs, nowMs),
    });
    return allowed;
  }
}
