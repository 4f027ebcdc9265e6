// Embedded store benchmark: acknowledged durable writes per second with 1, 8 and 64 concurrent
// writers, and watch delivery latency, each beside a baseline measured in the same run (plain
// appends to a file with one fdatasync per append, one writer).
// Run: node --import tsx bench/store.ts
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { kinds } from '../src/api/kinds.js';
import type { KubeObject } from '../src/api/meta.js';
import { openEmbeddedStore } from '../src/store/embedded.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const configMaps = kinds.find((k) => k.kind === 'ConfigMap')!;
const payload = 'x'.repeat(200);

function configMap(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'bench' }, data: { payload } };
}

async function baselineAppendsPerSecond(dir: string): Promise<number> {
  const handle = await open(join(dir, 'baseline.log'), 'a');
  const record = Buffer.from(JSON.stringify(configMap('baseline-000000')) + '\n');
  let count = 0;
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    await handle.write(record);
    await handle.datasync();
    count++;
  }
  await handle.close();
  return count / SECONDS;
}

async function storeWritesPerSecond(dir: string, writers: number): Promise<{ rate: number; batch: number }> {
  const store = await openEmbeddedStore({ dataDir: dir });
  let count = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        await store.create(configMaps, configMap(`w${w}-${i}`));
        count++;
      }
    }),
  );
  const stats = store.stats();
  await store.close();
  return { rate: count / SECONDS, batch: stats.walRecords / Math.max(1, stats.walBatches) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function watchLatency(dir: string, writers: number): Promise<{ p50: number; p99: number; n: number }> {
  const store = await openEmbeddedStore({ dataDir: dir });
  const acked = new Map<string, number>();
  const delivered = new Map<string, number>();
  const watch = await store.watch(configMaps, { resourceVersion: await store.currentRevision() }, (event) => {
    delivered.set(event.object.metadata.name!, performance.now());
  });
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const name = `l${w}-${i}`;
        await store.create(configMaps, configMap(name));
        acked.set(name, performance.now());
      }
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  watch.stop();
  await store.close();
  const latencies = [...acked]
    .map(([name, at]) => (delivered.get(name) ?? Infinity) - at)
    .sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length };
}

const root = await mkdtemp(join(tmpdir(), 'berth-bench-'));
try {
  // The disk's fsync latency drifts while other work shares it, so each store run is paired
  // with a baseline run right before it, and the ratio is taken within the pair.
  console.log(`embedded store benchmark (${SECONDS} s per run, data in ${tmpdir()})`);
  console.log('baseline: append + fdatasync per append, 1 writer, measured right before each row');
  console.log('');
  console.log('writers  acked writes/s  mean batch  baseline appends/s  vs baseline');
  let baseline = 0;
  for (const writers of [1, 8, 64]) {
    baseline = await baselineAppendsPerSecond(root);
    const { rate, batch } = await storeWritesPerSecond(join(root, `w${writers}`), writers);
    console.log(
      `${String(writers).padStart(7)}  ${rate.toFixed(0).padStart(14)}  ${batch.toFixed(1).padStart(10)}` +
        `  ${baseline.toFixed(0).padStart(18)}  ${(rate / baseline).toFixed(2).padStart(10)}x`,
    );
  }
  console.log('');
  for (const writers of [1, 8]) {
    baseline = await baselineAppendsPerSecond(root);
    const fsyncMs = 1000 / baseline;
    const { p50, p99, n } = await watchLatency(join(root, `lat${writers}`), writers);
    console.log(
      `watch delivery, ack -> callback, ${writers} writer(s), ${n} events: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms` +
        ` (baseline fsync ${fsyncMs.toFixed(3)} ms; p99/fsync ${(p99 / fsyncMs).toFixed(2)})`,
    );
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
