// A benchmark's client of a berth API server: plain HTTPS with the kubeconfig's bearer token and
// CA over kept-alive connections (so the figures measure the server, not a client library), the
// create that counts 409 as done, paged lists, and a watch that follows which claims are Bound.
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';

/** The parts of an API answer the benchmarks read. */
export interface Answer {
  items: { metadata?: { name?: string }; status?: { phase?: string } }[];
  metadata: { resourceVersion: string; continue?: string };
}

export interface Api {
  url: string;
  call(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: Answer }>;
  close(): void;
}

export interface Credentials {
  token: string;
  ca: Buffer;
}

export async function readCredentials(kubeconfigPath: string): Promise<Credentials> {
  const kubeconfig = JSON.parse(await readFile(kubeconfigPath, 'utf8'));
  return {
    token: kubeconfig.users[0].user.token,
    ca: Buffer.from(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'base64'),
  };
}

export function connectApi(credentials: Credentials, url: string, maxSockets: number): Api {
  const agent = new Agent({ keepAlive: true, maxSockets, ca: credentials.ca });
  const headers = { authorization: `Bearer ${credentials.token}`, 'content-type': 'application/json' };
  const once = (method: string, apiPath: string, body?: unknown) =>
    new Promise<{ status: number; body: Answer }>((resolve, reject) => {
      const req = request(`${url}${apiPath}`, { method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : {}) as Answer });
        });
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  return {
    url,
    // A kept-alive connection the server closed as idle just as it was reused: send again (every
    // request here may be repeated: a repeated create answers 409, which counts as done).
    call: (method, apiPath, body) =>
      once(method, apiPath, body).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ECONNRESET') throw err;
        return once(method, apiPath, body);
      }),
    close: () => agent.destroy(),
  };
}

/** POSTs until created (409: created by an earlier try); 429 and 5xx are retried after 100 ms. */
export async function createObject(api: Api, apiPath: string, body: unknown): Promise<void> {
  for (;;) {
    const res = await api.call('POST', apiPath, body);
    if (res.status === 201 || res.status === 409) return;
    if (res.status !== 429 && res.status < 500)
      throw new Error(`POST ${apiPath}: ${res.status} ${JSON.stringify(res.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs `work(0..count-1)` from `clients` concurrent loops. */
export async function inParallel(
  count: number,
  clients: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** Lists every object of a collection with limit=500 pages; returns the items and the list's revision. */
export async function listAll(
  api: Api,
  apiPath: string,
): Promise<{ items: Answer['items']; resourceVersion: string }> {
  const items: Answer['items'] = [];
  let token = '';
  let resourceVersion = '';
  do {
    const res = await api.call(
      'GET',
      `${apiPath}?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
    );
    if (res.status !== 200) throw new Error(`list ${apiPath}: ${res.status}`);
    items.push(...res.body.items);
    resourceVersion ||= res.body.metadata.resourceVersion;
    token = res.body.metadata.continue ?? '';
  } while (token);
  return { items, resourceVersion };
}

/** The store's revision now (a one-item list's resourceVersion). */
export async function currentRevision(api: Api): Promise<number> {
  const res = await api.call('GET', '/api/v1/namespaces?limit=1');
  return Number(res.body.metadata.resourceVersion);
}

/**
 * Follows the claims of a namespace from `resourceVersion` until `expected` of them are Bound at
 * the same time; resolves with when each was first seen Bound (performance.now()). One watch
 * stream; if it ends early, it is opened again from the last revision seen.
 */
export function untilClaimsBound(
  credentials: Credentials,
  url: string,
  namespace: string,
  resourceVersion: string,
  expected: number,
): { done: Promise<Map<string, number>> } {
  const bound = new Set<string>();
  const firstBound = new Map<string, number>();
  let revision = resourceVersion;
  const done = new Promise<Map<string, number>>((resolve, reject) => {
    let finished = false;
    const onEvent = (line: string, stream: ReturnType<typeof request>): void => {
      const event = JSON.parse(line) as {
        type: string;
        object: { metadata: { name: string; resourceVersion: string }; status?: { phase?: string } };
      };
      if (event.type === 'ERROR') {
        finished = true;
        stream.destroy();
        return reject(new Error(`watch failed: ${line}`));
      }
      revision = event.object.metadata.resourceVersion;
      if (event.type === 'BOOKMARK') return;
      const name = event.object.metadata.name;
      if (event.type !== 'DELETED' && event.object.status?.phase === 'Bound') {
        bound.add(name);
        if (!firstBound.has(name)) firstBound.set(name, performance.now());
      } else bound.delete(name);
      if (bound.size >= expected) {
        finished = true;
        stream.destroy();
        resolve(firstBound);
      }
    };
    const open = (): void => {
      const path = `/api/v1/namespaces/${namespace}/persistentvolumeclaims?watch=true&allowWatchBookmarks=true&resourceVersion=${revision}`;
      const stream = request(
        `${url}${path}`,
        { ca: credentials.ca, headers: { authorization: `Bearer ${credentials.token}` } },
        (res) => {
          let buffered = '';
          res.on('data', (chunk: Buffer) => {
            buffered += chunk.toString();
            let newline: number;
            while (!finished && (newline = buffered.indexOf('\n')) >= 0) {
              const line = buffered.slice(0, newline);
              buffered = buffered.slice(newline + 1);
              if (line.trim()) onEvent(line, stream);
            }
          });
          res.on('end', () => {
            if (!finished) open();
          });
        },
      );
      stream.on('error', () => {
        if (!finished) setTimeout(open, 100);
      });
      stream.end();
    };
    open();
  });
  return { done };
}
