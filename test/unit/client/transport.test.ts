// nodeFetch and undiciFetch against real local HTTP(S) servers, under the REST store's withTimeout: its own time
// limit, the end of every request at once, watches left to their own signal, the CA it is given as
// the only one trusted, and idle connections closed by the client before the server would.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createSelfSignedCertificate } from '../../../src/apiserver/self-signed-cert.js';
import { nodeFetch, type FetchFn, type NodeFetchOptions } from '../../../src/client/transport.js';
import { undiciFetch } from '../../../src/client/undici-transport.js';
import { connectionFailure } from '../../../src/machinery/api-servers.js';
import { withTimeout } from '../../../src/machinery/rest-store.js';
import { eventually } from '../../helpers/eventually.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const transports: [string, (caPem?: string, options?: NodeFetchOptions) => FetchFn][] = [
  ['nodeFetch', nodeFetch],
  ['undiciFetch', undiciFetch],
];

for (const [transportName, transport] of transports) {
  describe(`client ${transportName}`, function () {
    /** The transport as the REST store uses it: `ms` for requests without a signal, ended by `closing`. */
    function limited(ms: number, closing = new AbortController().signal) {
      return withTimeout(transport(), ms, closing);
    }

    const servers: Server[] = [];
    let handler: Handler;

    async function listening(server: Server): Promise<number> {
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    }

    let url: string;
    before(async function () {
      url = `http://127.0.0.1:${await listening(createServer((req, res) => handler(req, res)))}/`;
    });

    after(async function () {
      for (const server of servers) {
        (server as ReturnType<typeof createServer>).closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('fails a request not answered in time as a connection failure that may have been sent', async function () {
      handler = () => undefined; // never answers
      const fetchFn = limited(150);
      const started = Date.now();
      const err = await fetchFn(url).then(
        () => assert.fail('answered'),
        (e: unknown) => e,
      );
      assert.ok(Date.now() - started >= 140, 'not before its time');
      assert.equal(connectionFailure(err), 'maybe-sent');
    });

    it('fails a request whose body stops coming in time', async function () {
      handler = (_req, res) => {
        res.writeHead(200);
        res.write('{"items":['); // and nothing more
      };
      const fetchFn = limited(150);
      const response = await fetchFn(url);
      await assert.rejects(response.text(), (err: unknown) => connectionFailure(err) === 'maybe-sent');
    });

    it('leaves a request with a signal of its own (a watch) to that signal', async function () {
      handler = (_req, res) => {
        res.writeHead(200);
        res.write('{"type":"ADDED"}\n');
        setTimeout(() => res.end('{"type":"MODIFIED"}\n'), 300);
      };
      const fetchFn = limited(100);
      const response = await fetchFn(url, { signal: new AbortController().signal });
      assert.equal(await response.text(), '{"type":"ADDED"}\n{"type":"MODIFIED"}\n');
    });

    it('answers in time as before, request after request on one connection', async function () {
      const ports = new Set<number>();
      handler = (req, res) => {
        ports.add(req.socket.remotePort ?? 0);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      };
      const fetchFn = limited(5000);
      for (let i = 0; i < 5; i++) assert.equal(await (await fetchFn(url)).text(), '{"ok":true}');
      // kept alive (undici may open a second connection while the first finishes its answer)
      assert.ok(ports.size <= 2, `kept alive: ${ports.size} connections for 5 requests`);
    });

    it('ends every request in flight and refuses later ones once closing aborts', async function () {
      handler = () => undefined;
      const closing = new AbortController();
      const fetchFn = limited(60_000, closing.signal);
      const pending = [fetchFn(url), fetchFn(url), fetchFn(url, { signal: new AbortController().signal })];
      await new Promise((resolve) => setTimeout(resolve, 50));
      closing.abort(new Error('closed for the test'));
      for (const request of pending) await assert.rejects(request);
      await assert.rejects(fetchFn(url), (err: Error) => err.name === 'AbortError');
    });

    it('trusts the CA it is given, and no other', async function () {
      const served = createSelfSignedCertificate('berth-test');
      const other = createSelfSignedCertificate('someone-else');
      const port = await listening(
        createHttpsServer({ cert: served.cert, key: served.key }, (_req, res) => res.end('secure')),
      );
      const secureUrl = `https://127.0.0.1:${port}/`;
      assert.equal(await (await transport(served.cert)(secureUrl)).text(), 'secure');
      await assert.rejects(transport(other.cert)(secureUrl), /self[- ]signed|verify|certificate/i);
    });

    it('closes an idle kept-alive connection itself, before the server would', async function () {
      const sockets: Socket[] = [];
      const closedByClient: Socket[] = [];
      const server = createServer((_req, res) => res.end('ok'));
      server.keepAliveTimeout = 60_000;
      server.on('connection', (socket: Socket) => {
        sockets.push(socket);
        socket.on('end', () => closedByClient.push(socket)); // the client's FIN
      });
      const idleUrl = `http://127.0.0.1:${await listening(server)}/`;
      const fetchFn = transport(undefined, { idleSocketMs: 100 });
      assert.equal(await (await fetchFn(idleUrl)).text(), 'ok');
      assert.equal(await (await fetchFn(idleUrl)).text(), 'ok');
      assert.equal(await (await fetchFn(idleUrl)).text(), 'ok');
      const opened = sockets.length;
      assert.ok(opened <= 2, `back to back, connections are reused: ${opened} for 3 requests`);
      await eventually(
        'the client closes the idle connections',
        async () => closedByClient.length === opened,
      );
      assert.equal(await (await fetchFn(idleUrl)).text(), 'ok');
      assert.equal(sockets.length, opened + 1, 'a new connection after that');
    });

    it('sends a body with its length, DELETE included, and reads the answer', async function () {
      let seen = '';
      handler = (req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          seen = `${req.method} ${req.url} ${req.headers['content-length']} ${req.headers['transfer-encoding'] ?? ''} ${body}`;
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end('{"kind":"Status"}');
        });
      };
      const response = await limited(5000)(`${url}x?dryRun=All`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json' },
        body: '{"propagationPolicy":"Orphan"}',
      });
      assert.equal(response.status, 404);
      assert.equal(response.ok, false);
      assert.equal(await response.text(), '{"kind":"Status"}');
      assert.equal(seen, 'DELETE /x?dryRun=All 30  {"propagationPolicy":"Orphan"}');
    });

    it('reports a refused connection as not sent, and a connection cut mid-answer as maybe sent', async function () {
      const closed = createServer();
      const port = await listening(closed);
      await new Promise((resolve) => closed.close(resolve));
      const refused = await limited(5000)(`http://127.0.0.1:${port}/`).then(
        () => assert.fail('answered'),
        (e: unknown) => e,
      );
      assert.equal(connectionFailure(refused), 'not-sent');
      handler = (req) => req.socket.destroy();
      const cut = await limited(5000)(url).then(
        () => assert.fail('answered'),
        (e: unknown) => e,
      );
      assert.equal(connectionFailure(cut), 'maybe-sent');
    });
  });
}
