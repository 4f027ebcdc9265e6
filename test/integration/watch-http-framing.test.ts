// The bytes of a watch on the wire: over HTTP/1.1 a valid chunked body (the stream writes whole
// chunks straight to the socket, sliced at any byte when an event is larger than one write), ended
// by the last chunk when the watch times out; over HTTP/1.0 the plain lines, ended by closing.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindFor } from '../../src/api/kinds.js';
import { prepareCreate } from '../../src/api/validate.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/index.js';
import { maxWriteBytes } from '../../src/apiserver/watch-queue.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';

const token = 'watch-framing-token';
const configMaps = kindFor('v1', 'ConfigMap')!;
// larger than one write, so that events are cut between writes
const PAYLOAD = 'p'.repeat(maxWriteBytes + 1000);
const OBJECTS = 5;

/** Sends a raw request and returns every byte the server sends until it closes the connection. */
async function rawExchange(server: ApiServer, request: string): Promise<Buffer> {
  const { port } = new URL(server.url);
  const socket = connect(Number(port), '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (data: Buffer) => received.push(data));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(request);
  await new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
  return Buffer.concat(received);
}

/** Decodes a chunked body strictly: every size line, every CRLF, and the last chunk. */
function dechunk(body: Buffer): { data: string; ended: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) return { data: Buffer.concat(parts).toString(), ended: false };
    const sizeLine = body.toString('latin1', at, lineEnd);
    assert.match(sizeLine, /^[0-9a-f]+$/, `a chunk size line at byte ${at}`);
    const size = parseInt(sizeLine, 16);
    at = lineEnd + 2;
    if (size === 0) {
      assert.equal(body.toString('latin1', at), '\r\n', 'nothing after the last chunk');
      return { data: Buffer.concat(parts).toString(), ended: true };
    }
    parts.push(body.subarray(at, at + size));
    assert.equal(
      body.toString('latin1', at + size, at + size + 2),
      '\r\n',
      `the CRLF after a chunk of ${size}`,
    );
    at += size + 2;
  }
}

/** The complete responses in `bytes`, each a chunked body or one of Content-Length bytes. */
function responses(bytes: Buffer): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let at = 0;
  for (;;) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd < 0) return out;
    const head = bytes.toString('latin1', at, headEnd);
    assert.match(head, /^HTTP\/1\.1 200 /, `a status line at byte ${at}`);
    const start = headEnd + 4;
    const length = /^content-length: (\d+)$/im.exec(head);
    if (length) {
      const end = start + Number(length[1]);
      if (end > bytes.length) return out;
      out.push({ head, body: bytes.toString('utf8', start, end) });
      at = end;
      continue;
    }
    // a chunked body ends with the last chunk and its empty line
    const last = bytes.indexOf('\r\n0\r\n\r\n', start - 2);
    if (last < 0) return out;
    const end = last + 7;
    const { data, ended } = dechunk(bytes.subarray(start, end));
    assert.ok(ended);
    out.push({ head, body: data });
    at = end;
  }
}

async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 20) {
    assert.ok(waited < 10_000, 'the responses came');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function events(lines: string): { type: string; object: { metadata: { name: string } } }[] {
  return lines
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { type: string; object: { metadata: { name: string } } });
}

describe('watch: the response on the wire', function () {
  let dir: string;
  let store: EmbeddedStore;
  let server: ApiServer;
  let from: string;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-watch-framing-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    server = await startApiServer({ store, token, port: 0 });
    from = await store.currentRevision();
    for (let i = 0; i < OBJECTS; i++) {
      const object = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm-${i}`, namespace: 'default' },
      };
      await store.create(
        configMaps,
        prepareCreate({ ...object, data: { payload: i % 2 ? PAYLOAD : 'small' } }),
      );
    }
  });
  after(async function () {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const path = (): string =>
    `/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=${from}`;
  const expected = Array.from({ length: OBJECTS }, (_, i) => `cm-${i}`);

  it('HTTP/1.1: a valid chunked body of every event, ended by the last chunk', async function () {
    const response = await rawExchange(
      server,
      `GET ${path()} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
    );
    const headEnd = response.indexOf('\r\n\r\n');
    const head = response.toString('latin1', 0, headEnd);
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, /^transfer-encoding: chunked$/im);
    const { data, ended } = dechunk(response.subarray(headEnd + 4));
    assert.ok(ended, 'the stream ended with the last chunk');
    const received = events(data);
    assert.deepEqual(
      received.map((e) => e.object.metadata.name),
      expected,
    );
    assert.ok(received.every((e) => e.type === 'ADDED'));
  });

  it('HTTP/1.1: the connection serves the requests sent after a watch, pipelined or once it ended', async function () {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (data: Buffer) => received.push(data));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const request = (target: string): string =>
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`;
    const one = '/api/v1/namespaces/default/configmaps/cm-0';
    // a watch, and a request sent before it ends; then, on the same connection, another of each
    socket.write(request(path()) + request(one));
    await until(() => responses(Buffer.concat(received)).length === 2);
    socket.write(request(path()) + request(one));
    await until(() => responses(Buffer.concat(received)).length === 4);
    socket.destroy();
    const [watch, get, watchAgain, getAgain] = responses(Buffer.concat(received));
    for (const { body } of [watch!, watchAgain!])
      assert.deepEqual(
        events(body).map((e) => e.object.metadata.name),
        expected,
      );
    for (const { body } of [get!, getAgain!]) assert.equal(JSON.parse(body).metadata.name, 'cm-0');
  });

  it('HTTP/1.0: the plain lines, ended by closing the connection', async function () {
    const response = await rawExchange(
      server,
      `GET ${path()} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    const headEnd = response.indexOf('\r\n\r\n');
    const head = response.toString('latin1', 0, headEnd);
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(head, /transfer-encoding/i);
    const received = events(response.toString('utf8', headEnd + 4));
    assert.deepEqual(
      received.map((e) => e.object.metadata.name),
      expected,
    );
  });
});
