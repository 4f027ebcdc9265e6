// HTTP(S) requests on undici, for the long-running components (controller-manager, node agent,
// sidecars), which send thousands of small requests: per request, undici's client costs about
// half the CPU of node:https's (ClientRequest, agent bookkeeping, separate header and body
// writes), and the API server reads each request in one piece. The CLI keeps node:https
// (transport.ts): loading undici would cost every short command more than it saves.
// Connections are kept alive and reused, with one TLS context made from the CA, as nodeFetch's.
import tls from 'node:tls';
import { Agent, errors } from 'undici';
import { IDLE_SOCKET_MS, type FetchFn, type FetchResponse, type NodeFetchOptions } from './transport.js';

/** What a request that ran out of time fails with: a connection failure that may have been sent. */
function timedOut(ms: number, cause: unknown): Error {
  return Object.assign(new Error(`no answer within ${ms} ms`, { cause }), {
    name: 'TimeoutError',
    code: 'ETIMEDOUT',
  });
}

/** What an aborted request fails with, as node:https reports it (undici rejects with the signal's reason). */
function aborted(cause: unknown): Error {
  return Object.assign(new Error('The operation was aborted', { cause }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

function isTimeout(err: unknown): boolean {
  return err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError;
}

/** A FetchFn over undici; `caPem` is the CA an https server must be signed by. */
export function undiciFetch(caPem?: string, options: NodeFetchOptions = {}): FetchFn {
  const idle = options.idleSocketMs ?? IDLE_SOCKET_MS;
  const agent = new Agent({
    // a server's Keep-Alive hint is honoured (minus a second) when shorter than ours
    keepAliveTimeout: idle,
    keepAliveMaxTimeout: idle,
    keepAliveTimeoutThreshold: 1000,
    // no limits of the agent's own: a watch is quiet for as long as nothing changes, and a
    // plain request's limit is its timeoutMs
    headersTimeout: 0,
    bodyTimeout: 0,
    ...(caPem ? { connect: { secureContext: tls.createSecureContext({ ca: caPem }) } } : {}),
  });
  return async (input, init = {}) => {
    const url = new URL(input);
    const { timeoutMs } = init;
    // undici's own timers: the answer must start within timeoutMs, and its body never pause longer
    const limits = timeoutMs === undefined ? {} : { headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
    const fail = (err: unknown): never => {
      if (init.signal?.aborted && (err as Error | undefined)?.name !== 'AbortError') throw aborted(err);
      throw timeoutMs !== undefined && isTimeout(err) ? timedOut(timeoutMs, err) : err;
    };
    const res = await agent
      .request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: init.method ?? 'GET',
        headers: init.headers ?? {},
        ...(init.body !== undefined ? { body: init.body } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
        ...limits,
      })
      .catch(fail);
    const { statusCode: status, body } = res;
    const response: FetchResponse = {
      ok: status >= 200 && status < 300,
      status,
      body,
      text: () => body.text().catch(fail),
      arrayBuffer: () => body.arrayBuffer().catch(fail),
    };
    return response;
  };
}
