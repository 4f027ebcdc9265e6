// HTTP(S) requests on node:http/node:https. The CLI starts in a fraction of the time it would take
// to load a fetch implementation, and a kubeconfig's CA is trusted without a custom dispatcher.
// Connections are kept alive and reused (one agent per FetchFn, with one TLS context made from the
// CA, which the agent would otherwise parse again for each new connection): a controller sends
// thousands of small requests, and a TLS handshake each would cost more than they.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /**
   * Fails the request (ETIMEDOUT) when it has not completed in this long: the transport's own
   * timer, cleared when the request closes, instead of an AbortSignal.timeout per request.
   */
  timeoutMs?: number;
}

/** The part of a fetch Response the client reads; a web Response fits it too. */
export interface FetchResponse {
  ok: boolean;
  status: number;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
  body: AsyncIterable<Uint8Array> | null;
}

export type FetchFn = (input: string, init?: FetchInit) => Promise<FetchResponse>;

function responseOf(message: IncomingMessage): FetchResponse {
  const status = message.statusCode ?? 0;
  const whole = async (): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const chunk of message) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  return {
    ok: status >= 200 && status < 300,
    status,
    body: message,
    text: async () => (await whole()).toString('utf8'),
    arrayBuffer: async () => {
      const bytes = await whole();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

export interface NodeFetchOptions {
  /** How long an idle kept-alive connection is kept (IDLE_SOCKET_MS). */
  idleSocketMs?: number;
}

/**
 * How long an idle kept-alive connection is kept: well under the time servers keep one (berth's API
 * server 65 s; Go's servers, kube-apiserver among them, 90 s). Without it, node's agent keeps idle
 * sockets until the server closes them, and a request sent on one as the server closes it (a busy
 * event loop reads the server's FIN late) fails with ECONNRESET: a create then may or may not have
 * happened. (A server's Keep-Alive timeout hint is honoured too, minus a second, when shorter.)
 */
export const IDLE_SOCKET_MS = 30_000;

/** What a request that ran out of time fails with: a connection failure that may have been sent. */
function timedOut(ms: number): Error {
  return Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}

/** A FetchFn over node:http and node:https; `caPem` is the CA an https server must be signed by. */
export function nodeFetch(caPem?: string, options: NodeFetchOptions = {}): FetchFn {
  const timeout = options.idleSocketMs ?? IDLE_SOCKET_MS;
  const agents = {
    http: new http.Agent({ keepAlive: true, timeout }),
    https: new https.Agent({
      keepAlive: true,
      timeout,
      ...(caPem ? { secureContext: tls.createSecureContext({ ca: caPem }) } : {}),
    }),
  };
  return async (input, init = {}) => {
    const url = new URL(input);
    const secure = url.protocol === 'https:';
    const request = secure ? https.request : http.request;
    const { signal, timeoutMs } = init;
    return new Promise<FetchResponse>((resolve, reject) => {
      const req = request(
        url,
        {
          method: init.method ?? 'GET',
          // a length, not chunks: a DELETE with a chunked DeleteOptions body is refused as a bad request
          headers:
            init.body === undefined
              ? (init.headers ?? {})
              : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
          ...(signal ? { signal } : {}),
          agent: secure ? agents.https : agents.http,
        },
        (message) => resolve(responseOf(message)),
      );
      req.on('error', reject);
      if (timeoutMs !== undefined) {
        const timer = setTimeout(() => req.destroy(timedOut(timeoutMs)), timeoutMs);
        req.once('close', () => clearTimeout(timer));
      }
      req.end(init.body);
    });
  };
}
