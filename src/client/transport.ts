// HTTP(S) requests on node:http/node:https. The CLI starts in a fraction of the time it would take
// to load a fetch implementation, and a kubeconfig's CA is trusted without a custom dispatcher.
// Connections are kept alive and reused (one agent per FetchFn, so its CA is set up once): a
// controller sends thousands of small requests, and a TLS handshake each would cost more than they.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
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

/** A FetchFn over node:http and node:https; `caPem` is the CA an https server must be signed by. */
export function nodeFetch(caPem?: string): FetchFn {
  const agents = {
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({ keepAlive: true, ...(caPem ? { ca: caPem } : {}) }),
  };
  return async (input, init = {}) => {
    const url = new URL(input);
    const secure = url.protocol === 'https:';
    const request = secure ? https.request : http.request;
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
          ...(init.signal ? { signal: init.signal } : {}),
          agent: secure ? agents.https : agents.http,
        },
        (message) => resolve(responseOf(message)),
      );
      req.on('error', reject);
      req.end(init.body);
    });
  };
}
