// Watch fan-out: N concurrent HTTPS watches of PVCs (spread over --clients child processes) while
// the store takes W writes/s of PVCs (written straight to the store, so the writes cost the API
// nothing). Prints the delivery latency from each write's acknowledgement to its arrival at a
// watcher (p50/p99) beside the same figure for one in-process store watch in the same run, the
// server's CPU time per delivered event (the steadier figure when other work shares the cores),
// the clients' CPU, and the server's heap and RSS while the watches run. Every watcher receives
// every byte and counts every event; the latency is that of a fixed sample of --sampled watchers
// (spread over the connections and the client processes) that JSON-parse every event they get,
// over all their deliveries: the other watchers count events by their line ends, so that the
// clients' own CPU does not starve the server on a small machine.
// With --namespaces K the writes and the watches are spread over K namespaces, so each write
// reaches N/K watchers (K = 1, the default, is the worst case: every watcher gets every write).
//   node --import tsx --expose-gc bench/watch-fanout.ts [--watchers 1000] [--rate 1000] [--seconds 5]
//     [--namespaces 1] [--clients 2] [--sampled 50] [--profile DIR]
// --profile DIR writes CPU profiles of the clients there (run the server with node --cpu-prof).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kinds } from '../src/api/kinds.js';
import type { KubeObject } from '../src/api/meta.js';
import { prepareCreate } from '../src/api/validate.js';
import { ensureCredentials, startApiServer } from '../src/apiserver/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../src/store/embedded.js';
import { machineLine, numberFlag, percentile, stringFlag } from './helpers/flags.js';
import type { WatchLoadReport, WatchLoadSpec } from './helpers/watch-load.js';
import { ArrivalLog, objectName, startWatchers, wallNow } from './helpers/watch-load.js';

const WATCHERS = numberFlag('watchers', 1000);
const RATE = numberFlag('rate', 1000);
const SECONDS = numberFlag('seconds', 5);
const NAMESPACES = Math.max(1, numberFlag('namespaces', 1));
const CLIENTS = Math.max(1, numberFlag('clients', 2));
const SAMPLED = Math.max(1, Math.min(WATCHERS, numberFlag('sampled', 50)));
const PROFILE_DIR = stringFlag('profile');
/** How long delivery may lag behind the last write before the run stops waiting. */
const TAIL_MS = 30_000;
const GOAL_P99_MS = 100;
const claims = kinds.find((k) => k.kind === 'PersistentVolumeClaim')!;
const namespaceOf = (index: number): string => `ns-${index % NAMESPACES}`;
/**
 * The watchers that parse and time their events: SAMPLED of them, evenly spread over the
 * watchers and, by the offset, over the client processes (watcher w is in process w % CLIENTS).
 */
const sampledWatchers = new Set(
  Array.from({ length: SAMPLED }, (_, k) =>
    Math.min(WATCHERS - 1, Math.floor((k * WATCHERS) / SAMPLED) + (k % CLIENTS)),
  ),
);

function claim(index: number, offset: number): KubeObject {
  return prepareCreate({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: objectName(offset + index), namespace: namespaceOf(index) },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'none',
    },
  });
}

/**
 * Writes RATE claims a second for SECONDS, paced in 10 ms steps, named from `offset` on; returns
 * the wall time each write was acknowledged, by its index. Every write is made even when the
 * process falls behind (those due are then written together), so that runs carry the same work.
 */
async function write(store: EmbeddedStore, offset: number): Promise<Float64Array> {
  const acks = new Float64Array(Math.ceil(RATE * SECONDS));
  const started = wallNow();
  let written = 0;
  const pending: Promise<unknown>[] = [];
  while (written < acks.length) {
    const due = Math.min(acks.length, Math.floor(((wallNow() - started) / 1000) * RATE));
    for (; written < due; written++) {
      const index = written;
      pending.push(store.create(claims, claim(index, offset)).then(() => (acks[index] = wallNow())));
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(pending);
  return acks.subarray(0, written);
}

/** Delivery to one in-process store watch of every namespace, from the acknowledgement. */
async function inProcessBaseline(store: EmbeddedStore, offset: number): Promise<number[]> {
  const log = new ArrivalLog(Math.ceil(RATE * SECONDS) + 1);
  const watch = await store.watch(
    claims,
    { resourceVersion: await store.currentRevision(), readOnly: true },
    (event) => log.record(Number(event.object.metadata.name!.slice(2)) - offset, wallNow()),
  );
  const acks = await write(store, offset);
  await new Promise((resolve) => setTimeout(resolve, 200));
  watch.stop();
  return log.latencies(acks, 1).sample;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

interface Client {
  process: ChildProcess;
  next(): Promise<unknown>;
  events: number;
}

function startClient(): Client {
  const profile = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [];
  const child = fork(fileURLToPath(import.meta.url), ['--watch-child'], {
    execArgv: ['--import', 'tsx', ...profile],
  });
  const messages: unknown[] = [];
  let wake: (() => void) | undefined;
  const client: Client = {
    process: child,
    events: 0,
    async next() {
      while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return messages.shift();
    },
  };
  child.on('message', (message) => {
    if (typeof message === 'object' && message !== null && 'progress' in message)
      client.events = (message as { progress: number }).progress;
    else messages.push(message);
    wake?.();
  });
  return client;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-watch-'));
  const store = await openEmbeddedStore({ dataDir: path.join(dir, 'store') });
  const first = await ensureCredentials(dir, 'https://127.0.0.1:0');
  const server = await startApiServer({ store, token: first.token, tls: first.tls, port: 0 });
  const clients = Array.from({ length: CLIENTS }, startClient);
  try {
    console.log(machineLine());
    console.log(
      `watch-fanout: ${WATCHERS} HTTPS watches of PVCs in ${NAMESPACES} namespace(s) from ${CLIENTS} client processes,` +
        ` ${RATE} store writes/s for ${SECONDS} s (each write reaches ${Math.ceil(WATCHERS / NAMESPACES)} watchers)`,
    );
    for (const client of clients) await client.next(); // ready: started before the baseline runs
    const baseline = await inProcessBaseline(store, 10_000_000);
    const perWrite = Math.ceil(WATCHERS / NAMESPACES);
    const expected = Math.ceil(RATE * SECONDS) * perWrite;
    const resourceVersion = await store.currentRevision();
    clients.forEach((client, c) => {
      const namespaces: string[] = [];
      const sampled: boolean[] = [];
      for (let w = c; w < WATCHERS; w += CLIENTS) {
        namespaces.push(namespaceOf(w));
        sampled.push(sampledWatchers.has(w));
      }
      const spec: WatchLoadSpec = {
        url: server.url,
        token: first.token,
        ca: first.tls.cert,
        namespaces,
        sampled,
        resourceVersion,
        capacity: Math.ceil((expected / perWrite) * sampled.filter(Boolean).length * 1.1) + 1000,
      };
      client.process.send(spec);
    });
    for (const client of clients) await client.next(); // every watch is open
    global.gc?.();
    const before = process.memoryUsage();
    let peakRss = 0;
    let peakHeap = 0;
    let peakBuffers = 0;
    const sampler = setInterval(() => {
      const usage = process.memoryUsage();
      peakRss = Math.max(peakRss, usage.rss);
      peakHeap = Math.max(peakHeap, usage.heapUsed);
      peakBuffers = Math.max(peakBuffers, usage.arrayBuffers);
    }, 100);
    const cpu = process.cpuUsage();
    const started = wallNow();
    const windowFrom = process.uptime();
    console.error(`every watch is open; writing for ${SECONDS} s`);
    const acks = await write(store, 0);
    const written = acks.length;
    const target = written * perWrite;
    const tailFrom = wallNow();
    const delivered = () => clients.reduce((sum, c) => sum + c.events, 0);
    while (delivered() < target && wallNow() - tailFrom < TAIL_MS)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const tailMs = wallNow() - tailFrom;
    if (PROFILE_DIR)
      console.log(
        `write phase in the server's profile: --window ${windowFrom.toFixed(1)}-${process.uptime().toFixed(1)}`,
      );
    const elapsedS = (wallNow() - started) / 1000;
    clearInterval(sampler);
    const used = process.cpuUsage(cpu);
    for (const client of clients) client.process.send({ stop: true, acks: Array.from(acks) });
    const reports = (await Promise.all(clients.map((c) => c.next()))) as WatchLoadReport[];
    const events = reports.reduce((sum, r) => sum + r.events, 0);
    const latencies = reports.flatMap((r) => r.sample).sort((a, b) => a - b);
    const errors = reports.flatMap((r) => r.errors);
    const ended = reports.reduce((sum, r) => sum + r.ended, 0);
    const unmatched = reports.reduce((sum, r) => sum + r.unmatched, 0);
    const malformed = reports.reduce((sum, r) => sum + r.malformed, 0);
    const sampledEvents = reports.reduce((sum, r) => sum + r.sampledEvents, 0);
    const clientCpu = reports.reduce((sum, r) => sum + r.cpuMicros, 0);
    const serverCpu = used.user + used.system;
    const p99 = percentile(latencies, 99);
    const baseP99 = percentile(baseline, 99);
    console.log(
      `in-process store watch (baseline): p50 ${percentile(baseline, 50).toFixed(1)} ms, p99 ${baseP99.toFixed(1)} ms, ${baseline.length} events`,
    );
    console.log(
      `${WATCHERS} HTTPS watches: ${events}/${target} events delivered (${(events / elapsedS / 1000).toFixed(0)}k/s),` +
        ` p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms from the write's acknowledgement` +
        ` to the event's JSON.parse at ${sampledWatchers.size} sampled watchers (all ${sampledEvents} of their events; the others count events by line ends)` +
        ` (${(p99 / Math.max(baseP99, 0.001)).toFixed(1)}x the baseline p99; goal < ${GOAL_P99_MS} ms ${p99 < GOAL_P99_MS ? 'ok' : 'MISSED'});` +
        ` last arrival ${tailMs.toFixed(0)} ms after the last write; streams ended early ${ended}` +
        `${unmatched ? `; ${unmatched} arrivals of unknown writes` : ''}${malformed ? `; ${malformed} unexpected events` : ''}${errors.length ? `; errors: ${errors.join('; ')}` : ''}`,
    );
    console.log(
      `CPU: server ${(serverCpu / 1e4 / elapsedS).toFixed(0)}% of a core, ${(serverCpu / Math.max(1, events)).toFixed(2)} µs per delivered event` +
        ` (writes included); clients ${(clientCpu / 1e4 / elapsedS).toFixed(0)}% (${(clientCpu / Math.max(1, events)).toFixed(2)} µs per event)`,
    );
    console.log(
      `server memory: heap ${mib(before.heapUsed)} -> peak ${mib(peakHeap)}, Buffers ${mib(before.arrayBuffers)} -> peak ${mib(peakBuffers)},` +
        ` RSS ${mib(before.rss)} -> peak ${mib(peakRss)}` +
        ` (${((peakRss - before.rss) / Math.max(1, WATCHERS) / 1024).toFixed(0)} KiB per watcher)`,
    );
  } finally {
    // a child that reported exits by itself (writing its profile); one that did not is killed
    await Promise.all(
      clients.map(
        (client) =>
          new Promise((resolve) => {
            if (client.process.exitCode !== null) return resolve(undefined);
            const kill = setTimeout(() => client.process.kill(), 3000);
            client.process.once('exit', () => resolve(clearTimeout(kill)));
          }),
      ),
    );
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--watch-child')) {
  let running: Awaited<ReturnType<typeof startWatchers>> | undefined;
  let progress: NodeJS.Timeout | undefined;
  process.on('message', (message: WatchLoadSpec | { stop: true; acks: number[] }) => {
    if ('stop' in message) {
      clearInterval(progress);
      process.send!(running!.stop(message.acks), () => process.exit(0));
      return;
    }
    void startWatchers(message).then(async (watchers) => {
      running = watchers;
      await watchers.opened;
      progress = setInterval(() => process.send!({ progress: watchers.events() }), 100);
      process.send!('open');
    });
  });
  process.send!('ready');
} else {
  await main();
}
