// The client side of bench/api.ts, run in a worker thread so the load generator does not take the
// server's CPU: N concurrent HTTPS clients with a bearer token, each in a closed loop of one
// request kind, over keep-alive connections or a new TLS connection per request.
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { createSecureContext, type TLSSocket } from 'node:tls';

export type Operation =
  'create-configmap' | 'create-pvc' | 'get-configmap' | 'list-configmaps' | 'patch-configmap' | 'patch-pvc';

export interface LoadSpec {
  url: string;
  token: string;
  ca: string;
  operation: Operation;
  clients: number;
  seconds: number;
  /** A new TLS connection for every request; `resume` offers the previous session's ticket. */
  connection: 'keep-alive' | 'new' | 'new-resumed';
  /** Names of objects to get and patch (created beforehand). */
  existing: number;
  /** Makes created names unique across runs. */
  prefix: string;
}

export interface LoadResult {
  operations: number;
  seconds: number;
  failures: number;
  firstFailure?: string;
  /** TLS connections opened, and how many of them resumed a session. */
  connections: number;
  resumed: number;
  /** Latency of each request in ms, ascending. */
  latencies: number[];
  /** The clients' own CPU time (user + system) per request, µs. */
  clientCpuMicros: number;
}

const NAMESPACE = '/api/v1/namespaces/default';

function configMap(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels: { app: 'bench' } },
    data: { payload: 'x'.repeat(200) },
  });
}

function claim(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, labels: { app: 'bench' } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'none',
    },
  });
}

/** The request of operation number `i` of client `c`. */
function requestOf(
  spec: LoadSpec,
  c: number,
  i: number,
): { method: string; path: string; body?: string; type?: string } {
  const old = `seed-${(c * 7919 + i) % Math.max(1, spec.existing)}`;
  switch (spec.operation) {
    case 'create-configmap':
      return { method: 'POST', path: `${NAMESPACE}/configmaps`, body: configMap(`${spec.prefix}-${c}-${i}`) };
    case 'create-pvc':
      return {
        method: 'POST',
        path: `${NAMESPACE}/persistentvolumeclaims`,
        body: claim(`${spec.prefix}-${c}-${i}`),
      };
    case 'get-configmap':
      return { method: 'GET', path: `${NAMESPACE}/configmaps/${old}` };
    case 'list-configmaps':
      return { method: 'GET', path: `${NAMESPACE}/configmaps?limit=50` };
    case 'patch-configmap':
      return {
        method: 'PATCH',
        path: `${NAMESPACE}/configmaps/${old}`,
        body: JSON.stringify({ data: { counter: String(i) } }),
        type: 'application/merge-patch+json',
      };
    case 'patch-pvc':
      return {
        method: 'PATCH',
        path: `${NAMESPACE}/persistentvolumeclaims/${old}`,
        body: JSON.stringify({ metadata: { labels: { counter: String(i) } } }),
        type: 'application/merge-patch+json',
      };
  }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const keepAlive = spec.connection === 'keep-alive';
  const agent = new Agent({
    keepAlive,
    maxSockets: spec.clients,
    // one context for every connection, as berth's own client keeps one: otherwise each new
    // connection parses the CA again, a fifth of the client's CPU per handshake
    secureContext: createSecureContext({ ca: spec.ca }),
    // A client that resumes keeps the last session; one that does not keeps none.
    maxCachedSessions: spec.connection === 'new' ? 0 : 100,
  });
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  const sockets = new WeakSet<object>();
  let connections = 0;
  let resumed = 0;
  const send = (c: number, i: number) =>
    new Promise<void>((resolve) => {
      const r = requestOf(spec, c, i);
      const headers: Record<string, string> = {
        authorization: `Bearer ${spec.token}`,
        accept: 'application/json',
      };
      if (r.body) headers['content-type'] = r.type ?? 'application/json';
      const started = performance.now();
      const req = request(`${spec.url}${r.path}`, { method: r.method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          latencies.push(performance.now() - started);
          const status = res.statusCode ?? 0;
          if (status >= 300) {
            failures++;
            firstFailure ??= `${r.method} ${r.path}: ${status} ${Buffer.concat(chunks).toString().slice(0, 200)}`;
          }
          resolve();
        });
      });
      req.on('socket', (socket: TLSSocket) => {
        if (sockets.has(socket)) return;
        sockets.add(socket);
        connections++;
        socket.once('secureConnect', () => {
          if (socket.isSessionReused()) resumed++;
        });
      });
      req.on('error', (err) => {
        failures++;
        firstFailure ??= `${r.method} ${r.path}: ${err.message}`;
        resolve();
      });
      if (!keepAlive) req.shouldKeepAlive = false;
      req.end(r.body);
    });
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + spec.seconds * 1000;
  await Promise.all(
    Array.from({ length: spec.clients }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) await send(c, i);
    }),
  );
  agent.destroy();
  const used = process.cpuUsage(cpu);
  const result: LoadResult = {
    clientCpuMicros: (used.user + used.system) / Math.max(1, latencies.length),
    operations: latencies.length,
    seconds: (performance.now() - started) / 1000,
    failures,
    connections,
    resumed,
    latencies: latencies.sort((a, b) => a - b),
  };
  if (firstFailure) result.firstFailure = firstFailure;
  return result;
}
