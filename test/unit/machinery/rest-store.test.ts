// RestStore over a scripted transport: bookmarks move the resume point without being delivered,
// a write whose connection dropped mid-request is not repeated elsewhere, the requests about one object
// go to one server, and the pure helpers.
import assert from 'node:assert/strict';
import { kindNamed } from '../../../src/api/kinds.js';
import { ApiUnreachableError } from '../../../src/client/errors.js';
import type { FetchFn, FetchResponse } from '../../../src/client/transport.js';
import { connectionFailure } from '../../../src/machinery/api-servers.js';
import { RestStore, deletedObject } from '../../../src/machinery/rest-store.js';
import type { WatchEvent } from '../../../src/store/types.js';

const CM = kindNamed('ConfigMap');

function streamed(lines: string[], signal?: AbortSignal, hold = false): FetchResponse {
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const line of lines) yield new TextEncoder().encode(`${line}\n`);
    if (hold)
      await new Promise<void>((_, reject) =>
        signal?.addEventListener('abort', () =>
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
        ),
      );
  }
  return {
    ok: true,
    status: 200,
    body: body(),
    text: async () => lines.join('\n'),
    arrayBuffer: async () => new ArrayBuffer(0),
  };
}

function refused(url: string): Error {
  return new ApiUnreachableError(
    url,
    Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  );
}

describe('RestStore over a scripted transport', function () {
  it('resumes a watch from a bookmark, which it does not deliver', async function () {
    const urls: string[] = [];
    const fetchFn: FetchFn = async (input, init) => {
      urls.push(input);
      if (urls.length === 1)
        return streamed([
          '{"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"100"}}}',
        ]);
      const added = {
        type: 'ADDED',
        object: { kind: 'ConfigMap', metadata: { name: 'a', resourceVersion: '101' } },
      };
      return streamed([JSON.stringify(added)], init?.signal, true);
    };
    const store = RestStore.connect({ servers: ['http://api.test'] }, { fetch: fetchFn });
    const events: WatchEvent[] = [];
    const watch = await store.watch(CM, { resourceVersion: '7' }, (e) => events.push(e));
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    watch.stop();
    assert.deepEqual(
      events.map((e) => `${e.type}:${e.object.metadata.name}`),
      ['ADDED:a'],
    );
    const first = new URL(urls[0]!);
    const second = new URL(urls[1]!);
    assert.equal(first.searchParams.get('allowWatchBookmarks'), 'true');
    assert.equal(first.searchParams.get('resourceVersion'), '7');
    assert.equal(second.searchParams.get('resourceVersion'), '100');
  });

  it('sends a create to the next server only when the first refused the connection', async function () {
    const asked: string[] = [];
    // d/b is one of the objects whose requests go to the first server
    const created = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'd' } };
    let reset = false;
    const fetchFn: FetchFn = async (input) => {
      asked.push(new URL(input).host);
      if (input.startsWith('http://one')) {
        if (reset) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        throw refused('http://one');
      }
      return { ...streamed([]), text: async () => JSON.stringify(created) };
    };
    const store = RestStore.connect(
      { servers: ['http://one', 'http://two'] },
      { fetch: fetchFn, baseBackoffMs: 0, maxBackoffMs: 0 },
    );
    assert.deepEqual(await store.create(CM, created), created);
    assert.deepEqual(asked, ['one', 'two']);

    reset = true;
    asked.length = 0;
    const again = RestStore.connect(
      { servers: ['http://one', 'http://two'] },
      { fetch: fetchFn, baseBackoffMs: 0, maxBackoffMs: 0 },
    );
    await assert.rejects(again.create(CM, created), (err: Error & { code?: number }) => {
      assert.equal(err.code, 503);
      assert.match(err.message, /failed mid-request .*may or may not have happened/);
      return true;
    });
    assert.deepEqual(asked, ['one'], 'a write that may have happened is not repeated elsewhere');
    // a read is repeated on the next server
    assert.deepEqual(await again.get(CM, 'd', 'b'), created);
  });

  it('sends every request about one object to one server, and spreads objects over every server', async function () {
    const asked: string[] = [];
    const fetchFn: FetchFn = async (input, init) => {
      asked.push(new URL(input).host);
      return { ...streamed([]), text: async () => String(init?.body ?? '{}') };
    };
    const store = RestStore.connect({ servers: ['http://one', 'http://two'] }, { fetch: fetchFn });
    const serverOf = async (name: string): Promise<string> => {
      asked.length = 0;
      const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'd' } };
      await store.create(CM, obj);
      await store.update(CM, { ...obj, data: { x: '1' } });
      await store.get(CM, 'd', name);
      await store.patch(CM, 'd', name, { data: { x: '2' } });
      assert.equal(new Set(asked).size, 1, `every request about ${name} to one server: ${asked.join(', ')}`);
      return asked[0]!;
    };
    const servers = new Set<string>();
    for (let i = 0; i < 20; i++) servers.add(await serverOf(`cm-${i}`));
    assert.deepEqual([...servers].sort(), ['one', 'two']);
  });

  it('refuses a negative or fractional limit as the stores do', async function () {
    const store = RestStore.connect({ servers: ['http://unused'] }, { fetch: async () => streamed([]) });
    await assert.rejects(store.list(CM, { limit: -1 }), /limit must be a non-negative integer, got -1/);
    await assert.rejects(store.list(CM, { limit: 1.5 }), /limit must be a non-negative integer/);
  });
});

describe('connectionFailure', function () {
  it('tells refused connections from ones that may have carried the request', function () {
    assert.equal(connectionFailure(refused('http://x')), 'not-sent');
    assert.equal(connectionFailure(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'maybe-sent');
    assert.equal(connectionFailure(Object.assign(new Error('x'), { name: 'AbortError' })), 'maybe-sent');
    assert.equal(connectionFailure(new Error('something else')), undefined);
  });
});

describe('deletedObject', function () {
  it('is the answered object, or the name and uid a Status carries', function () {
    const obj = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', namespace: 'd', resourceVersion: '3' },
    };
    assert.equal(deletedObject(CM, 'd', 'a', obj), obj);
    assert.deepEqual(
      deletedObject(CM, 'd', 'a', { kind: 'Status', status: 'Success', details: { uid: 'u1' } }),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'a', namespace: 'd', uid: 'u1' },
      },
    );
  });
});
