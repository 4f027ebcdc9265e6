import assert from 'node:assert/strict';
import { decodeFrames, encodeFrame } from '../../../src/store/record-framing.js';

describe('store/record-framing', function () {
  const values = [{ rev: 1, text: 'héllo\nworld' }, [1, 2, 3], 'plain', { nested: { deep: true } }];
  const log = Buffer.concat(values.map(encodeFrame));

  it('round-trips every value and reports the whole buffer valid', function () {
    const decoded = decodeFrames(log);
    assert.deepEqual(decoded.values, values);
    assert.equal(decoded.validLength, log.length);
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
