// RestClient against a real local HTTP server that plays the API server's part.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isStatusError } from '../../../src/api/errors.js';
import { kindFor } from '../../../src/api/kinds.js';
import { RestClient, resourcePath } from '../../../src/client/rest.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('client RestClient', function () {
  let server: Server;
  let handler: Handler;
  let client: RestClient;
  const seen: { url: string; headers: IncomingMessage['headers']; method: string; body: string }[] = [];
  const pvc = kindFor('v1', 'PersistentVolumeClaim')!;
  const sc = kindFor('storage.k8s.io/v1', 'StorageClass')!;

  before(async function () {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, method: req.method ?? '', body });
        handler(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new RestClient({
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      token: 'tok',
    });
  });

  after(async function () {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(function () {
    seen.length = 0;
  });

  it('builds Kubernetes REST paths', function () {
    assert.equal(resourcePath(pvc, 'ns', 'a'), '/api/v1/namespaces/ns/persistentvolumeclaims/a');
    assert.equal(resourcePath(pvc), '/api/v1/persistentvolumeclaims');
    assert.equal(resourcePath(sc, 'ignored', 'fast'), '/apis/storage.k8s.io/v1/storageclasses/fast');
  });

  it('sends the token and a merge patch, and turns a Status into a StatusError', async function () {
    handler = (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          code: 404,
          message: 'persistentvolumeclaims "a" not found',
        }),
      );
    };
    await assert.rejects(
      client.patch(pvc, 'ns', 'a', { metadata: { labels: { x: 'y' } } }),
      (err: unknown) => {
        return isStatusError(err, 'NotFound') && err.message === 'persistentvolumeclaims "a" not found';
      },
    );
    assert.equal(seen[0]?.headers.authorization, 'Bearer tok');
    assert.equal(seen[0]?.headers['content-type'], 'application/merge-patch+json');
    assert.equal(seen[0]?.method, 'PATCH');
  });

  it("fills in a listed item's apiVersion and kind, which the server leaves out of a built-in kind's items", async function () {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'PersistentVolumeClaimList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '7', continue: 'next' },
          items: [
            { metadata: { name: 'a' }, spec: {} },
            // an item that names them (a custom resource's list) keeps its own
            { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'b' } },
          ],
        }),
      );
    };
    const list = await client.list(pvc, { namespace: 'ns', limit: 2 });
    assert.deepEqual(list.items, [
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'a' }, spec: {} },
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'b' } },
    ]);
    assert.deepEqual(Object.keys(list.items[0]!), ['apiVersion', 'kind', 'metadata', 'spec']);
    assert.equal(list.resourceVersion, '7');
    assert.equal(list.continue, 'next');
    const classes = await client.list(sc);
    assert.equal(classes.items[0]!.apiVersion, 'storage.k8s.io/v1');
    assert.equal(classes.items[0]!.kind, 'StorageClass');
  });

  it('asks for a Table and drops wide columns unless asked', async function () {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          apiVersion: 'meta.k8s.io/v1',
          kind: 'Table',
          columnDefinitions: [
            { name: 'Name', type: 'string' },
            { name: 'VolumeMode', type: 'string', priority: 1 },
          ],
          rows: [{ cells: ['a', 'Filesystem'] }],
        }),
      );
    };
    const narrow = await client.getTable(pvc, 'ns', undefined, { labelSelector: 'app=x' });
    assert.deepEqual(narrow.rows[0]?.cells, ['a']);
    assert.match(String(seen[0]?.headers.accept), /as=Table;v=v1;g=meta\.k8s\.io/);
    assert.equal(seen[0]?.url, '/api/v1/namespaces/ns/persistentvolumeclaims?labelSelector=app%3Dx');
    const wide = await client.getTable(pvc, 'ns', 'a', { wide: true });
    assert.deepEqual(wide.rows[0]?.cells, ['a', 'Filesystem']);
  });

  it('resumes a watch the server ended from the last revision it delivered', async function () {
    let calls = 0;
    handler = (req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      const rv = new URL(req.url ?? '/', 'http://x').searchParams.get('resourceVersion');
      const obj = (name: string, v: string): unknown => ({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, resourceVersion: v },
      });
      if (calls === 1) {
        // Two events split across writes, then the server ends the watch (its timeout).
        res.write(JSON.stringify({ type: 'ADDED', object: obj('a', '5') }) + '\n' + '{"type":"MOD');
        res.end('IFIED","object":' + JSON.stringify(obj('a', '6')) + '}\n');
      } else if (rv === '6') {
        res.write(
          JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '8' } } }) + '\n',
        );
        res.end(JSON.stringify({ type: 'DELETED', object: obj('a', '9') }) + '\n');
      } else {
        res.end(
          JSON.stringify({
            type: 'ERROR',
            object: {
              kind: 'Status',
              code: 410,
              reason: 'Expired',
              message: `too old resource version: ${rv}`,
            },
          }) + '\n',
        );
      }
    };
    const events: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of client.watch(pvc, { namespace: 'ns', resourceVersion: '4' })) {
          events.push(`${event.type} ${event.object.metadata.resourceVersion}`);
        }
      })(),
      (err: unknown) => isStatusError(err, 'Expired') && err.code === 410 && err.message.includes('9'),
    );
    assert.deepEqual(events, ['ADDED 5', 'MODIFIED 6', 'DELETED 9']);
    assert.match(seen[0]?.url ?? '', /watch=true/);
    assert.match(seen[0]?.url ?? '', /resourceVersion=4/);
    assert.match(seen[1]?.url ?? '', /resourceVersion=6/);
  });

  it('stops a watch when its signal aborts', async function () {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(
        JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '1' } } }) + '\n',
      );
      // ...and keeps the stream open.
    };
    const stop = new AbortController();
    const events: string[] = [];
    for await (const event of client.watch(pvc, { signal: stop.signal })) {
      events.push(event.type);
      stop.abort();
    }
    assert.deepEqual(events, ['ADDED']);
  });
});
