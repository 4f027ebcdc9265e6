// The client side of bench/watch-fanout.ts, in child processes: concurrent watches of PVCs over
// HTTPS (one keep-alive connection each). The client is kept cheap, so that it measures the
// server rather than itself: it reads raw Buffers (no string decoding, no JSON parsing), finds
// each event's line and the number in its object's name (`w-<index>`), and records the arrival
// time beside that index. The delivery latency is computed at the end against the time each
// write was acknowledged by the store (sent by the writer), so neither the store's fsync nor the
// writer's pacing is counted as delivery.
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';

export interface WatchLoadSpec {
  url: string;
  token: string;
  ca: string;
  /** The namespace of each watch this process opens. */
  namespaces: string[];
  resourceVersion: string;
  /** Room for this many recorded arrivals (more are counted, not timed). */
  capacity: number;
}

export interface WatchLoadReport {
  events: number;
  /** Latencies in ms, ascending, every `stride`-th of this process's (a sample for merging). */
  sample: number[];
  /** Arrivals of writes whose acknowledgement time was unknown (a bench bug if non-zero). */
  unmatched: number;
  /** Streams that ended before they were told to (cut off or failed). */
  ended: number;
  errors: string[];
  cpuMicros: number;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The name of the index-th written object, and the marker a line carries for it. */
export const objectName = (index: number): string => `w-${index}`;
const marker = Buffer.from('"name":"w-');

/** Records, for each event line, the index of its object and the time it arrived. */
export class ArrivalLog {
  readonly indexes: Int32Array;
  readonly arrivals: Float64Array;
  count = 0;
  events = 0;

  constructor(capacity: number) {
    this.indexes = new Int32Array(capacity);
    this.arrivals = new Float64Array(capacity);
  }

  record(index: number, at: number): void {
    this.events++;
    if (this.count === this.indexes.length) return;
    this.indexes[this.count] = index;
    this.arrivals[this.count++] = at;
  }

  /** Latencies (ms from each write's acknowledgement), ascending, sampled every `stride`-th. */
  latencies(acks: ArrayLike<number>, stride: number): { sample: number[]; unmatched: number } {
    const all = new Float64Array(this.count);
    let n = 0;
    let unmatched = 0;
    for (let i = 0; i < this.count; i++) {
      const ack = acks[this.indexes[i]!];
      if (ack === undefined || ack === 0) unmatched++;
      else all[n++] = this.arrivals[i]! - ack;
    }
    const sorted = all.subarray(0, n).sort();
    const sample: number[] = [];
    for (let i = 0; i < sorted.length; i += Math.max(1, stride)) sample.push(sorted[i]!);
    return { sample, unmatched };
  }
}

/** Reads a watch stream's Buffers: one record per complete line. */
function lineReader(log: ArrivalLog): (chunk: Buffer) => void {
  let rest: Buffer | undefined;
  return (chunk) => {
    const now = wallNow();
    const data = rest ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let end = data.indexOf(10, start); end >= 0; end = data.indexOf(10, start)) {
      const at = data.indexOf(marker, start);
      if (at >= 0 && at < end) {
        let index = 0;
        for (let i = at + marker.length; data[i]! >= 48 && data[i]! <= 57; i++)
          index = index * 10 + data[i]! - 48;
        log.record(index, now);
      } else log.events++;
      start = end + 1;
    }
    rest = start < data.length ? data.subarray(start) : undefined;
  };
}

export async function startWatchers(spec: WatchLoadSpec): Promise<{
  opened: Promise<void>;
  events(): number;
  stop(acks: ArrayLike<number>, stride: number): WatchLoadReport;
}> {
  let cpu = process.cpuUsage();
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, ca: spec.ca });
  const log = new ArrivalLog(spec.capacity);
  let ended = 0;
  let stopping = false;
  const errors: string[] = [];
  const requests: ReturnType<typeof request>[] = [];
  const openings = spec.namespaces.map(
    (namespace) =>
      new Promise<void>((resolve) => {
        const path = `/api/v1/namespaces/${namespace}/persistentvolumeclaims?watch=true&resourceVersion=${spec.resourceVersion}`;
        const req = request(
          `${spec.url}${path}`,
          { agent, headers: { authorization: `Bearer ${spec.token}` } },
          (res) => {
            resolve();
            res.on('data', lineReader(log));
            res.on('end', () => {
              if (!stopping) ended++;
            });
          },
        );
        req.on('error', (err) => {
          if (!stopping && errors.length < 5) errors.push(err.message);
          resolve();
        });
        req.end();
        requests.push(req);
      }),
  );
  return {
    // the clients' CPU is counted from here: the TLS handshakes are not the fan-out's cost
    opened: Promise.all(openings).then(() => void (cpu = process.cpuUsage())),
    events: () => log.events,
    stop(acks, stride) {
      stopping = true;
      for (const req of requests) req.destroy();
      agent.destroy();
      const used = process.cpuUsage(cpu);
      const { sample, unmatched } = log.latencies(acks, stride);
      return { events: log.events, sample, unmatched, ended, errors, cpuMicros: used.user + used.system };
    },
  };
}
