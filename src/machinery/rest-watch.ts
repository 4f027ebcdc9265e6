// One ObjectStore watch over the Kubernetes REST API. The first connection is opened before
// watch() resolves, so a bad request is the caller's error; after that the watch outlives its
// connections: when the server ends one (timeoutSeconds) or the connection drops, it is reopened
// from the last resourceVersion seen (bookmarks included) on whichever API server answers, with a
// back-off while none does. Only a 410 (the revision left the server's history) ends it, through
// onError: the informer then relists.
import { isStatusError, type StatusError } from '../api/errors.js';
import type { KindInfo } from '../api/kinds.js';
import { statusErrorFrom } from '../client/errors.js';
import type { RawWatchEvent, RestClient } from '../client/rest.js';
import type { Watch, WatchEvent, WatchOptions } from '../store/types.js';
import type { ApiServerPool } from './api-servers.js';
import { connectionFailure } from './api-servers.js';
import type { Clock } from './clock.js';
import { sleep } from './clock.js';
import type { Logger } from './logger.js';

export interface RestWatchOptions {
  pool: ApiServerPool;
  kind: KindInfo;
  options: WatchOptions;
  onEvent: (event: WatchEvent) => void;
  onError: ((err: Error) => void) | undefined;
  clock: Clock;
  log: Logger;
  /** Server-side timeout of one connection, in seconds; each connection picks in [t, 2t). */
  timeoutSeconds: number;
  random: () => number;
  /** Told when the watch is over, so the store forgets it. */
  onClosed: (watch: RestWatch) => void;
}

type Stream = AsyncGenerator<RawWatchEvent, void, undefined>;

const MAX_RETRY_MS = 30_000;

export class RestWatch implements Watch {
  private readonly o: RestWatchOptions;
  private readonly abort = new AbortController();
  private resourceVersion: string | undefined;

  private constructor(options: RestWatchOptions) {
    this.o = options;
    const rv = options.options.resourceVersion;
    this.resourceVersion = rv && rv !== '0' ? rv : undefined;
  }

  /** Opens the first connection (its errors reject), then keeps the watch going in the background. */
  static async start(options: RestWatchOptions): Promise<RestWatch> {
    const watch = new RestWatch(options);
    const { client, stream } = await watch.openFirst();
    void watch.run(client, stream);
    return watch;
  }

  stop(): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort(new Error('watch stopped'));
    this.o.onClosed(this);
  }

  stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async openFirst(): Promise<{ client: RestClient; stream: Stream }> {
    let opened: { client: RestClient; stream: Stream } | undefined;
    await this.o.pool.call(async (client) => {
      opened = { client, stream: await this.open(client) };
    }, true);
    return opened!;
  }

  private open(client: RestClient): Promise<Stream> {
    const { options, kind } = this.o;
    const timeoutSeconds = Math.floor(this.o.timeoutSeconds * (1 + this.o.random()));
    // a connection the server stopped answering on (a partition) is given up after its timeout
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout((timeoutSeconds + 10) * 1000)]);
    return client.openWatch(kind, {
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
      ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
      ...(this.resourceVersion !== undefined ? { resourceVersion: this.resourceVersion } : {}),
      timeoutSeconds,
      signal,
    });
  }

  private async run(firstClient: RestClient, firstStream: Stream): Promise<void> {
    let client = firstClient;
    let stream: Stream | undefined = firstStream;
    let failures = 0;
    while (!this.abort.signal.aborted) {
      try {
        if (!stream) {
          client = await this.o.pool.next(this.abort.signal);
          stream = await this.open(client);
          this.o.pool.reportSuccess(client);
        }
        const openedAt = this.o.clock.now().getTime();
        const { expired, delivered } = await this.drain(stream);
        stream = undefined;
        if (expired) return this.end(expired);
        // the server ended the watch: resume from where it left off (at once, unless it ends them at once)
        if (delivered || this.o.clock.now().getTime() - openedAt > 1000) {
          failures = 0;
          continue;
        }
        throw new Error('the server ended the watch at once');
      } catch (err) {
        stream = undefined;
        if (this.abort.signal.aborted) return;
        if (isExpired(err)) return this.end(err as StatusError);
        if (connectionFailure(err)) this.o.pool.reportFailure(client, err);
        failures++;
        const delay = Math.min(250 * 2 ** (failures - 1), MAX_RETRY_MS) * (0.8 + 0.4 * this.o.random());
        if (failures === 1 || failures % 10 === 0)
          this.o.log.warn('watch interrupted; resuming', {
            kind: this.o.kind.plural,
            resourceVersion: this.resourceVersion,
            failures,
            err,
          });
        // a dropped connection is reopened at once (on the next server), once
        const wait = connectionFailure(err) !== undefined && failures === 1 ? 0 : delay;
        try {
          await sleep(this.o.clock, wait, this.abort.signal);
        } catch {
          return; // stopped
        }
      }
    }
  }

  /** Delivers a connection's events; `expired` is the 410 StatusError when the server sent one. */
  private async drain(stream: Stream): Promise<{ expired?: StatusError; delivered: boolean }> {
    let delivered = false;
    for await (const event of stream) {
      if (this.abort.signal.aborted) return { delivered };
      delivered = true;
      if (event.type === 'ERROR') {
        const err = statusErrorFrom(event.object);
        if (isExpired(err)) return { expired: err, delivered };
        throw err; // e.g. 500: resumed with a back-off
      }
      const rv = event.object?.metadata?.resourceVersion;
      if (rv) this.resourceVersion = rv;
      if (event.type === 'BOOKMARK') continue;
      this.o.onEvent({ type: event.type, object: event.object });
    }
    return { delivered };
  }

  private end(err: StatusError): void {
    if (this.abort.signal.aborted) return;
    this.stop();
    this.o.onError?.(err);
  }
}

function isExpired(err: unknown): boolean {
  return isStatusError(err) && (err.code === 410 || err.reason === 'Expired' || err.reason === 'Gone');
}
