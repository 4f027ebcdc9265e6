// ONC RPC record marking over TCP (RFC 5531 §11): each fragment starts with a 4-byte header whose top
// bit marks the last fragment of a record and whose other 31 bits give the fragment's length.

const LAST_FRAGMENT = 0x8000_0000;
export const MAX_FRAGMENT = 0x7fff_ffff;

/** Frames one record, split into fragments of at most `maxFragment` bytes. */
export function encodeRecord(payload: Uint8Array, maxFragment = MAX_FRAGMENT): Buffer {
  if (maxFragment < 1 || maxFragment > MAX_FRAGMENT) throw new RangeError(`bad fragment size ${maxFragment}`);
  const parts: Buffer[] = [];
  let offset = 0;
  do {
    const size = Math.min(maxFragment, payload.length - offset);
    const last = offset + size >= payload.length;
    const header = Buffer.alloc(4);
    header.writeUInt32BE((last ? LAST_FRAGMENT : 0) + size, 0);
    parts.push(header, Buffer.from(payload.subarray(offset, offset + size)));
    offset += size;
  } while (offset < payload.length);
  return Buffer.concat(parts);
}

/** Reassembles records from a byte stream that arrives in arbitrary chunks. */
export class RecordDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private recordBytes = 0;
  private readonly maxRecordBytes: number;

  constructor(maxRecordBytes = 64 * 1024 * 1024) {
    this.maxRecordBytes = maxRecordBytes;
  }

  /** Feeds bytes; returns every record completed by them. Throws if a record exceeds the limit. */
  push(chunk: Uint8Array): Buffer[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const records: Buffer[] = [];
    for (;;) {
      if (this.pending.length < 4) break;
      const header = this.pending.readUInt32BE(0);
      const size = header & MAX_FRAGMENT;
      if (this.pending.length < 4 + size) break;
      this.recordBytes += size;
      if (this.recordBytes > this.maxRecordBytes) {
        throw new RangeError(`RPC record larger than ${this.maxRecordBytes} bytes`);
      }
      this.fragments.push(this.pending.subarray(4, 4 + size));
      this.pending = this.pending.subarray(4 + size);
      if ((header & LAST_FRAGMENT) !== 0) {
        records.push(Buffer.concat(this.fragments));
        this.fragments = [];
        this.recordBytes = 0;
      }
    }
    return records;
  }
}
