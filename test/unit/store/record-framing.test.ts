import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { decodeFrames, encodeFrame, isTornFrame, scanFrames } from '../../../src/store/record-framing.js';

describe('store/record-framing', function () {
  const values = [{ rev: 1, text: 'héllo\nworld' }, [1, 2, 3], 'plain', { nested: { deep: true } }];
  const log = Buffer.concat(values.map(encodeFrame));

  it('round-trips every value and reports the whole buffer valid', function () {
    const decoded = decodeFrames(log);
    assert.deepEqual(decoded.values, values);
    assert.equal(decoded.validLength, log.length);
  });

  it('writes <crc32 as 8 hex digits> <byte length>\\t<json>\\n, lengths of any number of digits', function () {
    for (const text of ['', 'a'.repeat(7), 'é'.repeat(45), 'x'.repeat(98), 'ü'.repeat(5000)]) {
      const payload = Buffer.from(JSON.stringify({ text }), 'utf8');
      const header = `${crc32(payload).toString(16).padStart(8, '0')} ${payload.length}\t`;
      const expected = Buffer.concat([Buffer.from(header, 'latin1'), payload, Buffer.from('\n')]);
      assert.deepEqual(encodeFrame({ text }), expected, `${payload.length} bytes`);
    }
  });

  it('stops at a torn tail at every possible cut point', function () {
    const ends = [0];
    for (const v of values) ends.push(ends[ends.length - 1]! + encodeFrame(v).length);
    for (let cut = 0; cut < log.length; cut++) {
      const decoded = decodeFrames(log.subarray(0, cut));
      const complete = ends.filter((end) => end <= cut).length - 1;
      assert.equal(decoded.values.length, complete, `cut at ${cut}`);
      assert.equal(decoded.validLength, ends[complete]);
    }
  });

  it('stops at a corrupted byte (CRC mismatch) and keeps what came before', function () {
    const damaged = Buffer.from(log);
    const secondStart = encodeFrame(values[0]).length;
    damaged[secondStart + 12] = damaged[secondStart + 12]! ^ 0x01; // inside the payload
    const decoded = decodeFrames(damaged);
    assert.deepEqual(decoded.values, [values[0]]);
    assert.equal(decoded.validLength, secondStart);
  });

  it('treats zero-filled garbage (a file extended but not written) as torn', function () {
    const decoded = decodeFrames(Buffer.concat([log, Buffer.alloc(64)]));
    assert.equal(decoded.values.length, values.length);
    assert.equal(decoded.validLength, log.length);
  });
});

describe('store/record-framing scan', function () {
  const values = Array.from({ length: 6 }, (_, i) => ({ rev: i + 1, text: `value ${i}` }));
  const frames = values.map(encodeFrame);
  const log = Buffer.concat(frames);
  const startOf = (i: number): number => frames.slice(0, i).reduce((n, f) => n + f.length, 0);

  it('finds the records on both sides of a damaged one and names the damaged range', function () {
    const damaged = Buffer.from(log);
    damaged[startOf(2) + 15] = damaged[startOf(2) + 15]! ^ 0x40;
    const scanned = scanFrames(damaged);
    assert.deepEqual(
      scanned.frames.map((f) => f.value),
      values.filter((_, i) => i !== 2),
    );
    assert.deepEqual(scanned.damaged, [{ start: startOf(2), end: startOf(3) }]);
  });

  it('loses only the frame whose newline was damaged, not the one after it', function () {
    const damaged = Buffer.from(log);
    damaged[startOf(3) - 1] = 0x21;
    const scanned = scanFrames(damaged);
    assert.deepEqual(
      scanned.frames.map((f) => (f.value as { rev: number }).rev),
      [1, 2, 4, 5, 6],
    );
    assert.deepEqual(scanned.damaged, [{ start: startOf(2), end: startOf(3) }]);
  });

  it('reports a zeroed range in the middle as one damaged range and resynchronises after it', function () {
    const damaged = Buffer.from(log);
    damaged.fill(0, startOf(1) + 3, startOf(3) + 5);
    const scanned = scanFrames(damaged);
    assert.deepEqual(
      scanned.frames.map((f) => (f.value as { rev: number }).rev),
      [1, 5, 6],
    );
    assert.deepEqual(scanned.damaged, [{ start: startOf(1), end: startOf(4) }]);
  });

  it('calls only a strict prefix of one frame a torn frame', function () {
    const last = frames[5]!;
    for (let cut = 1; cut < last.length - 1; cut++) {
      assert.equal(isTornFrame(last.subarray(0, cut)), true, `cut at ${cut}`);
    }
    // the whole payload written but the newline lost: a damaged byte, not a crash
    assert.equal(isTornFrame(last.subarray(0, last.length - 1)), false);
    const flipped = Buffer.from(last);
    flipped[12] = flipped[12]! ^ 0x01;
    assert.equal(isTornFrame(flipped), false, 'a complete frame with a bad checksum');
    assert.equal(isTornFrame(Buffer.concat([last.subarray(0, 20), Buffer.alloc(30)])), false, 'zeros');
    assert.equal(isTornFrame(Buffer.alloc(0)), false);
  });
});
