// nodeFetch against real local HTTP(S) servers, under the REST store's withTimeout: its own time
// limit, the end of every request at once, watches left to their own signal, the CA it is given as
// the only one trusted, and idle connections closed by the client before the server would.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createSelfSignedCertificate } from '../../../src/apiserver/self-signed-cert.js';
import { nodeFetch } from '../../../src/client/transport.js';
import { connectionFailure } from '../../../src/machinery/api-servers.js';
import { withTimeout } from '../../../src/machinery/rest-store.js';
import { eventually } from '../../helpers/eventually.js';

/** nodeFetch as the REST store uses it: `ms` for requests without a signal, ended by `closing`. */
function limited(ms: number, closing = new AbortController().signal) {
  return withTimeout(nodeFetch(), ms, closing);
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('client nodeFetch', function () {
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
    assert.equal(ports.size, 1, 'kept alive');
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
    assert.equal(await (await nodeFetch(served.cert)(secureUrl)).text(), 'secure');
    await assert.rejects(nodeFetch(other.cert)(secureUrl), /self[- ]signed|verify|certificate/i);
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
    const fetchFn = nodeFetch(undefined, { idleSocketMs: 100 });
    assert.equal(await (await fetchFn(idleUrl)).text(), 'ok');
    assert.equal(await (await fetchFn(idleUrl)).text(), 'ok');
    assert.equal(sockets.length, 1, 'back to back, the connection is reused');
    await eventually('the client closes the idle connection', async () => closedByClient.length === 1);
    assert.equal(await (await fetchFn(idleUrl)).text(), 'ok');
    assert.equal(sockets.length, 2, 'a new connection after that');
  });
});
