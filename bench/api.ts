// API throughput and latency: N concurrent HTTPS clients with the kubeconfig's bearer token doing
// creates, gets, lists and merge patches of ConfigMaps and PVCs against `startApiServer` over the
// embedded store, over keep-alive connections and with a new TLS connection per request (as
// scripts and kubectl do; with and without offering a session ticket). Beside them, in the same
// run, the raw store's acknowledged writes/s with as many concurrent writers, and a bare node:https
// server answering the same creates with an echo, so the figures show the API's own cost. The
// clients run in a child process, so this process's CPU time is the server's: CPU per request is
// printed too, the steadier figure when other work shares the cores, with the event loop's share
// (what caps the rate: the store's fsyncs and V8's helpers run on other threads) and the clients'.
//   node --import tsx bench/api.ts [--clients 50] [--seconds 3] [--seed 500] [--only get-configmap|...]
//     [--profile FILE.cpuprofile]   (with --only: a CPU profile of the server during that load alone;
//     --new with --only create-configmap: a new TLS connection per request, --resumed: one that
//     resumes the client's last session; --bare: against the bare node:https server instead)
//     [--from-dist]   (the server runs the build, `npm run build` first, as an installed berth does:
//     through tsx every function expression also gets a name assigned at run time, a third of the
//     API's own CPU per create)
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type * as KindsModule from '../src/api/kinds.js';
import type { KubeObject } from '../src/api/meta.js';
import type * as ValidateModule from '../src/api/validate.js';
import type * as ApiServerModule from '../src/apiserver/index.js';
import type * as EmbeddedModule from '../src/store/embedded.js';
import type { LoadResult, LoadSpec, Operation } from './helpers/api-load.js';
import { runLoad } from './helpers/api-load.js';
import { startBareHttpsServer } from './helpers/bare-https.js';
import { mainThreadCpuSeconds } from './helpers/process-stats.js';
import { booleanFlag, machineLine, numberFlag, percentile } from './helpers/flags.js';

const CLIENTS = numberFlag('clients', 50);
const SECONDS = numberFlag('seconds', 3);
const SEED = numberFlag('seed', 500);
const GOAL_CREATES = 6_000;
const GOAL_P99_MS = 25;
const GOAL_NEW_CONNECTION = 800;
const FROM_DIST = booleanFlag('from-dist');

/** The server's code: the sources through tsx, or with --from-dist the build. */
async function serverCode(relative: string): Promise<unknown> {
  if (!FROM_DIST) return import(`../src/${relative}.js`);
  const built = new URL(`../dist/${relative}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(built)))
    throw new Error('--from-dist: dist/ is missing; run `npm run build` first');
  return import(built.href);
}
const { kinds } = (await serverCode('api/kinds')) as typeof KindsModule;
const { prepareCreate } = (await serverCode('api/validate')) as typeof ValidateModule;
const { ensureCredentials, startApiServer } = (await serverCode('apiserver/index')) as typeof ApiServerModule;
const { openEmbeddedStore } = (await serverCode('store/embedded')) as typeof EmbeddedModule;

const configMaps = kinds.find((k) => k.kind === 'ConfigMap')!;
const claims = kinds.find((k) => k.kind === 'PersistentVolumeClaim')!;

function configMap(name: string, namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { app: 'bench' } },
    data: { payload: 'x'.repeat(200) },
  };
}

function claim(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'none',
    },
  };
}

interface Measured extends LoadResult {
  /** This process's CPU time (user + system) per operation, µs. */
  cpuMicros: number;
  /** Its main thread's (the event loop's) CPU time per operation, µs: what caps the rate. */
  loopMicros: number;
  /** The server's longest event-loop stall during the load, ms (a request waits at least that long). */
  stallMs: number;
  /** Store writes per log flush (write + fdatasync) during the load; 0 when nothing was written. */
  writesPerFlush: number;
}

/** The API server's store, whose log flushes each load counts. */
let walOf: () => { batches: number; records: number } = () => ({ batches: 0, records: 0 });

/**
 * Watches this process's event loop: the longest delay of a 10 ms libuv timer. A JavaScript
 * interval every 5 ms cost the server 20 ms CPU a second at load 13, which CPU per request counted.
 */
function stallWatch(): () => number {
  const delays = monitorEventLoopDelay({ resolution: 10 });
  delays.enable();
  return () => {
    delays.disable();
    return delays.max / 1e6;
  };
}

/** Runs the load in a child process and measures this process's CPU time meanwhile. */
async function load(spec: LoadSpec): Promise<Measured> {
  const child = fork(fileURLToPath(import.meta.url), ['--load-child'], { execArgv: ['--import', 'tsx'] });
  const ready = new Promise<void>((resolve) => child.once('message', () => resolve()));
  const done = new Promise<LoadResult>((resolve, reject) => {
    child.on('message', (message: LoadResult | 'ready') => message !== 'ready' && resolve(message));
    child.once('exit', (code) => reject(new Error(`load child exited with ${code}`)));
  });
  await ready; // the child has compiled its code: what follows is the load alone
  const wal = walOf();
  const cpu = process.cpuUsage();
  const loop = mainThreadCpuSeconds(process.pid);
  const stalls = stallWatch();
  child.send(spec);
  const result = await done;
  const used = process.cpuUsage(cpu);
  const loopUsed = mainThreadCpuSeconds(process.pid) - loop;
  const stallMs = stalls();
  const { batches, records } = walOf();
  const writesPerFlush = batches > wal.batches ? (records - wal.records) / (batches - wal.batches) : 0;
  return {
    ...result,
    cpuMicros: (used.user + used.system) / Math.max(1, result.operations),
    loopMicros: (loopUsed * 1e6) / Math.max(1, result.operations),
    stallMs,
    writesPerFlush,
  };
}

/** With --profile FILE, profiles this process (the server) until the returned function is called. */
async function startProfile(): Promise<() => Promise<void>> {
  const at = process.argv.indexOf('--profile');
  const file = at > 0 ? process.argv[at + 1] : undefined;
  if (!file) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  };
}

async function rawStoreWrites(dir: string, writers: number): Promise<{ rate: number; cpuMicros: number }> {
  const store = await openEmbeddedStore({ dataDir: dir });
  let count = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        await store.create(configMaps, configMap(`w${w}-${i}`, 'bench'));
        count++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  return { rate: count / seconds, cpuMicros: (used.user + used.system) / Math.max(1, count) };
}

function rateOf(result: LoadResult): number {
  return result.operations / result.seconds;
}

function line(name: string, result: Measured, extra = ''): void {
  const failed = result.failures ? ` FAILURES ${result.failures}: ${result.firstFailure}` : '';
  console.log(
    `${name.padEnd(42)} ${rateOf(result).toFixed(0).padStart(6)}/s  p50 ${percentile(result.latencies, 50).toFixed(1)}` +
      ` p99 ${percentile(result.latencies, 99).toFixed(1)} ms  server CPU ${result.cpuMicros.toFixed(0)} µs/req` +
      ` (event loop ${result.loopMicros.toFixed(0)})` +
      ` (clients ${result.clientCpuMicros.toFixed(0)})` +
      `, longest stall ${result.stallMs.toFixed(0)} ms` +
      (result.writesPerFlush ? `, ${result.writesPerFlush.toFixed(1)} writes/flush` : '') +
      `  ${result.connections} conn (${result.resumed} resumed)${extra}${failed}`,
  );
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-api-'));
  const store = await openEmbeddedStore({ dataDir: path.join(dir, 'store') });
  const first = await ensureCredentials(dir, 'https://127.0.0.1:0');
  const server = await startApiServer({ store, token: first.token, tls: first.tls, port: 0 });
  walOf = () => ({ batches: store.stats().walBatches, records: store.stats().walRecords });
  try {
    const { kubeconfigPath } = await ensureCredentials(dir, server.url);
    const kubeconfig = JSON.parse(await readFile(kubeconfigPath, 'utf8')) as {
      users: { user: { token: string } }[];
    };
    let runs = 0;
    const spec = (operation: Operation, connection: LoadSpec['connection']): LoadSpec => ({
      url: server.url,
      token: kubeconfig.users[0]!.user.token,
      ca: first.tls.cert,
      operation,
      clients: CLIENTS,
      seconds: SECONDS,
      connection,
      existing: SEED,
      prefix: `r${runs++}`,
    });
    console.log(machineLine());
    console.log(
      `api: ${CLIENTS} clients, ${SECONDS} s per run, ${SEED} seed objects of each kind, HTTPS + token,` +
        ` server from ${FROM_DIST ? 'the build (dist/)' : 'sources through tsx'}`,
    );
    // Objects to get and patch, written straight to the store as the API would have.
    for (let i = 0; i < SEED; i++) {
      await store.create(configMaps, prepareCreate(configMap(`seed-${i}`, 'default')));
      await store.create(claims, prepareCreate(claim(`seed-${i}`)));
    }
    await load({ ...spec('get-configmap', 'keep-alive'), seconds: 1 }); // warms the server's code up
    const only = process.argv.indexOf('--only');
    if (only > 0) {
      // One operation alone, e.g. under --cpu-prof.
      const operation = process.argv[only + 1] as Operation;
      const connection =
        operation !== 'create-configmap'
          ? 'keep-alive'
          : booleanFlag('resumed')
            ? 'new-resumed'
            : booleanFlag('new')
              ? 'new'
              : 'keep-alive';
      const bareServer = booleanFlag('bare') ? await startBareHttpsServer(first.tls) : undefined;
      const stop = await startProfile();
      const result = await load({
        ...spec(operation, connection),
        ...(bareServer ? { url: bareServer.url } : {}),
      });
      await stop();
      await bareServer?.close();
      line(`${operation}, ${connection}${bareServer ? ', bare node:https' : ''}`, result);
      return;
    }

    const rawBefore = await rawStoreWrites(path.join(dir, 'raw-1'), CLIENTS);
    const creates = await load(spec('create-configmap', 'keep-alive'));
    const rawAfter = await rawStoreWrites(path.join(dir, 'raw-2'), CLIENTS);
    const raw = (rawBefore.rate + rawAfter.rate) / 2;
    const rawCpu = (rawBefore.cpuMicros + rawAfter.cpuMicros) / 2;
    const createRate = rateOf(creates);
    const bareServer = await startBareHttpsServer(first.tls);
    const bare = await load({ ...spec('create-configmap', 'keep-alive'), url: bareServer.url });
    const bareFresh = await load({ ...spec('create-configmap', 'new'), url: bareServer.url });
    await bareServer.close();
    const vsBare = (r: Measured, b: Measured): string =>
      `  ${(rateOf(r) / rateOf(b)).toFixed(2)}x bare node:https by rate, ${(b.cpuMicros / r.cpuMicros).toFixed(2)}x by CPU`;
    console.log(
      `raw store, ${CLIENTS} writers: ${raw.toFixed(0)} acked writes/s, CPU ${rawCpu.toFixed(0)} µs/write (before and after the API run)`,
    );
    line(
      'create ConfigMap, keep-alive',
      creates,
      `  ${(createRate / raw).toFixed(2)}x raw store writes/s, ${(rawCpu / creates.cpuMicros).toFixed(2)}x by CPU;` +
        vsBare(creates, bare),
    );
    line('bare node:https echo (baseline), keep-alive', bare);
    line('create PVC, keep-alive', await load(spec('create-pvc', 'keep-alive')));
    line('get ConfigMap, keep-alive', await load(spec('get-configmap', 'keep-alive')));
    line('list ConfigMaps limit=50, keep-alive', await load(spec('list-configmaps', 'keep-alive')));
    line('merge-patch ConfigMap, keep-alive', await load(spec('patch-configmap', 'keep-alive')));
    line('merge-patch PVC, keep-alive', await load(spec('patch-pvc', 'keep-alive')));
    const vsKeepAlive = (r: LoadResult) => `  ${(rateOf(r) / createRate).toFixed(2)}x keep-alive`;
    const fresh = await load(spec('create-configmap', 'new'));
    line('create ConfigMap, new TLS connection each', fresh, vsKeepAlive(fresh) + vsBare(fresh, bareFresh));
    line('bare node:https echo, new TLS connection each', bareFresh);
    const resumed = await load(spec('create-configmap', 'new-resumed'));
    line('create ConfigMap, new connection, resumed', resumed, vsKeepAlive(resumed));
    const p99 = percentile(creates.latencies, 99);
    console.log(
      `summary: ${createRate.toFixed(0)} creates/s keep-alive (goal >= ${GOAL_CREATES}; server CPU allows` +
        ` ${(1e6 / creates.cpuMicros).toFixed(0)}/s per core), p99 ${p99.toFixed(1)} ms (goal < ${GOAL_P99_MS}),` +
        ` ${(createRate / raw).toFixed(2)}x the raw store; new connection per request ${rateOf(fresh).toFixed(0)}/s` +
        ` (goal >= ${GOAL_NEW_CONNECTION}; CPU allows ${(1e6 / fresh.cpuMicros).toFixed(0)}/s per core),` +
        ` resumed ${rateOf(resumed).toFixed(0)}/s; a bare node:https server answers ${rateOf(bare).toFixed(0)}/s` +
        ` keep-alive (${bare.cpuMicros.toFixed(0)} µs/req) and ${rateOf(bareFresh).toFixed(0)}/s new connection` +
        ` (${bareFresh.cpuMicros.toFixed(0)} µs/req) to the same clients`,
    );
  } finally {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--load-child')) {
  process.once('message', (spec: LoadSpec) => {
    void runLoad(spec).then((result) => process.send!(result, () => process.exit(0)));
  });
  process.send!('ready');
} else {
  await main();
}
