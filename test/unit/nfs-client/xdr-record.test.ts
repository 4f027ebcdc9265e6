import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordDecoder, encodeRecord } from '../../../src/nfs-client/record.js';
import { XdrError, XdrReader, XdrWriter } from '../../../src/nfs-client/xdr.js';

type Item =
  | { kind: 'uint32'; value: number }
  | { kind: 'int32'; value: number }
  | { kind: 'uint64'; value: bigint }
  | { kind: 'bool'; value: boolean }
  | { kind: 'opaque'; value: Uint8Array }
  | { kind: 'string'; value: string }
  | { kind: 'optional'; value: number | undefined };

const item: fc.Arbitrary<Item> = fc.oneof(
  fc.integer({ min: 0, max: 0xffff_ffff }).map((value) => ({ kind: 'uint32' as const, value })),
  fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }).map((value) => ({ kind: 'int32' as const, value })),
  fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }).map((value) => ({ kind: 'uint64' as const, value })),
  fc.boolean().map((value) => ({ kind: 'bool' as const, value })),
  fc.uint8Array({ maxLength: 70 }).map((value) => ({ kind: 'opaque' as const, value })),
  fc.string({ maxLength: 40 }).map((value) => ({ kind: 'string' as const, value })),
  fc.option(fc.nat(), { nil: undefined }).map((value) => ({ kind: 'optional' as const, value })),
);

function write(w: XdrWriter, entry: Item): void {
  switch (entry.kind) {
    case 'uint32':
      w.uint32(entry.value);
      break;
    case 'int32':
      w.int32(entry.value);
      break;
    case 'uint64':
      w.uint64(entry.value);
      break;
    case 'bool':
      w.bool(entry.value);
      break;
    case 'opaque':
      w.opaque(entry.value);
      break;
    case 'string':
      w.string(entry.value);
      break;
    case 'optional':
      w.optional(entry.value, (x, v) => x.uint32(v));
      break;
  }
}

function read(r: XdrReader, kind: Item['kind']): unknown {
  switch (kind) {
    case 'uint32':
      return r.uint32();
    case 'int32':
      return r.int32();
    case 'uint64':
      return r.uint64();
    case 'bool':
      return r.bool();
    case 'opaque':
      return new Uint8Array(r.opaque());
    case 'string':
      return r.string();
    case 'optional':
      return r.optional((x) => x.uint32());
  }
}

describe('XDR', function () {
  it('round-trips any sequence of items, always in 4-byte units', function () {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 20 }), (items) => {
        const w = new XdrWriter(4);
        for (const entry of items) write(w, entry);
        const buffer = w.toBuffer();
        assert.equal(buffer.length % 4, 0);
        const r = new XdrReader(buffer);
        for (const entry of items) assert.deepEqual(read(r, entry.kind), entry.value);
        assert.equal(r.remaining, 0);
      }),
    );
  });

  it('encodes as RFC 4506 says: big-endian, length-prefixed, zero-padded', function () {
    const buffer = new XdrWriter()
      .uint32(1)
      .string('abcde')
      .bool(true)
      .uint64(2n ** 32n + 7n)
      .toBuffer();
    assert.equal(
      buffer.toString('hex'),
      '00000001' + '00000005' + '6162636465000000' + '00000001' + '0000000100000007',
    );
  });

  it('refuses out-of-range values, truncated data, bad bools and oversized opaques', function () {
    assert.throws(() => new XdrWriter().uint32(-1), XdrError);
    assert.throws(() => new XdrWriter().uint32(2 ** 32), XdrError);
    assert.throws(() => new XdrWriter().opaque(Buffer.alloc(65), 64), XdrError);
    assert.throws(() => new XdrReader(Buffer.from('000000', 'hex')).uint32(), XdrError);
    assert.throws(() => new XdrReader(Buffer.from('00000002', 'hex')).bool(), XdrError);
    assert.throws(() => new XdrReader(Buffer.from('0000000a0102', 'hex')).opaque(), XdrError);
    assert.throws(() => new XdrReader(Buffer.from('00000041', 'hex')).opaque(64), XdrError);
  });
});

describe('RPC record marking', function () {
  it('sets the last-fragment bit and the length in the header', function () {
    const framed = encodeRecord(Buffer.from('abcdefgh'));
    assert.equal(framed.readUInt32BE(0), 0x8000_0008);
    assert.equal(framed.subarray(4).toString(), 'abcdefgh');
    const split = encodeRecord(Buffer.from('abcde'), 2);
    assert.deepEqual(
      [split.readUInt32BE(0), split.readUInt32BE(6), split.readUInt32BE(12)],
      [2, 2, 0x8000_0001],
    );
  });

  it('reassembles records from any fragment sizes and any chunking of the stream', function () {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 50 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.integer({ min: 1, max: 13 }), { minLength: 1, maxLength: 10 }),
        (records, fragmentSize, cuts) => {
          const stream = Buffer.concat(records.map((record) => encodeRecord(record, fragmentSize)));
          const decoder = new RecordDecoder();
          const out: Buffer[] = [];
          let offset = 0;
          let turn = 0;
          while (offset < stream.length) {
            const size = cuts[turn++ % cuts.length] ?? 1;
            out.push(...decoder.push(stream.subarray(offset, offset + size)));
            offset += size;
          }
          assert.deepEqual(
            out.map((record) => record.toString('hex')),
            records.map((record) => Buffer.from(record).toString('hex')),
          );
        },
      ),
    );
  });

  it('refuses a record larger than its limit', function () {
    const decoder = new RecordDecoder(16);
    assert.throws(() => decoder.push(encodeRecord(Buffer.alloc(17))), RangeError);
  });
});
