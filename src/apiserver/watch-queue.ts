// The lines a watch stream has yet to write, and the chunks it writes them in. A stream's writes
// are capped (`maxWriteBytes`), however large a store batch is: the TLS layer encrypts a whole
// write at once into a buffer of that connection, sized to the write and kept for its next
// writes, so one write of a megabyte-sized backlog pinned a megabyte per connection for as long as
// the connection lived (1,000 watchers behind their clients: over 1 GB of native memory). A large
// batch is written in slices of the shared buffer, not copied.
// Watchers of one collection get the same batches one after another, so the chunk last taken is
// kept: the next stream that takes the same bytes gets the same buffer (one copy in memory while
// their sockets drain) instead of joining its own.
// A stream over HTTP/1.1 queues its lines as whole HTTP chunks (`httpChunk`, framed once for all
// watchers of a batch) and writes them to the socket as they are: a chunked body is a byte stream,
// so any slice of a sequence of chunks is written as is, and the response does not add a size line
// and a CRLF around each write (which made the TLS layer copy every write into one buffer first).

/** The HTTP/1.1 chunk that carries `data` (size line, data, CRLF), made once per buffer. */
export function httpChunk(data: Buffer): Buffer {
  let chunk = chunks.get(data);
  if (chunk === undefined) {
    const head = `${data.length.toString(16)}\r\n`;
    chunk = Buffer.allocUnsafe(head.length + data.length + 2);
    chunk.write(head, 'latin1');
    data.copy(chunk, head.length);
    chunk.write('\r\n', head.length + data.length, 'latin1');
    chunks.set(data, chunk);
  }
  return chunk;
}
const chunks = new WeakMap<Buffer, Buffer>();

/** The most one write to a stream carries. */
export const maxWriteBytes = 64 * 1024;

interface Taken {
  /** The parts the chunk joins, each whole but the first (from `from`) and the last (to `to`). */
  parts: Buffer[];
  from: number;
  to: number;
  chunk: Buffer;
}

let lastTaken: Taken | undefined;

function sameTake(last: Taken, parts: Buffer[], from: number, to: number): boolean {
  return (
    last.from === from &&
    last.to === to &&
    last.parts.length === parts.length &&
    last.parts.every((part, i) => part === parts[i])
  );
}

export class WatchQueue {
  private parts: Buffer[] = [];
  /** Bytes of the first part written already. */
  private from = 0;
  /** Bytes waiting in all parts. */
  bytes = 0;

  get length(): number {
    return this.parts.length;
  }

  push(part: Buffer): void {
    if (part.length === 0) return;
    this.parts.push(part);
    this.bytes += part.length;
  }

  /**
   * Drops what waits; returns the unwritten end of a part written partly, which a stream of
   * HTTP chunks must still write (or the next chunk would land inside that one).
   */
  clear(): Buffer | undefined {
    const cut = this.from > 0 ? this.parts[0]!.subarray(this.from) : undefined;
    this.parts = [];
    this.from = 0;
    this.bytes = 0;
    return cut;
  }

  /** Everything left, as one chunk (for the end of the stream). */
  rest(): Buffer {
    const chunk = this.take(Infinity);
    return chunk ?? Buffer.alloc(0);
  }

  /** The next chunk to write, at most `limit` bytes (one part or less when it is larger). */
  take(limit = maxWriteBytes): Buffer | undefined {
    if (this.parts.length === 0) return undefined;
    let bytes = 0;
    let count = 0;
    let to = 0;
    for (; count < this.parts.length; count++) {
      const start = count === 0 ? this.from : 0;
      const size = this.parts[count]!.length - start;
      if (bytes + size <= limit) {
        bytes += size;
        to = start + size;
        continue;
      }
      // the part that does not fit goes in partly
      if (bytes < limit) {
        to = start + (limit - bytes);
        bytes = limit;
        count++;
      }
      break;
    }
    const parts = this.parts.slice(0, count);
    const chunk = shared(parts, this.from, to, bytes);
    const last = parts[count - 1]!;
    const finished = to === last.length ? count : count - 1;
    this.parts = finished === this.parts.length ? [] : this.parts.slice(finished);
    this.from = finished === count ? 0 : to;
    this.bytes -= bytes;
    return chunk;
  }
}

function shared(parts: Buffer[], from: number, to: number, bytes: number): Buffer {
  if (parts.length === 1) return parts[0]!.subarray(from, to);
  const last = lastTaken;
  if (last && sameTake(last, parts, from, to)) return last.chunk;
  const chunk = Buffer.allocUnsafe(bytes);
  let at = 0;
  parts.forEach((part, i) => {
    at += part.copy(chunk, at, i === 0 ? from : 0, i === parts.length - 1 ? to : part.length);
  });
  lastTaken = { parts, from, to, chunk };
  return chunk;
}
