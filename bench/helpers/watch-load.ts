// The client side of bench/watch-fanout.ts, in child processes: concurrent watches of PVCs over
// HTTPS (one TLS connection each). The client is kept cheap, so that it measures the server
// rather than itself: it reads the chunked response straight off the TLS socket (not through
// node:http's parser and a stream per response), as raw Buffers (no string decoding, no JSON
// parsing), finds
// each event's line and the number in its object's name (`w-<index>`), and records the arrival
// time beside that index. The delivery latency is computed at the end against the time each
// write was acknowledged by the store (sent by the writer), so neither the store's fsync nor the
// writer's pacing is counted as delivery.
import { connect, type TLSSocket } from 'node:tls';
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

/** Reads the lines of a watch stream's body: one record per complete line. */
function lineReader(log: ArrivalLog): (body: Buffer, now: number) => void {
  // the start of a line cut by the end of the last piece (a few hundred bytes at most)
  let rest: Buffer | undefined;
  const record = (line: Buffer, from: number, end: number): void => {
    const at = line.indexOf(marker, from);
    if (at < 0 || at >= end) return void log.events++;
    let index = 0;
    for (let i = at + marker.length; line[i]! >= 48 && line[i]! <= 57; i++)
      index = index * 10 + line[i]! - 48;
    log.record(index, now);
  };
  let now = 0;
  return (body, at) => {
    now = at;
    let start = 0;
    if (rest) {
      const end = body.indexOf(10);
      if (end < 0) return void (rest = Buffer.concat([rest, body]));
      const line = Buffer.concat([rest, body.subarray(0, end + 1)]);
      rest = undefined;
      record(line, 0, line.length - 1);
      start = end + 1;
    }
    for (let end = body.indexOf(10, start); end >= 0; end = body.indexOf(10, start)) {
      record(body, start, end);
      start = end + 1;
    }
    if (start < body.length) rest = Buffer.from(body.subarray(start));
  };
}

/**
 * A chunked HTTP/1.1 response read straight off the TLS socket: the head is checked for a 200
 * with chunked encoding, then each chunk's data goes to `onBody` as slices of what the socket
 * read (no copies, no stream per response, none of node:http's per-read work).
 */
function chunkedReader(
  onHead: () => void,
  onBody: (body: Buffer, now: number) => void,
  onFail: (message: string) => void,
): (data: Buffer) => void {
  let head: Buffer | undefined = Buffer.alloc(0);
  /** Bytes of chunk data still to come, or -1 while reading a chunk-size line. */
  let remaining = -1;
  /** The CRLF after a chunk's data still to skip. */
  let trailer = 0;
  let sizeLine = '';
  return (input) => {
    const now = wallNow();
    let data = input;
    if (head) {
      head = Buffer.concat([head, data]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = head.subarray(0, end).toString('latin1');
      if (!/^HTTP\/1\.1 200 /.test(text) || !/^transfer-encoding: *chunked/im.test(text))
        return onFail(`unexpected response: ${text.split('\r\n')[0]}`);
      data = head.subarray(end + 4);
      head = undefined;
      onHead();
    }
    let at = 0;
    while (at < data.length) {
      if (trailer > 0) {
        const skip = Math.min(trailer, data.length - at);
        trailer -= skip;
        at += skip;
      } else if (remaining > 0) {
        const end = Math.min(data.length, at + remaining);
        onBody(data.subarray(at, end), now);
        remaining -= end - at;
        at = end;
        if (remaining === 0) {
          remaining = -1;
          trailer = 2;
        }
      } else {
        const end = data.indexOf(10, at);
        sizeLine += data.toString('latin1', at, end < 0 ? data.length : end);
        if (end < 0) return;
        at = end + 1;
        remaining = parseInt(sizeLine, 16);
        sizeLine = '';
        if (remaining === 0) return; // the last chunk: the stream ended
        if (!(remaining > 0)) return onFail('bad chunk size');
      }
    }
  };
}

export async function startWatchers(spec: WatchLoadSpec): Promise<{
  opened: Promise<void>;
  events(): number;
  stop(acks: ArrayLike<number>, stride: number): WatchLoadReport;
}> {
  let cpu = process.cpuUsage();
  const url = new URL(spec.url);
  const log = new ArrivalLog(spec.capacity);
  let ended = 0;
  let stopping = false;
  const errors: string[] = [];
  const sockets: TLSSocket[] = [];
  const fail = (message: string): void => {
    if (!stopping && errors.length < 5) errors.push(message);
  };
  const openings = spec.namespaces.map(
    (namespace) =>
      new Promise<void>((resolve) => {
        const path = `/api/v1/namespaces/${namespace}/persistentvolumeclaims?watch=true&resourceVersion=${spec.resourceVersion}`;
        const socket = connect({ host: url.hostname, port: Number(url.port), ca: spec.ca }, () => {
          socket.write(
            `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${spec.token}\r\nAccept: application/json\r\n\r\n`,
          );
        });
        const read = chunkedReader(resolve, lineReader(log), (message) => {
          fail(message);
          socket.destroy();
          resolve();
        });
        socket.on('data', read);
        socket.on('error', (err) => {
          fail(err.message);
          resolve();
        });
        socket.on('close', () => {
          if (!stopping) ended++;
        });
        sockets.push(socket);
      }),
  );
  return {
    // the clients' CPU is counted from here: the TLS handshakes are not the fan-out's cost
    opened: Promise.all(openings).then(() => void (cpu = process.cpuUsage())),
    events: () => log.events,
    stop(acks, stride) {
      stopping = true;
      for (const socket of sockets) socket.destroy();
      const used = process.cpuUsage(cpu);
      const { sample, unmatched } = log.latencies(acks, stride);
      return { events: log.events, sample, unmatched, ended, errors, cpuMicros: used.user + used.system };
    },
  };
}
