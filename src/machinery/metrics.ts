// client-go's workqueue metrics for every named WorkQueue, in the process-wide prom-client
// registry that the API server serves at /metrics: depth, adds, retries, time waiting in the queue,
// time being processed, and how long the work in progress has been running.
import { Counter, Gauge, Histogram, register } from 'prom-client';
import type { Clock } from './clock.js';

/** What a queue tells its metrics; a queue without a name reports nothing. */
export interface QueueMetrics {
  added(key: string): void;
  retried(): void;
  /** The key left the queue for a worker. */
  started(key: string): void;
  /** The worker finished the key. */
  finished(key: string): void;
  /** Stops reporting the queue's depth and work in progress (on shutdown). */
  close(): void;
}

interface QueueProbe {
  name: string;
  depth(): number;
  /** Seconds each key in progress has been running. */
  running(): number[];
}

/**
 * The queues reporting now. Kept process-wide, like prom-client's registry: a second copy of this
 * module (a test runner may load one) must feed the gauges the first copy registered.
 */
const probes: Set<QueueProbe> = processWide('berth.workqueue-probes', () => new Set<QueueProbe>());

function processWide<T>(name: string, make: () => T): T {
  const slots = globalThis as unknown as Record<symbol, T | undefined>;
  const key = Symbol.for(name);
  return (slots[key] ??= make());
}

function metric<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/** client-go's buckets: 1 ns to 10 s in powers of ten. */
const DURATION_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10];

function sumByName(read: (p: QueueProbe) => number, combine: (a: number, b: number) => number) {
  const out = new Map<string, number>();
  for (const p of probes) {
    const prior = out.get(p.name);
    out.set(p.name, prior === undefined ? read(p) : combine(prior, read(p)));
  }
  return out;
}

metric('workqueue_depth', () => {
  return new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue',
    labelNames: ['name'],
    collect() {
      this.reset();
      for (const [name, n] of sumByName(
        (p) => p.depth(),
        (a, b) => a + b,
      ))
        this.set({ name }, n);
    },
  });
});
const adds = metric(
  'workqueue_adds_total',
  () =>
    new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
    }),
);
const retries = metric(
  'workqueue_retries_total',
  () =>
    new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
    }),
);
const queueDuration = metric(
  'workqueue_queue_duration_seconds',
  () =>
    new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: DURATION_BUCKETS,
    }),
);
const workDuration = metric(
  'workqueue_work_duration_seconds',
  () =>
    new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: DURATION_BUCKETS,
    }),
);
metric(
  'workqueue_unfinished_work_seconds',
  () =>
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: "How many seconds of work has done that is in progress and hasn't been observed by work_duration",
      labelNames: ['name'],
      collect() {
        this.reset();
        const sums = sumByName(
          (p) => p.running().reduce((a, b) => a + b, 0),
          (a, b) => a + b,
        );
        for (const [name, s] of sums) this.set({ name }, s);
      },
    }),
);
metric(
  'workqueue_longest_running_processor_seconds',
  () =>
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: ['name'],
      collect() {
        this.reset();
        const longest = sumByName((p) => Math.max(0, ...p.running()), Math.max);
        for (const [name, s] of longest) this.set({ name }, s);
      },
    }),
);

const NO_METRICS: QueueMetrics = {
  added: () => undefined,
  retried: () => undefined,
  started: () => undefined,
  finished: () => undefined,
  close: () => undefined,
};

/** The metrics of one queue named `name`; `depth` reads its current length. */
export function queueMetrics(name: string | undefined, clock: Clock, readDepth: () => number): QueueMetrics {
  if (name === undefined) return NO_METRICS;
  const nowS = (): number => clock.now().getTime() / 1000;
  const addedAt = new Map<string, number>();
  const startedAt = new Map<string, number>();
  const probe: QueueProbe = {
    name,
    depth: readDepth,
    running: () => [...startedAt.values()].map((t) => nowS() - t),
  };
  probes.add(probe);
  return {
    added(key) {
      adds.inc({ name });
      if (!addedAt.has(key)) addedAt.set(key, nowS());
    },
    retried: () => retries.inc({ name }),
    started(key) {
      const at = addedAt.get(key);
      addedAt.delete(key);
      if (at !== undefined) queueDuration.observe({ name }, nowS() - at);
      startedAt.set(key, nowS());
    },
    finished(key) {
      const at = startedAt.get(key);
      startedAt.delete(key);
      if (at !== undefined) workDuration.observe({ name }, nowS() - at);
    },
    close: () => probes.delete(probe),
  };
}
