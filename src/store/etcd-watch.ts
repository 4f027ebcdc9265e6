// One ObjectStore watch as one etcd watch stream over a kind's key prefix. A watch with selectors
// asks etcd for each change's previous value (prev_kv), so each change is filtered as the embedded
// store filters it (objects that start or stop matching arrive as ADDED or DELETED). A watch of
// every object does not: etcd reads the previous value from its database for every event and
// every watcher that asks for it (most of etcd's work while controllers write), and only a
// DELETED event needs it, read at the revision before the delete. A dropped stream is opened
// again from the last delivered revision; when etcd says that revision was compacted, the watch
// ends with 410 Expired and the caller re-lists.
import type { Etcd3, IEvent, IKeyValue, IWatchResponse } from 'etcd3';
import { gone } from '../api/errors.js';
import type { KubeObject } from '../api/meta.js';
import { jsonWithResourceVersion } from './etcd-json.js';
import { decodeObject, prefixEnd } from './etcd-keys.js';
import type { ObjectFilter } from './object-filter.js';
import type { EncodedObject, Watch, WatchEvent } from './types.js';
import { filteredEvent, type ChangeEvent } from './watch-hub.js';

type WatchStream = Awaited<ReturnType<Etcd3['watchClient']['watch']>>;

export interface EtcdWatchOptions {
  client: Etcd3;
  prefix: string;
  filter: ObjectFilter;
  /** The last revision the caller has seen; events after it are delivered. */
  afterRevision: number;
  onEvent: (event: WatchEvent) => void;
  onError?: ((err: Error) => void) | undefined;
  /** Told the revision of each progress notification, in order with the events (a bookmark). */
  onProgress?: ((revision: string) => void) | undefined;
  /** Delivered before any change (the ADDED events of a watch without a revision). */
  initial?: WatchEvent[];
  /**
   * What events that arrive now must wait for: the store's writes in flight, so that a writer
   * has its answer before any watcher of the same store hears of its change.
   */
  gate?: () => Promise<unknown> | undefined;
  /** Told of every change as etcd sent it, before any filtering: a put's new value, or a delete. */
  onChange?: ((event: IEvent) => void) | undefined;
  /**
   * The key's value at `revision` (a deleted object's last version, for a watch without
   * selectors); rejects with 410 once that revision is compacted.
   */
  valueAt: (key: Buffer, revision: string) => Promise<IKeyValue | undefined>;
}

const MAX_BACKOFF_MS = 5_000;

/**
 * Ends a stream we no longer want. Half-closing first matters: etcd3 counts an error on a stream
 * still open for writing (which cancelling raises) as a failure of the etcd host, resets every
 * connection to it and, after three, refuses all calls for 5 s.
 */
function closeStream(stream: WatchStream): void {
  stream.end();
  stream.cancel();
}

/** A handler's failure is its own; the stream goes on. */
function handled(call: () => void): void {
  try {
    call();
  } catch {
    // the handler's own failure: ignored on purpose
  }
}

/** The change an etcd event makes, or undefined when the old value is unknown for a delete. */
export function changeOf(event: IEvent): ChangeEvent | undefined {
  const rev = Number(event.kv.mod_revision);
  const previous = event.prev_kv ? decodeObject(event.prev_kv) : undefined;
  if (event.type === 'Delete') {
    if (!previous) return undefined;
    const object = {
      ...previous,
      metadata: { ...previous.metadata, resourceVersion: event.kv.mod_revision },
    };
    return { rev, kind: '', type: 'DELETED', previous, object };
  }
  const object = decodeObject(event.kv);
  return { rev, kind: '', type: previous ? 'MODIFIED' : 'ADDED', previous, object };
}

/**
 * A put seen by a watch without selectors: created at this revision, or changed. Its object is
 * parsed only when read: a watch stream sends the stored bytes instead (see etcd-json.ts).
 */
export function putEvent(kv: IKeyValue): WatchEvent {
  const type = kv.create_revision === kv.mod_revision ? 'ADDED' : 'MODIFIED';
  let object: KubeObject | undefined;
  const event = {
    type,
    get object(): KubeObject {
      return (object ??= decodeObject(kv));
    },
  } as WatchEvent;
  let json: Buffer | undefined;
  const encoded: EncodedObject = {
    resourceVersion: kv.mod_revision,
    json: () =>
      (json ??=
        jsonWithResourceVersion(kv.value, kv.mod_revision) ?? Buffer.from(JSON.stringify(event.object))),
  };
  Object.defineProperty(event, 'encoded', { value: encoded, enumerable: false });
  return event;
}

export class EtcdWatch implements Watch {
  private stream: WatchStream | undefined;
  private lastRevision: number;
  private stopped = false;
  private failures = 0;
  private reopening = false;

  private initial: WatchEvent[] | undefined;
  private delivery: Promise<void> = Promise.resolve();

  private readonly options: EtcdWatchOptions;

  constructor(options: EtcdWatchOptions) {
    this.options = options;
    this.lastRevision = options.afterRevision;
    this.initial = options.initial;
  }

  /** Resolves once etcd confirmed the watch. */
  async start(): Promise<void> {
    await this.open();
    setImmediate(() => this.flushInitial());
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.stream) closeStream(this.stream);
    this.stream = undefined;
  }

  /**
   * Asks etcd for a progress notification: its answer (a response without events) says every
   * event up to its revision has been sent on this stream. etcd leaves the request unanswered
   * while it is still catching the watch up; a dropped stream loses it too (the next one asks again).
   */
  requestProgress(): void {
    // a stream we closed is forgotten at once (stop, onDropped), so this never writes after end
    if (this.options.onProgress) this.stream?.write({ progress_request: {} });
  }

  private async open(): Promise<void> {
    const stream = await this.options.client.watchClient.watch();
    if (this.stopped) {
      closeStream(stream);
      return;
    }
    this.stream = stream;
    const created = new Promise<void>((resolve, reject) => {
      stream.on('data', (res: IWatchResponse) => {
        if (res.created && !res.canceled) {
          this.failures = 0;
          resolve();
        }
        this.onResponse(res);
      });
      stream.on('error', (err: Error) => {
        reject(err);
        this.onDropped(stream);
      });
      stream.on('end', () => this.onDropped(stream));
    });
    stream.write({
      create_request: {
        key: Buffer.from(this.options.prefix),
        range_end: prefixEnd(this.options.prefix),
        start_revision: String(this.lastRevision + 1),
        prev_kv: this.options.filter.selects,
      },
    });
    await created;
  }

  private flushInitial(): void {
    const initial = this.initial;
    this.initial = undefined;
    if (initial?.length) this.enqueue(initial);
  }

  /**
   * Delivers in arrival order, each batch once the writes in flight when it came have answered;
   * a progress revision goes after the batches before it.
   */
  private enqueue(batch: WatchEvent[] | Promise<WatchEvent[]>, progress?: string): void {
    const gate = this.options.gate?.();
    this.delivery = this.delivery.then(async () => {
      await gate;
      let events: WatchEvent[];
      try {
        events = await batch;
      } catch (err) {
        if (!this.stopped) this.fail(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      for (const event of events) {
        if (this.stopped) return;
        handled(() => this.options.onEvent(event));
      }
      if (progress !== undefined && !this.stopped) handled(() => this.options.onProgress?.(progress));
    });
  }

  private onResponse(res: IWatchResponse): void {
    if (this.stopped) return;
    this.flushInitial();
    if (res.compact_revision && res.compact_revision !== '0') {
      return this.fail(gone(`too old resource version: ${this.lastRevision} (${res.compact_revision})`));
    }
    if (res.canceled)
      return this.fail(new Error(`etcd canceled the watch: ${res.cancel_reason || 'no reason'}`));
    if (!res.created && !res.events?.length && res.header?.revision) {
      // a progress notification: everything up to this revision has been sent
      this.lastRevision = Math.max(this.lastRevision, Number(res.header.revision));
      return this.enqueue([], String(this.lastRevision));
    }
    const batch: (WatchEvent | Promise<WatchEvent | undefined>)[] = [];
    // without selectors every key under the prefix matches, and etcd sends no previous values
    const selects = this.options.filter.selects;
    for (const event of res.events ?? []) {
      this.lastRevision = Number(event.kv.mod_revision);
      this.options.onChange?.(event);
      if (!selects) {
        batch.push(event.type === 'Put' ? putEvent(event.kv) : this.deleteEvent(event.kv));
        continue;
      }
      const change = changeOf(event);
      const out = change && filteredEvent(change, this.options.filter);
      if (out) batch.push(out);
    }
    if (batch.length === 0) return;
    const pending = batch.some((event) => event instanceof Promise);
    this.enqueue(
      pending
        ? Promise.all(batch.map((event) => Promise.resolve(event))).then((events) =>
            events.filter((event) => event !== undefined),
          )
        : (batch as WatchEvent[]),
    );
  }

  /** DELETED with the object's last version, read at the revision before the delete. */
  private async deleteEvent(kv: IKeyValue): Promise<WatchEvent | undefined> {
    const previous = await this.options.valueAt(kv.key, String(Number(kv.mod_revision) - 1));
    if (!previous) return undefined; // nothing was there (etcd sends no delete of a missing key)
    return { type: 'DELETED', object: decodeObject(previous, kv.mod_revision) };
  }

  /** The stream broke (etcd restarted, connection lost): open it again from where we were. */
  private onDropped(stream: WatchStream | undefined): void {
    if (this.stopped || this.stream !== stream || this.reopening) return;
    this.stream = undefined;
    this.reopening = true;
    const delay = Math.min(100 * 2 ** this.failures++, MAX_BACKOFF_MS) * (0.5 + Math.random() / 2);
    setTimeout(() => {
      this.reopening = false;
      if (this.stopped) return;
      this.open().catch(() => this.onDropped(this.stream));
    }, delay);
  }

  private fail(err: Error): void {
    this.stop();
    this.options.onError?.(err);
  }
}
