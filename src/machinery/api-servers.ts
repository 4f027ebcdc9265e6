// Several API servers behind one client: requests take the servers in turn (so a controller's load
// is spread over every replica, as behind a load balancer), except that the requests about one
// object go to one server (picked by a hash of the object's key, so objects still spread over
// every replica): a replica answers an update of a version it wrote or read itself from its own
// recent copy instead of reading the object from its store first. A server that cannot be reached is set
// aside for a back-off (per server, exponential, jittered) and the request moves to the next. A request that may have reached a server before the connection
// failed is moved on only when repeating it is harmless (reads); a write then fails with 503 and
// its caller re-reads and retries, as with any other conflict.
import { StatusError, isStatusError } from '../api/errors.js';
import type { RestClient } from '../client/rest.js';
import type { Clock } from './clock.js';
import { sleep, systemClock } from './clock.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';

/** Codes of failures where the request never left this host: always safe to send elsewhere. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL']);
/** Codes of failures after which the server may or may not have acted on the request. */
const MAYBE_SENT = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export type ConnectionFailure = 'not-sent' | 'maybe-sent';

function errorCode(err: unknown): string | undefined {
  for (let at: unknown = err, depth = 0; at instanceof Error && depth < 4; depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string' && (NOT_SENT.has(code) || MAYBE_SENT.has(code))) return code;
    if (at.name === 'AbortError' || at.name === 'TimeoutError') return 'ETIMEDOUT';
    if (at.message === 'socket hang up') return 'ECONNRESET';
    at = (at as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Pure: whether `err` is a failure to talk to the server at all (not an answer from it), and which. */
export function connectionFailure(err: unknown): ConnectionFailure | undefined {
  if (isStatusError(err)) return undefined;
  const code = errorCode(err);
  if (code === undefined) return undefined;
  return NOT_SENT.has(code) ? 'not-sent' : 'maybe-sent';
}

export interface ApiServerPoolOptions {
  clock?: Clock;
  logger?: Logger;
  /** First back-off of a server that failed; doubles per failure up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
  /** Once aborted, every call fails at once (the store was closed). */
  closed?: AbortSignal;
}

interface Server {
  client: RestClient;
  failures: number;
  retryAtMs: number;
  lastError: string;
}

export class ApiServerPool {
  private readonly servers: Server[];
  /** Where the next call starts. */
  private turn = 0;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly random: () => number;
  private readonly closed: AbortSignal | undefined;

  constructor(clients: readonly RestClient[], options: ApiServerPoolOptions = {}) {
    if (clients.length === 0) throw new Error('no API server to talk to');
    this.servers = clients.map((client) => ({ client, failures: 0, retryAtMs: 0, lastError: '' }));
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.baseBackoffMs = options.baseBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.random = options.random ?? Math.random;
    this.closed = options.closed;
  }

  private checkOpen(): void {
    if (this.closed?.aborted) throw new StatusError(503, 'ServiceUnavailable', 'the REST store is closed');
  }

  urls(): string[] {
    return this.servers.map((s) => s.client.server);
  }

  /**
   * Runs `send` against the servers in turn, starting with the next in the rotation and skipping
   * those backing off. `idempotent` sends may be repeated after a failure mid-request; others only
   * when the connection was refused. Answers from a server (StatusErrors) are passed on as they are.
   */
  async call<R>(send: (client: RestClient) => Promise<R>, idempotent: boolean, object?: string): Promise<R> {
    this.checkOpen();
    const tried: Server[] = [];
    for (const server of this.order(object)) {
      tried.push(server);
      try {
        const result = await send(server.client);
        this.succeeded(server);
        return result;
      } catch (err) {
        this.checkOpen();
        const failure = connectionFailure(err);
        if (failure === undefined) {
          this.succeeded(server); // it answered: the server is up
          throw err;
        }
        this.failed(server, err);
        if (failure === 'maybe-sent' && !idempotent) throw this.unavailable(tried, err);
      }
    }
    throw this.unavailable(tried);
  }

  /**
   * The next server to open a long-running request (a watch) on, waiting out the shortest back-off
   * when every server is backing off. Report the outcome with succeeded/failed.
   */
  async next(signal?: AbortSignal): Promise<RestClient> {
    this.checkOpen();
    const [first] = this.order();
    if (first) return first.client;
    const soonest = this.servers.reduce((a, b) => (b.retryAtMs < a.retryAtMs ? b : a));
    await sleep(this.clock, Math.max(0, soonest.retryAtMs - this.clock.now().getTime()), signal);
    return soonest.client;
  }

  reportSuccess(client: RestClient): void {
    const server = this.servers.find((s) => s.client === client);
    if (server) this.succeeded(server);
  }

  reportFailure(client: RestClient, err: unknown): void {
    const server = this.servers.find((s) => s.client === client);
    if (server) this.failed(server, err);
  }

  /** Servers not backing off, starting with `object`'s own server or else the next in the rotation. */
  private order(object?: string): Server[] {
    const now = this.clock.now().getTime();
    let start: number;
    if (object === undefined) {
      start = this.turn;
      this.turn = (this.turn + 1) % this.servers.length;
    } else {
      start = hashOf(object) % this.servers.length;
    }
    const rotated = [...this.servers.slice(start), ...this.servers.slice(0, start)];
    return rotated.filter((s) => s.retryAtMs <= now);
  }

  private succeeded(server: Server): void {
    if (server.failures > 0) this.log.info('API server answers again', { server: server.client.server });
    server.failures = 0;
    server.retryAtMs = 0;
  }

  private failed(server: Server, err: unknown): void {
    server.failures++;
    const backoff = Math.min(this.baseBackoffMs * 2 ** (server.failures - 1), this.maxBackoffMs);
    const jittered = backoff * (0.8 + 0.4 * this.random());
    server.retryAtMs = this.clock.now().getTime() + jittered;
    server.lastError = describe(err);
    // the first failure and then every tenth: calm logs while a server stays away
    if (server.failures === 1 || server.failures % 10 === 0) {
      this.log.warn('API server unreachable; trying the next', {
        server: server.client.server,
        failures: server.failures,
        retryInMs: Math.round(jittered),
        err: server.lastError,
      });
    }
  }

  private unavailable(tried: readonly Server[], ambiguous?: unknown): StatusError {
    if (ambiguous !== undefined) {
      const server = tried[tried.length - 1]!;
      return new StatusError(
        503,
        'ServiceUnavailable',
        `the connection to ${server.client.server} failed mid-request (${describe(ambiguous)}); the write may or may not have happened`,
      );
    }
    const reasons = this.servers.map(
      (s) => `${s.client.server}: ${tried.includes(s) ? s.lastError : `backing off (${s.lastError})`}`,
    );
    return new StatusError(503, 'ServiceUnavailable', `no API server answered: ${reasons.join('; ')}`);
  }
}

/** Pure: a non-negative 32-bit hash of `text` (FNV-1a), to spread objects evenly over servers. */
export function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function describe(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
