// berth's Kubernetes-compatible API server: discovery, the REST verbs over an ObjectStore,
// watch, Table printing and admission, behind one bearer token, on 127.0.0.1 only.
import { asNewNamespace } from '../api/namespace-lifecycle.js';
import { register } from 'prom-client';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { badRequest, isStatusError } from '../api/errors.js';
import { kindFor } from '../api/kinds.js';
import { prepareCreate } from '../api/validate.js';
import type { ObjectStore } from '../store/types.js';
import { BACKUP_PATH, serveBackup, type BackupSource } from './backup-endpoint.js';
import { apiGroup, coreVersions, groupList, resourceList, versionInfo } from './discovery.js';
import {
  addWarning,
  mediaType,
  methodNotAllowed,
  readBody,
  sendBytes,
  sendEncodedJson,
  sendJson,
  sendText,
  serverNotFound,
  toStatus,
  unauthorized,
} from './http-io.js';
import { ListPages } from './list-pages.js';
import { openApiGroupVersion, openApiRoot, openApiV2, openApiV2Protobuf } from './openapi.js';
import { OPENAPI_V2_PROTOBUF } from './openapi-protobuf.js';
import { handleResource } from './resource-handler.js';
import { parseRoute, type Route } from './routes.js';
import { isWatchRequest, serveWatch, type WatchContext, type WatchLimits } from './watch-stream.js';

export interface ApiServerOptions {
  store: ObjectStore;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The address to listen on (--bind-address); default 127.0.0.1. */
  host?: string;
  token: string;
  clock?: () => Date;
  log?: (line: string) => void;
  /**
   * Serve HTTPS with this certificate (ensureCredentials returns one). Without it the server
   * speaks plain HTTP, which berth's own clients accept but kubectl will not send a token over.
   */
  tls?: { cert: string; key: string };
  /** Serves GET /berth/v1/backup (admin token only) from this store snapshot. */
  backup?: BackupSource;
  /** When a watcher that does not read is cut off (default: defaultWatchLimits). */
  watchLimits?: WatchLimits;
  /** How often a watch that allows bookmarks gets one (default about a minute; 0: never). */
  watchBookmarkIntervalMs?: number;
  /**
   * Serialise the next page of a paged list ahead, while the client reads this one (default
   * true). Off for a store whose every read is a remote call (etcd): checking a prepared page
   * needs the same read as answering it, and preparing adds one.
   */
  prepareNextPages?: boolean;
}

export interface ApiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Namespaces that exist from the start, as in every Kubernetes cluster. */
export const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Checks a request's Authorization header against the token (its digest computed once). */
export function tokenCheck(token: string): (header: string | undefined) => boolean {
  const expected = digest(token);
  return (header) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
  };
}

/**
 * tokenCheck, once per connection: a keep-alive client repeats the header that authorized its
 * connection, and comparing with what that same peer already proved costs no digest.
 */
export function connectionTokenCheck(token: string): (req: IncomingMessage) => boolean {
  const check = tokenCheck(token);
  const proven = new WeakMap<object, string>();
  return (req) => {
    const header = req.headers.authorization;
    if (header === undefined) return false;
    if (proven.get(req.socket) === header) return true;
    if (!check(header)) return false;
    proven.set(req.socket, header);
    return true;
  };
}

async function ensureBuiltinNamespaces(store: ObjectStore): Promise<void> {
  const namespaceKind = kindFor('v1', 'Namespace');
  if (!namespaceKind) return;
  for (const name of BUILTIN_NAMESPACES) {
    try {
      await store.get(namespaceKind, undefined, name);
    } catch (err) {
      if (!isStatusError(err, 'NotFound')) throw err;
      const namespace = prepareCreate(
        asNewNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
      );
      try {
        await store.create(namespaceKind, namespace);
      } catch (createErr) {
        if (!isStatusError(createErr, 'AlreadyExists')) throw createErr;
      }
    }
  }
}

interface RequestUrl {
  /** The path exactly as sent: still percent-encoded, dot segments not resolved. */
  rawPath: string;
  searchParams: URLSearchParams;
}

/**
 * Splits a request target without normalising it: WHATWG URL parsing would decode `%2e%2e`
 * and resolve it against the parent segment (and read `\` as `/`) before routing sees it.
 */
export function splitRequestUrl(target: string): RequestUrl {
  const withoutFragment = target.split('#')[0] ?? '';
  const question = withoutFragment.indexOf('?');
  const rawPath = question === -1 ? withoutFragment : withoutFragment.slice(0, question);
  const query = question === -1 ? '' : withoutFragment.slice(question + 1);
  return { rawPath, searchParams: new URLSearchParams(query.split('&').filter(isWellFormedPair).join('&')) };
}

/**
 * Go's url.ParseQuery, which reads the Kubernetes API server's queries, drops a pair with a `%`
 * not followed by two hex digits, or with a `;`, rather than reading it literally: so
 * `allowWatchBookmarks=%ZZ` is no flag at all, not a flag set to "%ZZ".
 */
function isWellFormedPair(pair: string): boolean {
  return !pair.includes(';') && !/%(?![0-9a-fA-F]{2})/.test(pair);
}

function discoveryDocument(route: Route, serverAddress: string): unknown {
  switch (route.type) {
    case 'version':
      return versionInfo(`${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`);
    case 'coreVersions':
      return coreVersions(serverAddress);
    case 'groupList':
      return groupList();
    case 'group':
      return apiGroup(route.group);
    case 'resourceList':
      return resourceList(route.group, route.version);
    case 'openapiGroupVersion':
      return openApiGroupVersion(route.group, route.version);
    case 'openapiRoot':
      return route.version === 'v3' ? openApiRoot() : openApiV2();
    case 'health':
    case 'metrics':
    case 'resource':
    case 'invalidPath':
    case 'notFound':
      return undefined;
  }
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { store, token } = options;
  const now = options.clock ?? ((): Date => new Date());
  const log = options.log;
  const isAuthorized = connectionTokenCheck(token);
  const watches: WatchContext = {
    store,
    now,
    active: new Set(),
    onSlowWatcher: (bytes) => log?.(`watch cut off: the client left ${bytes} bytes unread`),
  };
  if (options.watchLimits) watches.limits = options.watchLimits;
  if (options.watchBookmarkIntervalMs !== undefined)
    watches.bookmarkIntervalMs = options.watchBookmarkIntervalMs;
  const host = options.host ?? '127.0.0.1';
  let serverAddress = host;
  const listPages = options.prepareNextPages === false ? undefined : new ListPages();

  await ensureBuiltinNamespaces(store);

  async function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    url: RequestUrl,
    pretty: boolean,
  ): Promise<void> {
    const route = parseRoute(url.rawPath);
    if (route.type === 'health') {
      sendText(res, 200, 'ok');
      return;
    }
    if (!isAuthorized(req)) throw unauthorized();
    if (route.type === 'invalidPath') throw badRequest(route.message);
    const method = req.method ?? 'GET';
    if (route.type === 'metrics') {
      // The process-wide registry: every component of this process reports into it.
      res.writeHead(200, { 'content-type': register.contentType });
      res.end(await register.metrics());
      return;
    }
    if (url.rawPath === BACKUP_PATH) return serveBackup(options.backup, method, res);
    if (route.type === 'resource') {
      if (method === 'GET' && isWatchRequest(url.searchParams)) {
        await serveWatch(watches, route.target, url.searchParams, req, res);
        return;
      }
      const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req);
      const response = await handleResource(
        { store, now, ...(listPages ? { listPages } : {}) },
        {
          method,
          target: route.target,
          query: url.searchParams,
          contentType: mediaType(req.headers['content-type']),
          body,
          accept: req.headers.accept,
          userAgent: req.headers['user-agent'],
        },
      );
      for (const warning of response.warnings ?? []) addWarning(res, warning);
      if (response.encoded && !pretty) sendEncodedJson(res, response.status, response.encoded);
      else sendJson(res, response.status, response.body, pretty);
      return;
    }
    const document = discoveryDocument(route, serverAddress);
    if (document === undefined) throw serverNotFound();
    if (method !== 'GET') throw methodNotAllowed();
    if (
      route.type === 'openapiRoot' &&
      route.version === 'v2' &&
      req.headers.accept?.includes(OPENAPI_V2_PROTOBUF)
    ) {
      // the answer is typed octet-stream: Go's media type parser rejects the '@' of the name
      sendBytes(res, 'application/octet-stream', openApiV2Protobuf());
      return;
    }
    sendJson(res, 200, document, pretty);
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = splitRequestUrl(req.url ?? '/');
    const pretty = ['true', '1'].includes(url.searchParams.get('pretty') ?? '');
    if (log) {
      const started = Date.now();
      res.on('close', () => {
        log(`${req.method ?? ''} ${req.url ?? ''} ${res.statusCode} ${Date.now() - started}ms`);
      });
    }
    dispatch(req, res, url, pretty).catch((err: unknown) => {
      const status = toStatus(err);
      if (res.headersSent) res.end();
      else sendJson(res, status.code, status, pretty);
    });
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest)
    : createHttpServer(onRequest);
  // idle connections outlive the clients' own idle limit (client/transport.ts: 30 s), so a client
  // closes one first and never sends a request on a connection this server is closing
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // a wildcard bind is reached on loopback from this host
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const hostPart = reachable.includes(':') ? `[${reachable}]` : reachable;
  serverAddress = `${hostPart}:${port}`;

  return {
    url: `${options.tls ? 'https' : 'http'}://${hostPart}:${port}`,
    port,
    async close(): Promise<void> {
      listPages?.close();
      for (const finish of [...watches.active]) finish();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
