// The client side of bench/watch-fanout.ts, in child processes: concurrent watches of PVCs over
// HTTPS (one TLS connection each). The client is kept cheap, so that it measures the server
// rather than itself: it reads the chunked response straight off the TLS socket (not through
// node:http's parser and a stream per response), as raw Buffers. Every watcher receives every
// byte and counts every event; most count them by their line ends only, and a fixed sample of
// watchers (spread over the connections) decodes and JSON-parses each of its events, checks it,
// reads the index from its object's name (`w-<index>`) and records the time it was parsed. The
// delivery latency is computed at the end against the time each write was acknowledged by the
// store (sent by the writer), so neither the store's fsync nor the writer's pacing is counted as
// delivery.
import { connect, type TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';

export interface WatchLoadSpec {
  url: string;
  token: string;
  ca: string;
  /** The namespace of each watch this process opens. */
  namespaces: string[];
  /** Whether each watch parses its events and times them (else it counts them). */
  sampled: boolean[];
  resourceVersion: string;
  /** Room for this many arrivals at the sampled watches (more are counted, not timed). */
  capacity: number;
}

export interface WatchLoadReport {
  events: number;
  /** Events of the sampled watches (all parsed and timed). */
  sampledEvents: number;
  /** Latencies in ms of every event the sampled watches parsed, ascending. */
  sample: number[];
  /** Arrivals of writes whose acknowledgement time was unknown (a bench bug if non-zero). */
  unmatched: number;
  /** Streams that ended before they were told to (cut off or failed). */
  ended: number;
  /** Parsed events that were not an ADDED PersistentVolumeClaim of this bench. */
  malformed: number;
  errors: string[];
  cpuMicros: number;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The name of the index-th written object, and the marker a line carries for it. */
export const objectName = (index: number): string => `w-${index}`;

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

/** Counts the events of a watch stream's body by their line ends. */
function lineCounter(count: { events: number }): (body: Buffer) => void {
  return (body) => {
    for (let end = body.indexOf(10); end >= 0; end = body.indexOf(10, end + 1)) count.events++;
  };
}

/** Parses each event of a watch stream's body, and records its object's index and when it was parsed. */
function lineParser(log: ArrivalLog, onMalformed: () => void): (body: Buffer) => void {
  // the start of a line cut by the end of the last piece (a few hundred bytes at most)
  let rest: Buffer | undefined;
  const parse = (line: Buffer): void => {
    const event = JSON.parse(line.toString('utf8')) as {
      type?: string;
      object?: { kind?: string; metadata?: { name?: string } };
    };
    const name = event.object?.metadata?.name ?? '';
    if (event.type !== 'ADDED' || event.object?.kind !== 'PersistentVolumeClaim' || !/^w-\d+$/.test(name)) {
      log.events++;
      return onMalformed();
    }
    log.record(Number(name.slice(2)), wallNow());
  };
  return (body) => {
    let start = 0;
    for (let end = body.indexOf(10); end >= 0; end = body.indexOf(10, start)) {
      parse(rest ? Buffer.concat([rest, body.subarray(0, end)]) : body.subarray(start, end));
      rest = undefined;
      start = end + 1;
    }
    if (start < body.length)
      rest = rest ? Buffer.concat([rest, body.subarray(start)]) : Buffer.from(body.subarray(start));
  };
}

/**
 * A chunked HTTP/1.1 response read straight off the TLS socket: the head is checked for a 200
 * with chunked encoding, then each chunk's data goes to `onBody` as slices of what the socket
 * read (no copies, no stream per response, none of node:http's per-read work).
 */
function chunkedReader(
  onHead: () => void,
  onBody: (body: Buffer) => void,
  onFail: (message: string) => void,
): (data: Buffer) => void {
  let head: Buffer | undefined = Buffer.alloc(0);
  /** Bytes of chunk data still to come, or -1 while reading a chunk-size line. */
  let remaining = -1;
  /** The CRLF after a chunk's data still to skip. */
  let trailer = 0;
  let sizeLine = '';
  return (input) => {
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
        onBody(data.subarray(at, end));
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
  stop(acks: ArrayLike<number>): WatchLoadReport;
}> {
  let cpu = process.cpuUsage();
  const url = new URL(spec.url);
  const counted = { events: 0 };
  const sampled = new ArrivalLog(spec.capacity);
  let ended = 0;
  let malformed = 0;
  let stopping = false;
  const errors: string[] = [];
  const sockets: TLSSocket[] = [];
  const fail = (message: string): void => {
    if (!stopping && errors.length < 5) errors.push(message);
  };
  const openings = spec.namespaces.map(
    (namespace, i) =>
      new Promise<void>((resolve) => {
        const path = `/api/v1/namespaces/${namespace}/persistentvolumeclaims?watch=true&resourceVersion=${spec.resourceVersion}`;
        const socket = connect({ host: url.hostname, port: Number(url.port), ca: spec.ca }, () => {
          socket.write(
            `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${spec.token}\r\nAccept: application/json\r\n\r\n`,
          );
        });
        const onBody = spec.sampled[i] ? lineParser(sampled, () => malformed++) : lineCounter(counted);
        const read = chunkedReader(resolve, onBody, (message) => {
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
    events: () => counted.events + sampled.events,
    stop(acks) {
      stopping = true;
      for (const socket of sockets) socket.destroy();
      const used = process.cpuUsage(cpu);
      const { sample, unmatched } = sampled.latencies(acks, 1);
      return {
        events: counted.events + sampled.events,
        sampledEvents: sampled.events,
        sample,
        unmatched,
        ended,
        malformed,
        errors,
        cpuMicros: used.user + used.system,
      };
    },
  };
}
