// Watch over HTTP: one JSON object per line ({type, object}), streamed with chunked encoding
// until the client goes away, timeoutSeconds pass, or the server closes. A resourceVersion the
// store no longer has is reported as Kubernetes does: status 200, then an ERROR event with a
// 410 Expired Status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isStatusError } from '../api/errors.js';
import { checkFieldSelector } from '../api/field-labels.js';
import type { KubeObject } from '../api/meta.js';
import type { ObjectStore, Watch, WatchEvent, WatchOptions } from '../store/types.js';
import { toStatus } from './http-io.js';
import type { ResourceTarget } from './routes.js';
import { parseIncludeObject, toTable, wantsTable } from './table.js';

/** The API server's default: watches end after about 30 minutes and clients re-establish them. */
const defaultTimeoutSeconds = 1800;

export interface WatchContext {
  store: ObjectStore;
  now: () => Date;
  /** Open watches, so that closing the server can end them. */
  active: Set<() => void>;
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
  return options;
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
  const encode = (event: { type: string; object: unknown }): string => {
    if (asTable && event.type !== 'ERROR') {
      const object = toTable(target.kind.kind, [event.object as KubeObject], { now: ctx.now(), include });
      return `${JSON.stringify({ type: event.type, object })}\n`;
    }
    return `${JSON.stringify(event)}\n`;
  };
  const startStream = (): void => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
  };

  // events that arrive before the store confirms the watch wait until the headers are out
  let pending: string[] | undefined = [];
  let watch: Watch;
  const send = (line: string): void => {
    if (pending) pending.push(line);
    else if (!res.writableEnded) res.write(line);
  };
  // a watch the store cannot go on with ends with an ERROR event; the client re-lists
  let failed = false;
  const onError = (err: Error): void => {
    failed = true;
    send(encode({ type: 'ERROR', object: toStatus(err) }));
    if (!pending) finish();
  };
  try {
    watch = await ctx.store.watch(
      target.kind,
      watchOptions(target, query),
      (event: WatchEvent) => send(encode(event)),
      onError,
    );
  } catch (err) {
    if (!isStatusError(err) || (err.code !== 410 && err.reason !== 'Expired' && err.reason !== 'Gone'))
      throw err;
    startStream();
    res.end(encode({ type: 'ERROR', object: toStatus(err) }));
    return;
  }

  startStream();
  for (const line of pending) res.write(line);
  pending = undefined;

  const requested = Number(query.get('timeoutSeconds'));
  const timeoutSeconds = Number.isFinite(requested) && requested > 0 ? requested : defaultTimeoutSeconds;
  let finished = false;
  function finish(): void {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    ctx.active.delete(finish);
    watch.stop();
    if (!res.writableEnded) res.end();
  }
  const timer = setTimeout(finish, timeoutSeconds * 1000);
  if (failed) return finish();
  ctx.active.add(finish);
  req.on('close', finish);
  res.on('close', finish);
}
