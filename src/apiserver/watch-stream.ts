// Watch over HTTP: one JSON object per line ({type, object}), streamed with chunked encoding
// until the client goes away, timeoutSeconds pass, or the server closes. A resourceVersion the
// store no longer has is reported as Kubernetes does: status 200, then an ERROR event with a
// 410 Expired Status. A watcher that does not read is cut off, never buffered without limit:
// once more than `limits.maxBufferedBytes` wait unsent, or more than `limits.softBufferedBytes`
// for longer than `limits.slowGraceMs`, it gets a 410 ERROR event and the stream is closed
// (destroyed if even that cannot be sent), as Kubernetes closes an unresponsive watcher; the
// client re-lists and watches again.
// With allowWatchBookmarks, the stream also carries BOOKMARK events (kind, apiVersion and
// metadata.resourceVersion only) about once a minute and 2 s before the stream's timeout, as
// Kubernetes sends them: every event of the watch up to that revision has been sent before it, so
// a client resumes from there instead of from its last object, which may have left the history.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { badRequest, gone, isStatusError } from '../api/errors.js';
import { checkFieldSelector } from '../api/field-labels.js';
import type { KubeObject } from '../api/meta.js';
import type { EncodedObject, ObjectStore, Watch, WatchEvent, WatchOptions } from '../store/types.js';
import { toStatus } from './http-io.js';
import type { ResourceTarget } from './routes.js';
import { parseIncludeObject, toTable, wantsTable } from './table.js';
import { WatchBookmarks } from './watch-bookmarks.js';
import { WatchFlusher } from './watch-flusher.js';
import { WatchQueue, httpChunk } from './watch-queue.js';

/** The API server's default: watches end after about 30 minutes and clients re-establish them. */
const defaultTimeoutSeconds = 1800;
/** Kubernetes sends a bookmark about every minute, and one this long before a watch times out. */
const defaultBookmarkIntervalMs = 60_000;
const bookmarkBeforeTimeoutMs = 2_000;

export interface WatchLimits {
  /** Bytes waiting unsent that close the stream at once. */
  maxBufferedBytes: number;
  /** Bytes waiting unsent that the client may hold for at most `slowGraceMs`. */
  softBufferedBytes: number;
  slowGraceMs: number;
}

export const defaultWatchLimits: WatchLimits = {
  maxBufferedBytes: 16 * 2 ** 20,
  softBufferedBytes: 2 ** 20,
  slowGraceMs: 10_000,
};

export interface WatchContext {
  store: ObjectStore;
  now: () => Date;
  /** Open watches, so that closing the server can end them. */
  active: Set<() => void>;
  limits?: WatchLimits;
  /** Told when a watcher is cut off for not reading, with the bytes it left waiting. */
  onSlowWatcher?: (bufferedBytes: number) => void;
  /** Paces the writes of all watches of one server (made on the first watch). */
  flusher?: WatchFlusher;
  /** How often a watch that allows bookmarks gets one (default about a minute). */
  bookmarkIntervalMs?: number;
}

/**
 * Every watcher of a change gets the same committed object (watches are read-only), so its line
 * is serialised and encoded once per event type, not once per watcher. Only the lines of recent
 * changes are kept (the watchers of a change are told within moments of each other): kept for as
 * long as their objects live, they were a second copy of every object ever watched, as bytes.
 */
const encodedLines = new Map<object, Map<string, Buffer>>();
const RECENT_LINES = 4096;

function lineOf(event: { type: string; object: unknown }): Buffer {
  return Buffer.from(`${JSON.stringify(event)}\n`);
}

/** The line of an event whose store sent the object's JSON: those bytes, not parsed and serialised again. */
function encodedLine(type: string, json: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{"type":"${type}","object":`), json, LINE_END]);
}
const LINE_END = Buffer.from('}\n');

function encodeShared(event: { type: string; object: unknown; encoded?: EncodedObject }): Buffer {
  if (event.encoded) return encodedLine(event.type, event.encoded.json());
  if (typeof event.object !== 'object' || event.object === null) return lineOf(event);
  let lines = encodedLines.get(event.object);
  if (!lines) {
    // the oldest first (a Map keeps insertion order)
    if (encodedLines.size >= RECENT_LINES) encodedLines.delete(encodedLines.keys().next().value!);
    encodedLines.set(event.object, (lines = new Map()));
  }
  let line = lines.get(event.type);
  if (line === undefined) lines.set(event.type, (line = lineOf(event)));
  return line;
}

/** The event's resourceVersion, read without parsing an object the store sent as JSON. */
function revisionOf(event: WatchEvent): string | undefined {
  return event.encoded ? event.encoded.resourceVersion : event.object.metadata.resourceVersion;
}

/** A batch the store shares among watchers is encoded once for all of them. */
const encodedBatches = new WeakMap<readonly WatchEvent[], Buffer>();

function encodeBatch(events: readonly WatchEvent[]): Buffer {
  let chunk = encodedBatches.get(events);
  if (chunk === undefined) encodedBatches.set(events, (chunk = Buffer.concat(events.map(encodeShared))));
  return chunk;
}

/**
 * A boolean query parameter as Kubernetes reads one: absent, "false" or "0" (in any case) is
 * false, any other value (even an empty one) true.
 */
export function queryFlag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value !== null && value.toLowerCase() !== 'false' && value !== '0';
}

export function isWatchRequest(query: URLSearchParams): boolean {
  const value = query.get('watch');
  return value === 'true' || value === '1';
}

function watchOptions(target: ResourceTarget, query: URLSearchParams): WatchOptions {
  const options: WatchOptions = {};
  if (target.namespace !== undefined) options.namespace = target.namespace;
  const labelSelector = query.get('labelSelector');
  if (labelSelector) options.labelSelector = labelSelector;
  checkFieldSelector(target.kind, query.get('fieldSelector') ?? '');
  // watching one object is watching the collection for its name
  const selectors = [
    query.get('fieldSelector'),
    target.name === undefined ? '' : `metadata.name=${target.name}`,
  ];
  const fieldSelector = selectors.filter((s) => s).join(',');
  if (fieldSelector) options.fieldSelector = fieldSelector;
  const resourceVersion = query.get('resourceVersion');
  if (resourceVersion) options.resourceVersion = resourceVersion;
  // events are only serialised here
  options.readOnly = true;
  return options;
}

/** `timeoutSeconds` of a watch: not a whole number is a 400; absent, zero or negative, the default. */
function watchTimeoutSeconds(query: URLSearchParams, defaultSeconds: number): number {
  const value = query.get('timeoutSeconds');
  if (!value) return defaultSeconds;
  if (!/^-?\d{1,15}$/.test(value)) throw badRequest(`invalid timeoutSeconds "${value}": must be an integer`);
  return Number(value) > 0 ? Number(value) : defaultSeconds;
}

export async function serveWatch(
  ctx: WatchContext,
  target: ResourceTarget,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const asTable = wantsTable(req.headers.accept);
  const include = parseIncludeObject(query.get('includeObject'));
  const timeoutSeconds = watchTimeoutSeconds(query, defaultTimeoutSeconds);
  const encode = (event: { type: string; object: unknown }): Buffer => {
    if (asTable && event.type !== 'ERROR') {
      const object = toTable(target.kind.kind, [event.object as KubeObject], { now: ctx.now(), include });
      return lineOf({ type: event.type, object });
    }
    return event.type === 'ERROR' ? lineOf(event) : encodeShared(event);
  };
  // over HTTP/1.1 the queue holds whole HTTP chunks, written straight to this socket (see
  // watch-queue.ts); an HTTP/1.0 client gets the lines through the response, the body ending
  // when the connection closes
  let socket: Socket | undefined;
  const startStream = (): void => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    if (res.chunkedEncoding && res.socket) socket = res.socket;
  };
  const write = (data: Buffer): boolean => {
    if (!socket) return res.write(data);
    return socket.destroyed || socket.write(data);
  };

  // events that arrive before the store confirms the watch wait until the headers are out
  let pending: Buffer[] | undefined = [];
  let watch: Watch;
  const limits = ctx.limits ?? defaultWatchLimits;
  let slowSince: number | undefined;
  // the lines not yet handed to the socket (the events of a tick go out as one chunk); while the
  // socket has not drained the last write they wait here, shared with the other streams, instead
  // of as this connection's own encrypted copy in the TLS layer
  const queue = new WatchQueue();
  let draining = false;
  const flusher = (ctx.flusher ??= new WatchFlusher());
  const flush = (): void => {
    if (res.writableEnded || draining) return;
    const chunk = queue.take();
    if (!chunk) return;
    if (!write(chunk)) {
      draining = true;
      (socket ?? res).once('drain', onDrain);
    } else if (queue.length > 0) flusher.schedule(flush);
    if (tooSlow()) cutOff();
  };
  const onDrain = (): void => {
    draining = false;
    if (queue.length > 0) flusher.schedule(flush);
  };
  const send = (line: Buffer): void => {
    if (pending) pending.push(line);
    else if (!res.writableEnded) {
      if (queue.length === 0 && !draining) flusher.schedule(flush);
      queue.push(socket ? httpChunk(line) : line);
      if (draining && tooSlow()) cutOff();
    }
  };
  /** What the client has yet to take: unsent lines and what the socket holds. */
  const backlog = (): number => (socket?.writableLength ?? 0) + res.writableLength + queue.bytes;
  function tooSlow(): boolean {
    const buffered = backlog();
    if (buffered > limits.maxBufferedBytes) return true;
    if (buffered <= limits.softBufferedBytes) {
      slowSince = undefined;
      return false;
    }
    slowSince ??= Date.now();
    return Date.now() - slowSince > limits.slowGraceMs;
  }
  function cutOff(): void {
    ctx.onSlowWatcher?.(backlog());
    const cut = queue.clear();
    if (cut) write(cut);
    const expired = gone('the watcher did not keep up with the events; watch again');
    res.end(encode({ type: 'ERROR', object: toStatus(expired) }));
    // a client that reads nothing never takes even that: its connection goes
    res.socket?.destroy();
    finish();
  }
  // a watch the store cannot go on with ends with an ERROR event; the client re-lists
  let failed = false;
  const onError = (err: Error): void => {
    failed = true;
    send(encode({ type: 'ERROR', object: toStatus(err) }));
    if (!pending) finish();
  };
  // a Table watch (kubectl get -w) gets no bookmarks
  const bookmarks =
    queryFlag(query, 'allowWatchBookmarks') && !asTable
      ? new WatchBookmarks(target.kind, (event) => send(lineOf(event)))
      : undefined;
  const options = watchOptions(target, query);
  if (bookmarks) options.onProgress = bookmarks.onProgress;
  if (!asTable)
    options.onEvents = (events) => {
      if (events.length === 0) return;
      bookmarks?.noteSent(revisionOf(events[events.length - 1]!));
      send(encodeBatch(events));
    };
  const onEvent = bookmarks
    ? (event: WatchEvent): void => {
        bookmarks.noteSent(revisionOf(event));
        send(encode(event));
      }
    : (event: WatchEvent): void => send(encode(event));
  try {
    watch = await ctx.store.watch(target.kind, options, onEvent, onError);
  } catch (err) {
    if (!isStatusError(err) || (err.code !== 410 && err.reason !== 'Expired' && err.reason !== 'Gone'))
      throw err;
    startStream();
    res.end(encode({ type: 'ERROR', object: toStatus(err) }));
    return;
  }

  startStream();
  const early = pending;
  pending = undefined;
  for (const line of early) send(line);
  if (early.length > 0) flush();

  let finished = false;
  function finish(): void {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    bookmarks?.stop();
    ctx.active.delete(finish);
    watch.stop();
    // a kept-alive connection outlives the watch: its next response must not wake this one
    socket?.off('drain', onDrain);
    if (!res.writableEnded) {
      const rest = queue.rest();
      if (!socket) res.end(rest);
      else {
        if (rest.length > 0) write(rest);
        res.end();
      }
    }
    queue.clear();
  }
  const timer = setTimeout(finish, timeoutSeconds * 1000);
  if (failed) return finish();
  bookmarks?.start(
    watch,
    {
      intervalMs: ctx.bookmarkIntervalMs ?? defaultBookmarkIntervalMs,
      beforeDeadlineMs: bookmarkBeforeTimeoutMs,
    },
    Date.now() + timeoutSeconds * 1000,
  );
  ctx.active.add(finish);
  req.on('close', finish);
  res.on('close', finish);
}
