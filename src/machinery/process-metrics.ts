// The process's memory in the prom-client registry (/metrics), under the names prom-client's
// default metrics use, read only when scraped: prom-client's own default collection also samples
// the event loop's delay with a timer, which an idle process should not pay for.
import { Gauge, register } from 'prom-client';
import { getHeapSpaceStatistics } from 'node:v8';

function gauge(name: string, help: string, read: () => number): void {
  if (register.getSingleMetric(name)) return;
  new Gauge({
    name,
    help,
    collect() {
      this.set(read());
    },
  });
}

/** Registers the memory gauges once per process; calling it again is a no-op. */
export function registerProcessMetrics(): void {
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  gauge(
    'nodejs_heap_size_total_bytes',
    'Process heap size from Node.js in bytes.',
    () => process.memoryUsage().heapTotal,
  );
  gauge(
    'nodejs_heap_size_used_bytes',
    'Process heap size used from Node.js in bytes.',
    () => process.memoryUsage().heapUsed,
  );
  gauge(
    'nodejs_external_memory_bytes',
    'Node.js external memory size in bytes.',
    () => process.memoryUsage().external,
  );
  if (register.getSingleMetric('nodejs_heap_space_size_used_bytes')) return;
  new Gauge({
    name: 'nodejs_heap_space_size_used_bytes',
    help: 'Process heap space size used from Node.js in bytes.',
    labelNames: ['space'],
    collect() {
      for (const space of getHeapSpaceStatistics())
        this.set({ space: space.space_name.replace(/_space$/, '') }, space.space_used_size);
    },
  });
}
