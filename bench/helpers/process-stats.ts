// What a process used, from /proc (Linux): CPU seconds (whole process or by thread) and resident
// memory. CPU seconds are the figure to compare on a shared machine: wall time there depends on
// what else runs.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** user+system seconds from the fields of a /proc stat line. */
function statSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** user+system CPU seconds of a process. */
export function cpuSeconds(pid: number): number {
  return statSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** user+system CPU seconds of each thread of a process, by thread name. */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      out.set(name, (out.get(name) ?? 0) + statSeconds(stat));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

/**
 * CPU seconds of a process's main thread (for node: the event loop, which caps its throughput;
 * the libuv pool's fsyncs, GC helpers and the JIT run beside it), to the nanosecond (schedstat).
 */
export function mainThreadCpuSeconds(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
}
