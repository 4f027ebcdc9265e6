// The ObjectStore contract over the Kubernetes REST API, so every controller and the node agent
// run against any API server (berth's own replicas, or a real kube-apiserver) as they run against
// a store in the same process: lists page through `limit`/`continue`, watches resume from their
// last resourceVersion (bookmarks too) and end with 410 only when the server lost it, 409s and
// every other server answer are the same StatusErrors a store throws, and several API servers
// stand behind one store (ApiServerPool).
// Where REST differs from a local store: a watch from a revision the server no longer keeps opens
// and then reports 410 through onError (not by rejecting), the server's admission and defaulting
// apply to every write, and currentRevision() is the revision of a one-item list.
import { setMaxListeners } from 'node:events';
import { StatusError, isStatusError } from '../api/errors.js';
import { K, apiVersionOf, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { KubeconfigTarget } from '../client/kubeconfig.js';
import { RestClient } from '../client/rest.js';
import type { FetchFn } from '../client/transport.js';
import { nodeFetch } from '../client/transport.js';
import type {
  DeleteOptions,
  ListOptions,
  ListResult,
  ObjectStore,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from '../store/types.js';
import { ApiServerPool, type ApiServerPoolOptions } from './api-servers.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { RestWatch } from './rest-watch.js';

/** client-go's reflector lists in pages of 500. */
const LIST_PAGE = 500;
/** A list whose continue token expired mid-way is started again at most this often. */
const LIST_RESTARTS = 3;

export interface RestStoreOptions extends ApiServerPoolOptions {
  /** One client per API server; requests move to the next when one cannot be reached. */
  clients: readonly RestClient[];
  /** Aborts the clients' requests; close() aborts it. */
  closing?: AbortController;
  clock?: Clock;
  logger?: Logger;
  /** Server-side timeout of one watch connection (seconds; each picks in [t, 2t)). Default 300. */
  watchTimeoutSeconds?: number;
  random?: () => number;
}

export interface RestTarget extends Omit<KubeconfigTarget, 'server'> {
  servers: readonly string[];
}

export interface ConnectOptions extends Omit<RestStoreOptions, 'clients'> {
  /** A request that has not been answered in this long fails (as a connection failure). Default 30 s. */
  requestTimeoutMs?: number;
  /** For tests: the transport under the timeout. */
  fetch?: FetchFn;
}

/**
 * A FetchFn that gives up on requests without their own signal after `ms` (the transport's
 * timeoutMs), and on every request once `closing` aborts. A plain request carries `closing`
 * itself: an AbortSignal.timeout and AbortSignal.any per request (with their listeners) cost a
 * controller 4-7% of its CPU while binding.
 */
export function withTimeout(fetchFn: FetchFn, ms: number, closing: AbortSignal): FetchFn {
  return (input, init = {}) =>
    fetchFn(
      input,
      init.signal
        ? { ...init, signal: AbortSignal.any([closing, init.signal]) }
        : { ...init, signal: closing, timeoutMs: ms },
    );
}

export class RestStore implements ObjectStore {
  private readonly pool: ApiServerPool;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly watchTimeoutSeconds: number;
  private readonly random: () => number;
  private readonly watches = new Set<Watch>();
  private readonly closing: AbortController;

  constructor(options: RestStoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ component: 'rest-store' });
    this.closing = options.closing ?? new AbortController();
    this.pool = new ApiServerPool(options.clients, {
      ...options,
      clock: this.clock,
      logger: this.log,
      closed: this.closing.signal,
    });
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.random = options.random ?? Math.random;
  }

  /** A store over the API servers of `target`. */
  static connect(target: RestTarget, options: ConnectOptions = {}): RestStore {
    const closing = new AbortController();
    // every request in flight listens for it: no leak past 10 listeners, which node would report
    setMaxListeners(0, closing.signal);
    const fetchFn = withTimeout(
      options.fetch ?? nodeFetch(target.caPem),
      options.requestTimeoutMs ?? 30_000,
      closing.signal,
    );
    const clients = target.servers.map(
      (server) =>
        new RestClient({
          server,
          fetch: fetchFn,
          ...(target.token ? { token: target.token } : {}),
          ...(target.namespace ? { namespace: target.namespace } : {}),
        }),
    );
    return new RestStore({ ...options, clients, closing });
  }

  /** The API servers' URLs, in order. */
  servers(): string[] {
    return this.pool.urls();
  }

  get<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    return this.pool.call((c) => c.get<T>(kind, namespace, name), true, objectKey(kind, namespace, name));
  }

  /** Without a limit, reads every page (each at the first page's revision) into one list. */
  async list<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    options: ListOptions = {},
  ): Promise<ListResult<T>> {
    // servers read a negative limit as none: say so, as the stores do
    const { limit } = options;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0))
      throw new StatusError(400, 'BadRequest', `limit must be a non-negative integer, got ${String(limit)}`);
    if (options.limit || options.continue) return (await this.listPage(kind, options)) as ListResult<T>;
    for (let restart = 0; ; restart++) {
      try {
        const first = await this.listPage(kind, { ...options, limit: LIST_PAGE });
        const items = [...first.items];
        for (let next = first.continue; next !== undefined;) {
          const page = await this.listPage(kind, { ...options, limit: LIST_PAGE, continue: next });
          items.push(...page.items);
          next = page.continue;
        }
        return { items: items as T[], resourceVersion: first.resourceVersion };
      } catch (err) {
        // the revision of the first page left the server's history: start again
        if (restart >= LIST_RESTARTS || !isStatusError(err) || err.code !== 410) throw err;
        this.log.info('list continue token expired; listing again', { kind: kind.plural });
      }
    }
  }

  private listPage(kind: KindInfo, options: ListOptions): Promise<ListResult> {
    return this.pool.call(
      (c) =>
        c.list(kind, {
          ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
          ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
          ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
          ...(options.limit ? { limit: options.limit } : {}),
          ...(options.continue ? { continue: options.continue } : {}),
        }),
      true,
    );
  }

  /** The API server always checks the namespace (CreateOptions.namespaceMustExist). */
  create<T extends KubeObject>(kind: KindInfo, obj: T): Promise<T> {
    const { namespace, name } = obj.metadata;
    const object = name ? objectKey(kind, namespace, name) : undefined; // a generated name: in turn
    return this.pool.call((c) => c.create(kind, obj), false, object);
  }

  /**
   * A compare-and-swap PUT (or an unconditional one without resourceVersion): repeating it after a
   * dropped connection at worst answers 409, which callers handle by re-reading.
   */
  async update<T extends KubeObject>(kind: KindInfo, obj: T, options: WriteOptions = {}): Promise<T> {
    const { namespace, name = '' } = obj.metadata;
    if (options.subresource === 'binding') {
      const node = (obj as { spec?: { nodeName?: unknown } }).spec?.nodeName;
      if (typeof node !== 'string' || node === '') throw new Error('a binding update needs spec.nodeName');
      await this.pool.call(
        (c) => c.bindPod(kind, namespace ?? '', name, node),
        false,
        objectKey(kind, namespace, name),
      );
      return this.get<T>(kind, namespace, name);
    }
    const subresource =
      options.subresource === 'status' && kind.hasStatus
        ? 'status'
        : options.subresource === 'finalize'
          ? 'finalize'
          : undefined;
    return this.pool.call(
      (c) => c.update(kind, obj, subresource ? { subresource } : {}),
      true,
      objectKey(kind, namespace, name),
    );
  }

  /** RFC 7386 merge patches give the same result when applied twice. */
  patch<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    mergePatch: unknown,
    options: WriteOptions = {},
  ): Promise<T> {
    const status = options.subresource === 'status' && kind.hasStatus;
    return this.pool.call(
      (c) => c.patch<T>(kind, namespace, name, mergePatch, status ? { subresource: 'status' } : {}),
      true,
      objectKey(kind, namespace, name),
    );
  }

  async delete<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<T> {
    const preconditions = {
      ...(options.uid ? { uid: options.uid } : {}),
      ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}),
    };
    const request = {
      ...(Object.keys(preconditions).length > 0 ? { preconditions } : {}),
      ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
    };
    const answer = await this.pool.call(
      (c) => c.delete(kind, namespace, name, request),
      false,
      objectKey(kind, namespace, name),
    );
    return deletedObject(kind, namespace, name, answer) as T;
  }

  async watch(
    kind: KindInfo,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    onError?: (err: Error) => void,
  ): Promise<Watch> {
    const watch = await RestWatch.start({
      pool: this.pool,
      kind,
      options,
      onEvent,
      onError,
      clock: this.clock,
      log: this.log,
      timeoutSeconds: this.watchTimeoutSeconds,
      random: this.random,
      onClosed: (closed) => this.watches.delete(closed),
    });
    if (!watch.stopped()) this.watches.add(watch);
    return watch;
  }

  /** The revision of a one-item list: the server reads it at its current revision. */
  async currentRevision(): Promise<string> {
    return (await this.listPage(K.namespace, { limit: 1 })).resourceVersion;
  }

  /** Ends every watch and request, in flight or later (a leader that lost its lease is fenced off). */
  async close(): Promise<void> {
    this.closing.abort(new Error('the REST store is closed'));
    for (const watch of [...this.watches]) watch.stop();
  }
}

/**
 * Pure: what a DELETE answered, as the object. Most kinds answer the object; some servers answer
 * a Status for an object removed at once, which names only the object.
 */
export function deletedObject(
  kind: KindInfo,
  namespace: string | undefined,
  name: string,
  answer: unknown,
): KubeObject {
  const body = answer as (KubeObject & { details?: { uid?: string } }) | undefined;
  if (body && body.kind !== 'Status' && body.metadata) return body;
  const uid = body?.details?.uid;
  return {
    apiVersion: apiVersionOf(kind),
    kind: kind.kind,
    metadata: {
      name,
      ...(kind.namespaced && namespace ? { namespace } : {}),
      ...(uid ? { uid } : {}),
    },
  };
}

/** Pure: names one object for the pool, which sends every request about it to one server. */
function objectKey(kind: KindInfo, namespace: string | undefined, name: string): string {
  return `${kind.plural}/${kind.namespaced ? (namespace ?? '') : ''}/${name}`;
}
