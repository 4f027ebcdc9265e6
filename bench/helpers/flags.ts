// Benchmark flags: `--name value` on the command line, with a default, so sizes are chosen per run.
import os from 'node:os';
import { performance } from 'node:perf_hooks';

export function numberFlag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a non-negative number`);
  return value;
}

export function listFlag(name: string, fallback: number[]): number[] {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  return (process.argv[at + 1] ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isFinite(n) && n > 0);
}

/** The value after `--name`, or undefined when the flag is absent. */
export function stringFlag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

export function booleanFlag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** The value at percentile `p` of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export interface LoopResult {
  /** Completed operations per second of wall time. */
  rate: number;
  /** Process CPU time (user + system) per operation, in microseconds: steadier than wall time on a shared machine. */
  cpuMicrosPerOp: number;
  /** Each operation's latency in ms, ascending. */
  latencies: number[];
}

/** Runs `op` from `concurrency` loops for `seconds`. */
export async function closedLoop(
  seconds: number,
  concurrency: number,
  op: (worker: number, i: number) => Promise<unknown>,
): Promise<LoopResult> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; performance.now() < end; i++) {
        const t = performance.now();
        await op(worker, i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    rate: latencies.length / elapsed,
    cpuMicrosPerOp: (used.user + used.system) / Math.max(1, latencies.length),
    latencies: latencies.sort((a, b) => a - b),
  };
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** One line telling how loaded the machine was, printed at the top of every run. */
export function machineLine(): string {
  const [one = NaN] = os.loadavg();
  return (
    `machine: ${os.cpus().length} cores, load average ${one.toFixed(2)}` +
    ' (other work shares these cores: compare the ratios, not the absolute figures)'
  );
}
