import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromBigInt, toBigInt } from '../../../src/csi/types.js';

describe('csi int64 helpers', () => {
  it('round-trips values above 2^53 exactly', () => {
    const big = 2n ** 53n + 1n;
    assert.equal(fromBigInt(big), '9007199254740993');
    assert.equal(toBigInt('9007199254740993'), big);
    assert.equal(toBigInt(fromBigInt(2n ** 63n - 1n)), 2n ** 63n - 1n);
  });

  it('round-trips any int64', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        (n) => toBigInt(fromBigInt(n)) === n,
      ),
    );
  });

  it('treats unset values as zero and accepts safe numbers', () => {
    assert.equal(toBigInt(''), 0n);
    assert.equal(toBigInt(undefined), 0n);
    assert.equal(toBigInt(null), 0n);
    assert.equal(toBigInt(42), 42n);
    assert.equal(fromBigInt(1024), '1024');
  });

  it('rejects what is not an int64', () => {
    assert.throws(() => toBigInt('1.5'), RangeError);
    assert.throws(() => toBigInt('12abc'), RangeError);
    assert.throws(() => toBigInt(2 ** 60), RangeError);
    assert.throws(() => fromBigInt(2n ** 63n), RangeError);
    assert.throws(() => fromBigInt(-(2n ** 63n) - 1n), RangeError);
  });
});
