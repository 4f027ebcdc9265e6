// The protobuf encoding of the few etcd KV messages the store sends on every write and read
// (Range and Txn, field numbers of etcd's rpc.proto and kv.proto), by hand: a generic gRPC
// client spent about twice the CPU of the call itself on building and decoding them through
// reflection. Revisions stay decimal strings, as the etcd3 package gives them. Pure.

export interface KvCompare {
  key: Buffer;
  target: 'Create' | 'Mod';
  result: 'Equal';
  create_revision?: number | string;
  mod_revision?: number | string;
}

export interface KvRangeRequest {
  key: Buffer;
  range_end?: Buffer;
  limit?: number;
  revision?: number | string;
  count_only?: boolean;
}

export type KvOp =
  | { request_range: KvRangeRequest }
  | { request_put: { key: Buffer; value: Buffer } }
  | { request_delete_range: { key: Buffer } };

export interface KvTxnRequest {
  compare: readonly KvCompare[];
  success: readonly KvOp[];
  failure: readonly KvOp[];
}

export interface KvKeyValue {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  lease: string;
}

export interface KvHeader {
  revision: string;
}

export interface KvRangeResponse {
  header: KvHeader;
  kvs: KvKeyValue[];
  more: boolean;
  count: string;
}

/** One of a transaction's answers; only a range's is read (the failed compares' current values). */
export interface KvResponseOp {
  response_range: KvRangeResponse;
}

export interface KvTxnResponse {
  header: KvHeader;
  succeeded: boolean;
  responses: KvResponseOp[];
}

// ---- encoding -------------------------------------------------------------------------------

const COMPARE_TARGET = { Create: 1, Mod: 2 } as const;
const COMPARE_RESULT = { Equal: 0 } as const;

/** Appends protobuf fields to a growing list of chunks. */
class Writer {
  private readonly chunks: Buffer[] = [];
  private scratch: number[] = [];
  private length = 0;

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.push(Buffer.from(this.scratch));
    this.scratch = [];
  }

  private push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  private varint(value: number): void {
    let n = value;
    while (n > 0x7f) {
      this.scratch.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.scratch.push(n);
  }

  private tag(field: number, wire: 0 | 2): void {
    this.varint(field * 8 + wire);
  }

  /** A varint field, written even when 0 (a oneof member set to 0 must still be present). */
  uint(field: number, value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a revision or count: ${value}`);
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  bytes(field: number, value: Buffer): this {
    this.tag(field, 2);
    this.varint(value.length);
    this.flushScratch();
    this.push(value);
    return this;
  }

  message(field: number, inner: Writer): this {
    const body = inner.finish();
    return this.bytes(field, body);
  }

  finish(): Buffer {
    this.flushScratch();
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
  }
}

function revisionNumber(value: number | string | undefined): number {
  const n = typeof value === 'string' ? Number(value) : (value ?? 0);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a revision: ${String(value)}`);
  return n;
}

function rangeMessage(req: KvRangeRequest): Writer {
  const w = new Writer().bytes(1, req.key);
  if (req.range_end) w.bytes(2, req.range_end);
  if (req.limit) w.uint(3, req.limit);
  if (req.revision !== undefined && revisionNumber(req.revision) > 0) w.uint(4, revisionNumber(req.revision));
  if (req.count_only) w.uint(9, 1);
  return w;
}

function compareMessage(c: KvCompare): Writer {
  const w = new Writer().uint(1, COMPARE_RESULT[c.result]).uint(2, COMPARE_TARGET[c.target]).bytes(3, c.key);
  if (c.target === 'Create') w.uint(5, revisionNumber(c.create_revision));
  else w.uint(6, revisionNumber(c.mod_revision));
  return w;
}

function opMessage(op: KvOp): Writer {
  if ('request_range' in op) return new Writer().message(1, rangeMessage(op.request_range));
  if ('request_put' in op) {
    const put = new Writer().bytes(1, op.request_put.key).bytes(2, op.request_put.value);
    return new Writer().message(2, put);
  }
  return new Writer().message(3, new Writer().bytes(1, op.request_delete_range.key));
}

export function encodeRangeRequest(req: KvRangeRequest): Buffer {
  return rangeMessage(req).finish();
}

export function encodeTxnRequest(req: KvTxnRequest): Buffer {
  const w = new Writer();
  for (const c of req.compare) w.message(1, compareMessage(c));
  for (const op of req.success) w.message(2, opMessage(op));
  for (const op of req.failure) w.message(3, opMessage(op));
  return w.finish();
}

// ---- decoding -------------------------------------------------------------------------------

/** Reads fields of one message; anything malformed throws (the answer is then an error). */
class Reader {
  private pos: number;
  private readonly end: number;
  private readonly buf: Buffer;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('etcd answer: truncated varint');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
    throw new Error('etcd answer: varint too long');
  }

  /** The next field's number and wire type. */
  tag(): [number, number] {
    const tag = this.varint();
    return [Math.floor(tag / 8), tag % 8];
  }

  /** A length-delimited field as a reader over its bytes. */
  sub(): Reader {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) throw new Error('etcd answer: truncated field');
    this.pos += length;
    return new Reader(this.buf, start, start + length);
  }

  /** A length-delimited field's bytes (a copy: the answer's buffer is not kept alive by it). */
  bytes(): Buffer {
    const sub = this.sub();
    return Buffer.from(this.buf.subarray(sub.pos, sub.end));
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.sub();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new Error(`etcd answer: unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new Error('etcd answer: truncated field');
  }
}

function decodeHeader(r: Reader): KvHeader {
  let revision = 0;
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 3 && wire === 0) revision = r.varint();
    else r.skip(wire);
  }
  return { revision: String(revision) };
}

function decodeKeyValue(r: Reader): KvKeyValue {
  const empty: Buffer = Buffer.alloc(0);
  const kv = { key: empty, value: empty, create: 0, mod: 0, version: 0, lease: 0 };
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 2) kv.key = r.bytes();
    else if (field === 2 && wire === 0) kv.create = r.varint();
    else if (field === 3 && wire === 0) kv.mod = r.varint();
    else if (field === 4 && wire === 0) kv.version = r.varint();
    else if (field === 5 && wire === 2) kv.value = r.bytes();
    else if (field === 6 && wire === 0) kv.lease = r.varint();
    else r.skip(wire);
  }
  return {
    key: kv.key,
    value: kv.value,
    create_revision: String(kv.create),
    mod_revision: String(kv.mod),
    version: String(kv.version),
    lease: String(kv.lease),
  };
}

function decodeRange(r: Reader): KvRangeResponse {
  const res: KvRangeResponse = { header: { revision: '0' }, kvs: [], more: false, count: '0' };
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 2) res.header = decodeHeader(r.sub());
    else if (field === 2 && wire === 2) res.kvs.push(decodeKeyValue(r.sub()));
    else if (field === 3 && wire === 0) res.more = r.varint() !== 0;
    else if (field === 4 && wire === 0) res.count = String(r.varint());
    else r.skip(wire);
  }
  return res;
}

const emptyRange = (): KvRangeResponse => ({ header: { revision: '0' }, kvs: [], more: false, count: '0' });

export function decodeRangeResponse(buf: Buffer): KvRangeResponse {
  return decodeRange(new Reader(buf));
}

export function decodeTxnResponse(buf: Buffer): KvTxnResponse {
  const r = new Reader(buf);
  const res: KvTxnResponse = { header: { revision: '0' }, succeeded: false, responses: [] };
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 2) res.header = decodeHeader(r.sub());
    else if (field === 2 && wire === 0) res.succeeded = r.varint() !== 0;
    else if (field === 3 && wire === 2) {
      // a ResponseOp: only a range's answer is decoded; a put's or delete's stands as an empty range
      const op = r.sub();
      let range = emptyRange();
      while (!op.done()) {
        const [opField, opWire] = op.tag();
        if (opField === 1 && opWire === 2) range = decodeRange(op.sub());
        else op.skip(opWire);
      }
      res.responses.push({ response_range: range });
    } else r.skip(wire);
  }
  return res;
}
