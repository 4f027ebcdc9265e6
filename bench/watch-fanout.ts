// Watch fan-out: N concurrent HTTPS watches of PVCs (in a child process) while the store takes
// W writes/s of PVCs (written straight to the store, so the writes cost the API nothing); prints
// the delivery latency from write to arrival (p50/p99) beside the same figure for one in-process
// store watch in the same run, the server's CPU time per delivered event (the steadier figure when
// other work shares the cores), and the server's heap and RSS growth while the watches run.
//   node --import tsx bench/watch-fanout.ts [--watchers 200] [--rate 200] [--seconds 5]
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kinds } from '../src/api/kinds.js';
import type { KubeObject } from '../src/api/meta.js';
import { prepareCreate } from '../src/api/validate.js';
import { ensureCredentials, startApiServer } from '../src/apiserver/index.js';
import { openEmbeddedStore, type EmbeddedStore } from '../src/store/embedded.js';
import { machineLine, numberFlag, percentile } from './helpers/flags.js';
import type { WatchLoadReport, WatchLoadSpec } from './helpers/watch-load.js';
import { SENT_AT, startWatchers, wallNow } from './helpers/watch-load.js';

const WATCHERS = numberFlag('watchers', 200);
const RATE = numberFlag('rate', 200);
const SECONDS = numberFlag('seconds', 5);
const GOAL_P99_MS = 100;
const claims = kinds.find((k) => k.kind === 'PersistentVolumeClaim')!;

function claim(name: string): KubeObject {
  return prepareCreate({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default', annotations: { [SENT_AT]: wallNow().toFixed(3) } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'none',
    },
  });
}

/** Writes `rate` claims a second for `seconds`, paced in 10 ms steps. */
async function write(store: EmbeddedStore, prefix: string): Promise<number> {
  const started = wallNow();
  let written = 0;
  const pending: Promise<unknown>[] = [];
  while (wallNow() - started < SECONDS * 1000) {
    const due = Math.floor(((wallNow() - started) / 1000) * RATE);
    for (; written < due; written++) pending.push(store.create(claims, claim(`${prefix}-${written}`)));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(pending);
  return written;
}

async function inProcessBaseline(store: EmbeddedStore): Promise<number[]> {
  const latencies: number[] = [];
  const watch = await store.watch(claims, { resourceVersion: await store.currentRevision() }, (event) => {
    const sentAt = event.object.metadata.annotations?.[SENT_AT];
    if (sentAt) latencies.push(wallNow() - Number(sentAt));
  });
  await write(store, 'baseline');
  await new Promise((resolve) => setTimeout(resolve, 200));
  watch.stop();
  return latencies.sort((a, b) => a - b);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-watch-'));
  const store = await openEmbeddedStore({ dataDir: path.join(dir, 'store') });
  const first = await ensureCredentials(dir, 'https://127.0.0.1:0');
  const server = await startApiServer({ store, token: first.token, tls: first.tls, port: 0 });
  const child = fork(fileURLToPath(import.meta.url), ['--watch-child'], { execArgv: ['--import', 'tsx'] });
  try {
    console.log(machineLine());
    console.log(`watch-fanout: ${WATCHERS} HTTPS watches of PVCs, ${RATE} store writes/s for ${SECONDS} s`);
    const baseline = await inProcessBaseline(store);
    const messages: unknown[] = [];
    let wake: (() => void) | undefined;
    child.on('message', (message) => {
      messages.push(message);
      wake?.();
    });
    const next = async (): Promise<unknown> => {
      while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return messages.shift();
    };
    await next(); // the child is ready
    const spec: WatchLoadSpec = {
      url: server.url,
      token: first.token,
      ca: first.tls.cert,
      watchers: WATCHERS,
      resourceVersion: await store.currentRevision(),
    };
    global.gc?.();
    const before = process.memoryUsage();
    child.send(spec);
    await next(); // every watch is open
    let peakRss = 0;
    let peakHeap = 0;
    const sampler = setInterval(() => {
      const usage = process.memoryUsage();
      peakRss = Math.max(peakRss, usage.rss);
      peakHeap = Math.max(peakHeap, usage.heapUsed);
    }, 100);
    const cpu = process.cpuUsage();
    const written = await write(store, 'fanout');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the tail of delivery
    clearInterval(sampler);
    const used = process.cpuUsage(cpu);
    child.send('stop');
    const report = (await next()) as WatchLoadReport;
    const cpuPerEvent = (used.user + used.system) / Math.max(1, report.events);
    const expected = written * WATCHERS;
    const p99 = percentile(report.latencies, 99);
    const baseP99 = percentile(baseline, 99);
    console.log(
      `in-process store watch (baseline): p50 ${percentile(baseline, 50).toFixed(1)} ms, p99 ${baseP99.toFixed(1)} ms, ${baseline.length} events`,
    );
    console.log(
      `${WATCHERS} HTTPS watches: ${report.events}/${expected} events delivered, p50 ${percentile(report.latencies, 50).toFixed(1)} ms,` +
        ` p99 ${p99.toFixed(1)} ms (${(p99 / Math.max(baseP99, 0.001)).toFixed(1)}x the baseline p99; goal < ${GOAL_P99_MS} ms` +
        ` ${p99 < GOAL_P99_MS ? 'ok' : 'MISSED'}); server CPU ${cpuPerEvent.toFixed(1)} µs per delivered event` +
        ` (writes included); streams ended early ${report.ended}${report.errors.length ? `; errors: ${report.errors.join('; ')}` : ''}`,
    );
    console.log(
      `server memory: heap ${mib(before.heapUsed)} -> peak ${mib(peakHeap)}, RSS ${mib(before.rss)} -> peak ${mib(peakRss)}` +
        ` (${((peakRss - before.rss) / Math.max(1, WATCHERS) / 1024).toFixed(0)} KiB per watcher)`,
    );
  } finally {
    child.kill();
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--watch-child')) {
  let running: Awaited<ReturnType<typeof startWatchers>> | undefined;
  process.on('message', (message: WatchLoadSpec | 'stop') => {
    if (message === 'stop') {
      process.send!(running!.stop(), () => process.exit(0));
      return;
    }
    void startWatchers(message).then(async (watchers) => {
      running = watchers;
      await watchers.opened;
      process.send!('open');
    });
  });
  process.send!('ready');
} else {
  await main();
}
