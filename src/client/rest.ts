// A small Kubernetes REST client for the berth API server (and any server speaking the same REST):
// typed by KindInfo, bearer-token auth, Table output for `get`, and resumable streaming watches.
import { readFile } from 'node:fs/promises';
import { apiVersionOf, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { isStatusError } from '../api/errors.js';
import { ApiUnreachableError, errorFromResponse, isConnectionFailure, statusErrorFrom } from './errors.js';
import { parseKubeconfigs } from './kubeconfig.js';
import type { KubeconfigText } from './kubeconfig.js';
import { TABLE_ACCEPT, isTable, visibleColumns } from './table.js';
import type { Table } from './table.js';
import { nodeFetch } from './transport.js';
import type { FetchFn, FetchResponse } from './transport.js';

export type { FetchFn, FetchResponse } from './transport.js';

export interface RestClientOptions {
  /** PEM of a CA to trust for https servers. */
  caPem?: string;
  /** Base URL, e.g. http://127.0.0.1:6443 */
  server: string;
  token?: string;
  /** The namespace of the kubeconfig context, when there is one. */
  namespace?: string;
  fetch?: FetchFn;
}

export interface SelectorOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ListOptions extends SelectorOptions {
  /** Absent for a namespaced kind = all namespaces. */
  namespace?: string;
}

export interface PagedListOptions extends ListOptions {
  /** At most this many items; the answer's `continue` then names the next page. */
  limit?: number;
  continue?: string;
}

export interface ObjectList {
  items: KubeObject[];
  resourceVersion: string;
  /** Set when more items follow (a `limit` was given). */
  continue?: string;
}

/** DeleteOptions the server checks before deleting (409 Conflict when they do not hold). */
export interface DeleteRequestOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

export type PatchType = 'merge' | 'apply';

export interface PatchOptions {
  type?: PatchType;
  fieldManager?: string;
  force?: boolean;
  subresource?: 'status';
}

export interface WatchRequest extends ListOptions {
  /** Changes after this revision; absent = an ADDED event for every current object first. */
  resourceVersion?: string;
  signal?: AbortSignal;
}

/** A watch event as the server sent it; an ERROR carries a Status, a BOOKMARK only a resourceVersion. */
export interface RawWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

export interface ClientWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

export interface TableOptions extends SelectorOptions {
  wide?: boolean;
}

export interface ServerVersion {
  gitVersion?: string;
  [key: string]: unknown;
}

type SendInit = { headers?: Record<string, string>; body?: string; signal?: AbortSignal };

const patchContentType: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** Pure: the REST path of a collection (no name) or of one object. */
export function resourcePath(kind: KindInfo, namespace?: string, name?: string): string {
  const base = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  const scope = kind.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const tail = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  return `${base}${scope}/${kind.plural}${tail}`;
}

function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(key, value);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/**
 * A list's items with their apiVersion and kind: the API server leaves both out of a built-in
 * kind's items (the list names them once), and berth's code reads them off each object.
 */
export function withTypeMeta(kind: KindInfo, items: KubeObject[]): KubeObject[] {
  const typeMeta = { apiVersion: apiVersionOf(kind), kind: kind.kind };
  // first, as on an object read alone; an item's own values win
  return items.map((item) => (item.kind && item.apiVersion ? item : { ...typeMeta, ...item }));
}

/**
 * Sent with every request: the API server names the field manager of a write after the program
 * part ("berth"), as it names kubectl's and kube-controller-manager's.
 */
export const USER_AGENT = 'berth/v0.1.0';

export class RestClient {
  readonly server: string;
  readonly namespace: string | undefined;
  private readonly token: string | undefined;
  private readonly fetchFn: FetchFn;

  constructor(options: RestClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.token = options.token;
    this.namespace = options.namespace;
    this.fetchFn = options.fetch ?? nodeFetch(options.caPem);
  }

  /** A client for the current context of the kubeconfig file at `path`. */
  static fromKubeconfig(path: string, fetchFn?: FetchFn): Promise<RestClient> {
    return RestClient.fromKubeconfigFiles([path], { ...(fetchFn ? { fetch: fetchFn } : {}) });
  }

  /**
   * A client for `context` (else the current context) of kubeconfig files merged as kubectl merges
   * $KUBECONFIG. Missing files are skipped when `skipMissing` (as kubectl does for $KUBECONFIG).
   */
  static async fromKubeconfigFiles(
    paths: readonly string[],
    options: { context?: string; skipMissing?: boolean; fetch?: FetchFn } = {},
  ): Promise<RestClient> {
    const files: KubeconfigText[] = [];
    for (const path of paths) {
      try {
        files.push({ source: path, text: await readFile(path, 'utf8') });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (!options.skipMissing) {
          throw new Error(
            `kubeconfig ${path} does not exist: start the API with \`berth up\` or pass --kubeconfig`,
          );
        }
      }
    }
    if (files.length === 0)
      throw new Error(
        `none of the kubeconfig files ${paths.join(':')} exists: start the API with \`berth up\``,
      );
    const target = await parseKubeconfigs(files, options.context);
    return new RestClient({ ...target, ...(options.fetch ? { fetch: options.fetch } : {}) });
  }

  async get<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    return (await this.request('GET', resourcePath(kind, namespace, name))) as T;
  }

  async list(kind: KindInfo, options: PagedListOptions = {}): Promise<ObjectList> {
    const path =
      resourcePath(kind, options.namespace) +
      query({
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit ? String(options.limit) : undefined,
        continue: options.continue,
      });
    const body = (await this.request('GET', path)) as {
      items?: KubeObject[];
      metadata?: { resourceVersion?: string; continue?: string };
    };
    const list: ObjectList = {
      items: withTypeMeta(kind, body.items ?? []),
      resourceVersion: body.metadata?.resourceVersion ?? '',
    };
    if (body.metadata?.continue) list.continue = body.metadata.continue;
    return list;
  }

  async create<T extends KubeObject>(kind: KindInfo, obj: T): Promise<T> {
    // unknown fields are errors, as kubectl asks for by default
    const path = resourcePath(kind, obj.metadata.namespace) + query({ fieldValidation: 'Strict' });
    return (await this.request('POST', path, { body: obj })) as T;
  }

  async update<T extends KubeObject>(
    kind: KindInfo,
    obj: T,
    options: { subresource?: 'status' | 'finalize' } = {},
  ): Promise<T> {
    const path = resourcePath(kind, obj.metadata.namespace, obj.metadata.name ?? '');
    const target =
      (options.subresource ? `${path}/${options.subresource}` : path) + query({ fieldValidation: 'Strict' });
    return (await this.request('PUT', target, { body: obj })) as T;
  }

  async patch<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    options: PatchOptions = {},
  ): Promise<T> {
    const type = options.type ?? 'merge';
    const base = resourcePath(kind, namespace, name) + (options.subresource ? `/${options.subresource}` : '');
    const path =
      base +
      query({
        fieldManager: options.fieldManager,
        force: options.force === undefined ? undefined : String(options.force),
        fieldValidation: 'Strict',
      });
    return (await this.request('PATCH', path, { body: patch, contentType: patchContentType[type] })) as T;
  }

  /** Deletes; answers the object as last stored (or a Status when the server sends one). */
  async delete(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    options: DeleteRequestOptions = {},
  ): Promise<unknown> {
    const hasOptions = options.preconditions !== undefined || options.gracePeriodSeconds !== undefined;
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', ...options };
    return this.request('DELETE', resourcePath(kind, namespace, name), hasOptions ? { body } : {});
  }

  /** POST pods/<name>/binding: assigns the pod to `nodeName` (the scheduler's write). */
  async bindPod(kind: KindInfo, namespace: string, name: string, nodeName: string): Promise<void> {
    const binding = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name, namespace },
      target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    };
    await this.request('POST', `${resourcePath(kind, namespace, name)}/binding`, { body: binding });
  }

  /** The objects as the server's Table (what `kubectl get` prints); `name` asks for one row. */
  async getTable(
    kind: KindInfo,
    namespace?: string,
    name?: string,
    options: TableOptions = {},
  ): Promise<Table> {
    const path =
      resourcePath(kind, namespace, name) +
      query({ labelSelector: options.labelSelector, fieldSelector: options.fieldSelector });
    const body = await this.request('GET', path, { accept: TABLE_ACCEPT });
    if (!isTable(body))
      throw new Error(`the server at ${this.server} did not answer ${kind.plural} as a Table`);
    return visibleColumns(body, options.wide ?? false);
  }

  async version(): Promise<ServerVersion> {
    return (await this.request('GET', '/version')) as ServerVersion;
  }

  /**
   * Streams changes. When the server ends a watch (its timeout), it is resumed from the last
   * revision seen, so a caller sees no gap. A revision too old ends it with a 410 StatusError.
   */
  async *watch(
    kind: KindInfo,
    request: WatchRequest = {},
  ): AsyncGenerator<ClientWatchEvent, void, undefined> {
    let resourceVersion = request.resourceVersion;
    while (!request.signal?.aborted) {
      let stream: AsyncGenerator<RawWatchEvent, void, undefined>;
      try {
        stream = await this.openWatch(kind, {
          ...request,
          ...(resourceVersion !== undefined ? { resourceVersion } : {}),
        });
      } catch (err) {
        if (request.signal?.aborted) return;
        throw err;
      }
      const openedAt = Date.now();
      let delivered = false;
      try {
        for await (const event of stream) {
          delivered = true;
          const rv = event.object.metadata?.resourceVersion;
          if (event.type === 'ERROR') throw statusErrorFrom(event.object);
          if (rv) resourceVersion = rv;
          if (event.type === 'BOOKMARK') continue;
          yield { type: event.type, object: event.object };
        }
      } catch (err) {
        if (request.signal?.aborted) return;
        if (isStatusError(err)) throw err;
        // A dropped stream is resumed like a server-side timeout.
        if (!isStreamDrop(err)) throw err;
      }
      // A server that ends watches at once must not turn this loop into a busy one.
      if (!delivered && Date.now() - openedAt < RESUME_PAUSE_MS) await pause(RESUME_PAUSE_MS, request.signal);
    }
  }

  /**
   * One watch connection, bookmarks requested: resolves once the server has answered (non-2xx
   * throws StatusError), then yields its events as sent, BOOKMARK and ERROR included, until the
   * server ends it (timeoutSeconds) or the connection drops (the iterator throws).
   */
  async openWatch(
    kind: KindInfo,
    request: WatchRequest & { timeoutSeconds?: number } = {},
  ): Promise<AsyncGenerator<RawWatchEvent, void, undefined>> {
    const path =
      resourcePath(kind, request.namespace) +
      query({
        watch: 'true',
        allowWatchBookmarks: 'true',
        labelSelector: request.labelSelector,
        fieldSelector: request.fieldSelector,
        resourceVersion: request.resourceVersion,
        timeoutSeconds: request.timeoutSeconds === undefined ? undefined : String(request.timeoutSeconds),
      });
    const response = await this.send('GET', path, request.signal ? { signal: request.signal } : {});
    return readEvents(response);
  }

  /** The raw body of a GET (berth's backup endpoint). */
  async getBytes(path: string): Promise<Buffer> {
    const response = await this.send('GET', path, { headers: { accept: 'application/octet-stream' } });
    return Buffer.from(await response.arrayBuffer());
  }

  private async request(
    method: string,
    path: string,
    options: { body?: unknown; contentType?: string; accept?: string } = {},
  ): Promise<unknown> {
    const headers: Record<string, string> = {};
    const init: SendInit = { headers };
    if (options.accept) headers['accept'] = options.accept;
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const response = await this.send(method, path, init);
    const text = await response.text();
    return text === '' ? undefined : JSON.parse(text);
  }

  /** Sends one request; non-2xx answers throw StatusError, refused connections a clear hint. */
  private async send(method: string, path: string, init: SendInit): Promise<FetchResponse> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': USER_AGENT,
      ...init.headers,
    };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    let response: FetchResponse;
    try {
      response = await this.fetchFn(this.server + path, { ...init, method, headers });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      if (isConnectionFailure(err)) throw new ApiUnreachableError(this.server, err);
      throw err;
    }
    if (!response.ok) throw errorFromResponse(response.status, await response.text());
    return response;
  }
}

const RESUME_PAUSE_MS = 1000;

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function isStreamDrop(err: unknown): boolean {
  return (
    err instanceof Error &&
    (isConnectionFailure(err) || err.name === 'TypeError' || err.name === 'AbortError')
  );
}

async function* readEvents(response: FetchResponse): AsyncGenerator<RawWatchEvent, void, undefined> {
  for await (const line of readLines(response)) yield JSON.parse(line) as RawWatchEvent;
}

/** The non-empty lines of a streamed response body, as they arrive. */
async function* readLines(response: FetchResponse): AsyncGenerator<string, void, undefined> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  // Leaving the loop early (the consumer breaks out) closes the underlying connection.
  for await (const value of response.body) {
    buffered += decoder.decode(value, { stream: true });
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line !== '') yield line;
      newline = buffered.indexOf('\n');
    }
  }
  const rest = (buffered + decoder.decode()).trim();
  if (rest !== '') yield rest;
}
