// A benchmark's client of a berth API server: plain HTTPS with the kubeconfig's bearer token and
// CA over kept-alive connections (so the figures measure the server, not a client library), the
// create that counts 409 as done, paged lists, and a watch that follows which claims are Bound.
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';

/** The parts of an API answer the benchmarks read. */
export interface Answer {
  items: { metadata?: { name?: string; namespace?: string }; status?: { phase?: string } }[];
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

/** Network failures of one request that a repeat may cure (the server is busy, restarting or closed an idle connection). */
const TRANSIENT = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);
const MAX_TRIES = 8;

/** Exponential back-off with jitter: about 50 ms doubling to 5 s. */
export function backOffMs(attempt: number): number {
  return Math.min(50 * 2 ** attempt, 5_000) * (0.5 + Math.random() / 2);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function connectApi(credentials: Credentials, url: string, maxSockets: number): Api {
  const agent = new Agent({ keepAlive: true, maxSockets, ca: credentials.ca });
  const headers = { authorization: `Bearer ${credentials.token}`, 'content-type': 'application/json' };
  const once = (method: string, apiPath: string, body?: unknown) =>
    new Promise<{ status: number; body: Answer }>((resolve, reject) => {
      const req = request(`${url}${apiPath}`, { method, agent, headers }, (res) => {
        // the body read as text as it arrives (a UTF-8 decoder keeps characters split between
        // chunks whole): one copy of a page, where collecting the chunks, joining them and
        // decoding the joined bytes made two of half a megabyte each
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (chunk: string) => (text += chunk));
        // a connection cut mid-answer ("aborted") fails the request instead of the process
        res.on('error', reject);
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : {}) as Answer });
          } catch {
            reject(
              new Error(`${method} ${apiPath}: ${res.statusCode} answered non-JSON: ${text.slice(0, 200)}`),
            );
          }
        });
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  return {
    url,
    // Every request here may be repeated (a repeated create answers 409, which counts as done), so
    // network failures ("socket hang up", a reset kept-alive connection) are sent again after a
    // back-off; after MAX_TRIES the error names the request.
    call: async (method, apiPath, body) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(method, apiPath, body);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (!code || !TRANSIENT.has(code) || attempt >= MAX_TRIES) {
            throw new Error(
              `${method} ${url}${apiPath} failed after ${attempt} tries: ${(err as Error).message}`,
              {
                cause: err,
              },
            );
          }
          await sleep(backOffMs(attempt));
        }
      }
    },
    close: () => agent.destroy(),
  };
}

/** POSTs until created (409: created by an earlier try); 429 and 5xx are retried with back-off. */
export async function createObject(api: Api, apiPath: string, body: unknown): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const res = await api.call('POST', apiPath, body);
    if (res.status === 201 || res.status === 409) return;
    if (res.status !== 429 && res.status < 500)
      throw new Error(`POST ${apiPath}: ${res.status} ${JSON.stringify(res.body)}`);
    await sleep(backOffMs(Math.min(attempt, 4)));
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

/** What paging through a list saw: its items counted, its pages, and the list's revision. */
export interface PagedList {
  count: number;
  pages: number;
  resourceVersion: string;
}

/**
 * Pages through a collection with limit=500 as a paging client does (kubectl --chunk-size=500):
 * each page is parsed whole and handed to `onPage`, then dropped, so that only what `onPage`
 * keeps stays alive. Checked on the way: every page answers 200 at the first page's revision
 * with at most 500 items, each continue token is new (a repeated one would loop), and the keys
 * (namespace/name) come in strictly ascending order across pages, as the store orders them: none
 * repeated or out of place.
 */
export async function pageThrough(
  api: Api,
  apiPath: string,
  onPage: (items: Answer['items']) => void = () => {},
): Promise<PagedList> {
  const seenTokens = new Set<string>();
  let token = '';
  let resourceVersion = '';
  let count = 0;
  let pages = 0;
  let lastKey = '';
  do {
    const res = await api.call(
      'GET',
      `${apiPath}?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
    );
    if (res.status !== 200) throw new Error(`list ${apiPath}: ${res.status} ${JSON.stringify(res.body)}`);
    const { items, metadata } = res.body;
    resourceVersion ||= metadata.resourceVersion;
    if (metadata.resourceVersion !== resourceVersion)
      throw new Error(
        `list ${apiPath}: page ${pages + 1} at revision ${metadata.resourceVersion}, not ${resourceVersion}`,
      );
    if (items.length > 500) throw new Error(`list ${apiPath}: page ${pages + 1} has ${items.length} items`);
    for (const item of items) {
      const { name = '', namespace } = item.metadata ?? {};
      const key = namespace ? `${namespace}/${name}` : name;
      if (key <= lastKey) throw new Error(`list ${apiPath}: ${key} after ${lastKey}`);
      lastKey = key;
    }
    count += items.length;
    pages++;
    onPage(items);
    token = metadata.continue ?? '';
    if (seenTokens.has(token)) throw new Error(`list ${apiPath}: continue token repeated: ${token}`);
    seenTokens.add(token);
  } while (token);
  return { count, pages, resourceVersion };
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
): { done: Promise<Map<string, number>>; stop(): void } {
  const bound = new Set<string>();
  const firstBound = new Map<string, number>();
  let revision = resourceVersion;
  let finished = false;
  let current: ReturnType<typeof request> | undefined;
  let failures = 0;
  const done = new Promise<Map<string, number>>((resolve, reject) => {
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
    // a refused or cut watch is opened again from the last revision seen, after a back-off
    const reopenLater = (): void => {
      if (!finished) setTimeout(open, backOffMs(++failures));
    };
    const open = (): void => {
      if (finished) return;
      const path = `/api/v1/namespaces/${namespace}/persistentvolumeclaims?watch=true&allowWatchBookmarks=true&resourceVersion=${revision}`;
      const stream = request(
        `${url}${path}`,
        { ca: credentials.ca, headers: { authorization: `Bearer ${credentials.token}` } },
        (res) => {
          failures = 0;
          let buffered = '';
          res.on('data', (chunk: Buffer) => {
            buffered += chunk.toString();
            let newline: number;
            while (!finished && (newline = buffered.indexOf('\n')) >= 0) {
              const line = buffered.slice(0, newline);
              buffered = buffered.slice(newline + 1);
              try {
                if (line.trim()) onEvent(line, stream);
              } catch (err) {
                finished = true;
                stream.destroy();
                reject(new Error(`watch sent an unreadable event: ${line.slice(0, 200)}`, { cause: err }));
              }
            }
          });
          res.on('end', () => {
            if (!finished) open();
          });
          res.on('error', reopenLater);
        },
      );
      current = stream;
      stream.on('error', reopenLater);
      stream.end();
    };
    open();
  });
  // a caller that fails before awaiting `done` must not leave its rejection unhandled
  done.catch(() => undefined);
  return {
    done,
    stop: () => {
      finished = true;
      current?.destroy();
    },
  };
}
