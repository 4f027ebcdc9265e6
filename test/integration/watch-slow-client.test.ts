// A watcher that stops reading is cut off once the bytes waiting for it pass the limit, instead
// of the server buffering every later event for it; a watcher that reads gets every event.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindFor } from '../../src/api/kinds.js';
import { prepareCreate } from '../../src/api/validate.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';

const token = 'watch-test-token';
const MAX_BUFFERED = 256 * 1024;
const PAYLOAD = 'x'.repeat(100 * 1024);
// far more than the kernel's socket buffers on both ends can hold
const OBJECTS = 250;

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(condition(), `waited for ${what}`);
}

describe('watch: a client that stops reading', function () {
  let dir: string;
  let store: EmbeddedStore;
  let server: ApiServer;
  const cutOffs: number[] = [];

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-watch-slow-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    server = await startApiServer({
      store,
      token,
      port: 0,
      // only the byte limit may cut off here: the grace period is longer than any test run
      watchLimits: {
        maxBufferedBytes: MAX_BUFFERED,
        softBufferedBytes: MAX_BUFFERED,
        slowGraceMs: 3_600_000,
      },
      log: (line) => {
        const bytes = /watch cut off: the client left (\d+) bytes unread/.exec(line)?.[1];
        if (bytes) cutOffs.push(Number(bytes));
      },
    });
  });
  after(async function () {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is closed with its backlog bounded, while a reading watcher gets every event', async function () {
    const path =
      '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=' + (await store.currentRevision());
    // The stalled client: sends the request, then never reads.
    const { port } = new URL(server.url);
    const stalled: Socket = connect(Number(port), '127.0.0.1');
    let stalledClosed = false;
    stalled.on('close', () => (stalledClosed = true));
    stalled.on('error', () => undefined);
    await new Promise<void>((resolve) => stalled.once('connect', () => resolve()));
    stalled.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    stalled.pause();

    const reader = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(reader.status, 200);
    await until('both watches to be open', () => store.stats().watchers === 2);

    // The reading watcher reads while the objects are written (each write waits until it has
    // read the one before, so it is never behind), and sees every one.
    let events = 0;
    const reading = (async () => {
      const body = reader.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (events < OBJECTS) {
        const { value, done } = await body.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        const lines = text.split('\n');
        text = lines.pop()!;
        events += lines.length;
      }
      await body.cancel();
      return events;
    })();
    const configMaps = kindFor('v1', 'ConfigMap')!;
    for (let i = 0; i < OBJECTS; i++) {
      const object = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `big-${i}`, namespace: 'default' },
      };
      await store.create(configMaps, prepareCreate({ ...object, data: { payload: PAYLOAD } }));
      await until(`the reader to see object ${i}`, () => events > i);
    }
    assert.equal(await reading, OBJECTS);

    // The stalled one was cut off, holding at most the limit and one event.
    await until('the stalled watch to be cut off', () => cutOffs.length === 1);
    assert.ok(cutOffs[0]! <= MAX_BUFFERED + PAYLOAD.length + 1024, `${cutOffs[0]} bytes were waiting`);
    await until('both watches to end in the store', () => store.stats().watchers === 0);
    stalled.resume();
    await until('the stalled connection to close', () => stalledClosed);
  });
});
