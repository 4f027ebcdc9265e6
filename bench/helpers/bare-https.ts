// The baseline of bench:api: a bare node:https server with the API server's certificate that
// answers every request as a create would (reads the JSON body, parses it, answers it serialised
// with 201), so that the API's rates and CPU per request can be set against what Node's HTTP and
// TLS alone cost on the same machine with the same clients.
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';

export interface BareServer {
  url: string;
  close(): Promise<void>;
}

/** A node:https server on a free loopback port answering with `handle`, closed with its connections. */
export async function startHttpsServer(
  tls: { cert: string; key: string },
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<BareServer> {
  const server = createServer({ cert: tls.cert, key: tls.key }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function startBareHttpsServer(tls: { cert: string; key: string }): Promise<BareServer> {
  return startHttpsServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const text = `${JSON.stringify(body === '' ? {} : JSON.parse(body))}\n`;
      res.writeHead(201, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
        'Cache-Control': 'no-cache, private',
      });
      res.end(text);
    });
  });
}
