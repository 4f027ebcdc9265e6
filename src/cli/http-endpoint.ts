// --http-endpoint of the sidecars: /metrics (the process's Prometheus registry) and /healthz (ok
// while the process runs; /healthz/leader-election as csi-lib-utils: ok unless this candidate
// leads and its lease went stale). Plain HTTP, as upstream.
import { createServer, type Server } from 'node:http';
import { register } from 'prom-client';
import { UsageError } from './io.js';

export interface HttpEndpoint {
  url: string;
  close(): Promise<void>;
}

/** "HOST:PORT" or ":PORT" (all interfaces) -> where to listen. */
export function parseHttpEndpoint(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port > 65535) {
    throw new UsageError(
      `invalid argument "${text}" for "--http-endpoint" flag: expected HOST:PORT or :PORT`,
    );
  }
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export async function serveHttpEndpoint(
  address: string,
  leaderElectionHealthy: () => boolean = () => true,
): Promise<HttpEndpoint> {
  const { host, port } = parseHttpEndpoint(address);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      void register.metrics().then(
        (text) => res.writeHead(200, { 'content-type': register.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    if (path === '/healthz' || path === '/healthz/leader-election') {
      const ok = path === '/healthz' || leaderElectionHealthy();
      res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'leader election lost');
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
