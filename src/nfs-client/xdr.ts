// XDR (RFC 4506): big-endian 4-byte units, variable-length data padded to a multiple of four.
// A growable writer and a bounds-checked reader; both pure, so they are easy to round-trip in tests.

export class XdrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XdrError';
  }
}

const MAX_UINT32 = 0xffff_ffff;

function padding(length: number): number {
  return (4 - (length % 4)) % 4;
}

export class XdrWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialSize = 256) {
    this.buffer = Buffer.alloc(initialSize);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const next = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  uint32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32) {
      throw new XdrError(`uint32 out of range: ${value}`);
    }
    this.reserve(4);
    this.buffer.writeUInt32BE(value, this.length);
    this.length += 4;
    return this;
  }

  int32(value: number): this {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
      throw new XdrError(`int32 out of range: ${value}`);
    }
    this.reserve(4);
    this.buffer.writeInt32BE(value, this.length);
    this.length += 4;
    return this;
  }

  uint64(value: bigint): this {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new XdrError(`uint64 out of range: ${value}`);
    this.reserve(8);
    this.buffer.writeBigUInt64BE(value, this.length);
    this.length += 8;
    return this;
  }

  bool(value: boolean): this {
    return this.uint32(value ? 1 : 0);
  }

  /** Fixed-length opaque: the length is implied by the protocol, only padding is added. */
  fixedOpaque(data: Uint8Array): this {
    this.reserve(data.length + padding(data.length));
    this.buffer.set(data, this.length);
    this.length += data.length;
    this.buffer.fill(0, this.length, this.length + padding(data.length));
    this.length += padding(data.length);
    return this;
  }

  opaque(data: Uint8Array, maxLength = MAX_UINT32): this {
    if (data.length > maxLength) throw new XdrError(`opaque longer than ${maxLength}: ${data.length}`);
    this.uint32(data.length);
    return this.fixedOpaque(data);
  }

  string(value: string, maxLength = MAX_UINT32): this {
    return this.opaque(Buffer.from(value, 'utf8'), maxLength);
  }

  /** XDR optional-data (`*T`): a bool, then the value when present. */
  optional<T>(value: T | undefined, write: (w: this, v: T) => void): this {
    if (value === undefined) return this.bool(false);
    this.bool(true);
    write(this, value);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

export class XdrReader {
  private readonly buffer: Buffer;
  private offset = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) {
      throw new XdrError(`truncated XDR data: need ${bytes} bytes at offset ${this.offset}`);
    }
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint64(): bigint {
    this.need(8);
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  bool(): boolean {
    const value = this.uint32();
    if (value > 1) throw new XdrError(`invalid XDR bool: ${value}`);
    return value === 1;
  }

  fixedOpaque(length: number): Buffer {
    this.need(length + padding(length));
    const data = Buffer.from(this.buffer.subarray(this.offset, this.offset + length));
    this.offset += length + padding(length);
    return data;
  }

  opaque(maxLength = MAX_UINT32): Buffer {
    const length = this.uint32();
    if (length > maxLength) throw new XdrError(`opaque longer than ${maxLength}: ${length}`);
    return this.fixedOpaque(length);
  }

  string(maxLength = MAX_UINT32): string {
    return this.opaque(maxLength).toString('utf8');
  }

  optional<T>(read: (r: this) => T): T | undefined {
    return this.bool() ? read(this) : undefined;
  }

  /** The unread rest, for a caller that decodes a nested body itself. */
  rest(): Buffer {
    const data = this.buffer.subarray(this.offset);
    this.offset = this.buffer.length;
    return Buffer.from(data);
  }
}
