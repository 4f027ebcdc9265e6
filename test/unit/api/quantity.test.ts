import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Quantity,
  QuantityError,
  compareQuantities,
  parseQuantity,
  quantityFromBytes,
  storageBytes,
  tryParseQuantity,
} from '../../../src/api/quantity.js';
import type { QuantityErrorReason, QuantityFormat } from '../../../src/api/quantity.js';

const NANO = 1_000_000_000n;
const MAX_INT64 = 2n ** 63n - 1n;

/** i × 10^exponent in nano-units, like decQuantity in apimachinery's tests. */
function dec(i: bigint | number, exponent: number): bigint {
  const shift = exponent + 9;
  if (shift < 0) throw new Error('dec() below nano precision');
  return BigInt(i) * 10n ** BigInt(shift);
}

const FORMAT_MESSAGE =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

// Ported as data from TestQuantityParse in apimachinery's quantity_test.go: input, exact value, format.
const parseTable: Array<[string, bigint, QuantityFormat]> = [
  ['0', dec(0, 0), 'DecimalSI'],
  ['0n', dec(0, 0), 'DecimalSI'],
  ['0u', dec(0, 0), 'DecimalSI'],
  ['0m', dec(0, 0), 'DecimalSI'],
  ['0Ki', dec(0, 0), 'BinarySI'],
  ['0k', dec(0, 0), 'DecimalSI'],
  ['0Mi', dec(0, 0), 'BinarySI'],
  ['0M', dec(0, 0), 'DecimalSI'],
  ['0Gi', dec(0, 0), 'BinarySI'],
  ['0G', dec(0, 0), 'DecimalSI'],
  ['0Ti', dec(0, 0), 'BinarySI'],
  ['0T', dec(0, 0), 'DecimalSI'],
  ['1', dec(1, 0), 'DecimalSI'],
  ['1Ki', dec(1024, 0), 'BinarySI'],
  ['8Ki', dec(8 * 1024, 0), 'BinarySI'],
  ['7Mi', dec(7 * 1024 ** 2, 0), 'BinarySI'],
  ['6Gi', dec(6 * 1024 ** 3, 0), 'BinarySI'],
  ['5Ti', dec(5 * 1024 ** 4, 0), 'BinarySI'],
  ['4Pi', dec(4n * 1024n ** 5n, 0), 'BinarySI'],
  ['3Ei', dec(3n * 1024n ** 6n, 0), 'BinarySI'],
  ['10Ti', dec(10 * 1024 ** 4, 0), 'BinarySI'],
  ['100Ti', dec(100 * 1024 ** 4, 0), 'BinarySI'],
  ['5n', dec(5, -9), 'DecimalSI'],
  ['4u', dec(4, -6), 'DecimalSI'],
  ['3m', dec(3, -3), 'DecimalSI'],
  ['9', dec(9, 0), 'DecimalSI'],
  ['8k', dec(8, 3), 'DecimalSI'],
  ['50k', dec(5, 4), 'DecimalSI'],
  ['7M', dec(7, 6), 'DecimalSI'],
  ['6G', dec(6, 9), 'DecimalSI'],
  ['5T', dec(5, 12), 'DecimalSI'],
  ['40T', dec(4, 13), 'DecimalSI'],
  ['300T', dec(3, 14), 'DecimalSI'],
  ['2P', dec(2, 15), 'DecimalSI'],
  ['1E', dec(1, 18), 'DecimalSI'],
  ['1E-3', dec(1, -3), 'DecimalExponent'],
  ['1e3', dec(1, 3), 'DecimalExponent'],
  ['1E6', dec(1, 6), 'DecimalExponent'],
  ['1e9', dec(1, 9), 'DecimalExponent'],
  ['1E12', dec(1, 12), 'DecimalExponent'],
  ['1e15', dec(1, 15), 'DecimalExponent'],
  ['1E18', dec(1, 18), 'DecimalExponent'],
  ['1e14', dec(1, 14), 'DecimalExponent'],
  ['1e13', dec(1, 13), 'DecimalExponent'],
  ['100.035k', dec(100035, 0), 'DecimalSI'],
  ['0.001', dec(1, -3), 'DecimalSI'],
  ['0.0005k', dec(5, -1), 'DecimalSI'],
  ['0.005', dec(5, -3), 'DecimalSI'],
  ['0.05', dec(5, -2), 'DecimalSI'],
  ['0.5', dec(5, -1), 'DecimalSI'],
  ['0.00050k', dec(5, -1), 'DecimalSI'],
  ['0.00500', dec(5, -3), 'DecimalSI'],
  ['0.05000', dec(5, -2), 'DecimalSI'],
  ['0.50000', dec(5, -1), 'DecimalSI'],
  ['0.5e0', dec(5, -1), 'DecimalExponent'],
  ['0.5e-1', dec(5, -2), 'DecimalExponent'],
  ['0.5e-2', dec(5, -3), 'DecimalExponent'],
  ['10.035M', dec(10035, 3), 'DecimalSI'],
  ['1.2e3', dec(12, 2), 'DecimalExponent'],
  ['1.3E+6', dec(13, 5), 'DecimalExponent'],
  ['1.40e9', dec(14, 8), 'DecimalExponent'],
  ['1.53E12', dec(153, 10), 'DecimalExponent'],
  ['1.6e15', dec(16, 14), 'DecimalExponent'],
  ['1.7E18', dec(17, 17), 'DecimalExponent'],
  ['9.01', dec(901, -2), 'DecimalSI'],
  ['8.1k', dec(81, 2), 'DecimalSI'],
  ['7.123456M', dec(7123456, 0), 'DecimalSI'],
  ['6.987654321G', dec(6987654321, 0), 'DecimalSI'],
  ['5.444T', dec(5444, 9), 'DecimalSI'],
  ['40.1T', dec(401, 11), 'DecimalSI'],
  ['300.2T', dec(3002, 11), 'DecimalSI'],
  ['2.5P', dec(25, 14), 'DecimalSI'],
  ['1.01E', dec(101, 16), 'DecimalSI'],
  // Things that saturate or round.
  ['3.001n', dec(4, -9), 'DecimalSI'],
  ['1.1E-9', dec(2, -9), 'DecimalExponent'],
  ['0.0000000001', dec(1, -9), 'DecimalSI'],
  ['0.0000000005', dec(1, -9), 'DecimalSI'],
  ['0.00000000050', dec(1, -9), 'DecimalSI'],
  ['0.5e-9', dec(1, -9), 'DecimalExponent'],
  ['0.9n', dec(1, -9), 'DecimalSI'],
  ['0.00000012345', dec(124, -9), 'DecimalSI'],
  ['0.00000012354', dec(124, -9), 'DecimalSI'],
  ['9Ei', MAX_INT64 * NANO, 'BinarySI'],
  ['9223372036854775807Ki', MAX_INT64 * NANO, 'BinarySI'],
  ['12E', dec(12, 18), 'DecimalSI'],
  // Fractional binary.
  ['100.035Ki', dec(10243584, -2), 'BinarySI'],
  ['0.5Mi', dec(0.5 * 1024 * 1024, 0), 'BinarySI'],
  ['0.05Gi', dec(536870912, -1), 'BinarySI'],
  ['0.025Ti', dec(274877906944, -1), 'BinarySI'],
  // Things written by trolls.
  ['0.000000000001Ki', dec(2, -9), 'DecimalSI'],
  ['.001', dec(1, -3), 'DecimalSI'],
  ['.0001k', dec(100, -3), 'DecimalSI'],
  ['1.', dec(1, 0), 'DecimalSI'],
  ['1.G', dec(1, 9), 'DecimalSI'],
];

// Canonical strings: TestQuantityParseEmit, TestQuantityString (expected and alternate spellings)
// and the golden serialization rows of apimachinery, plus the examples kubectl users see.
const canonicalTable: Array<[string, string]> = [
  ['1Ki', '1Ki'],
  ['1Mi', '1Mi'],
  ['1Gi', '1Gi'],
  ['1024Mi', '1Gi'],
  ['1000M', '1G'],
  ['.001Ki', '1024m'],
  ['.000001Ki', '1024u'],
  ['.000000001Ki', '1024n'],
  ['.000000000001Ki', '2n'],
  ['300Mi', '300Mi'],
  ['307200Ki', '300Mi'],
  ['6Ki', '6Ki'],
  ['1025024Mi', '1001Gi'],
  ['1024Gi', '1Ti'],
  ['5000m', '5'],
  ['0.5', '500m'],
  ['0.001T', '1G'],
  ['1000u', '1m'],
  ['80m', '80m'],
  ['1.08', '1080m'],
  ['1080000000n', '1080m'],
  ['300M', '300M'],
  ['1T', '1T'],
  ['1E', '1E'],
  ['100E', '100E'],
  ['1000E', '1e21'],
  ['5000E', '5e21'],
  ['1000000E', '1e24'],
  ['1234567M', '1234567M'],
  ['1234567m', '1234567m'],
  ['3k', '3k'],
  ['1025', '1025'],
  ['.001e12', '1e9'],
  ['0.001e0', '1e-3'],
  ['1000e-12', '1e-9'],
  ['80e-3', '80e-3'],
  ['300e6', '300e6'],
  ['3e3', '3e3'],
  ['00', '0'],
  ['1n', '1n'],
  ['1080n', '1080n'],
  ['1080u', '1080u'],
  ['0.1', '100m'],
  ['0.000000000000001', '1n'],
  ['1.5', '1500m'],
  ['1.441', '1441m'],
  ['1.000001', '1000001u'],
  ['1.000000001', '1000000001n'],
  ['9223372036854775807', '9223372036854775807'],
  ['9223372036854775808', '9223372036854775808'],
  ['18446744073709551616', '18446744073709551616'],
  ['1e100', '10e99'],
  ['8Ei', '9223372036854775807'],
  ['-20Ei', '-9223372036854775807'],
  ['-9.5Gi', '-9728Mi'],
  ['-9.5000000001Gi', '-10200547328107374183n'],
  // The brief's examples.
  ['1.5Gi', '1536Mi'],
  ['1000Mi', '1000Mi'],
  ['5G', '5G'],
  ['1e3', '1e3'],
  ['100m', '100m'],
  ['1.1', '1100m'],
  ['12Mi', '12Mi'],
  ['0', '0'],
  ['1.1Ki', '1126400m'],
  ['100.035Ki', '102435840m'],
  // Spellings Kubernetes still echoes verbatim (upstream bug #141166); berth prints them canonically.
  ['5.', '5'],
  ['+1', '1'],
  ['01', '1'],
  ['1E3', '1e3'],
  ['1e+21', '1e21'],
  ['1e0', '1'],
  ['123e0', '123'],
];

const invalidTable: Array<[string, QuantityErrorReason]> = [
  ['', 'format'],
  ['1.1.M', 'format'],
  ['1+1.0M', 'format'],
  ['0.1mi', 'suffix'],
  ['0.1am', 'format'],
  ['aoeu', 'format'],
  ['.5i', 'suffix'],
  ['1i', 'suffix'],
  ['-3.01i', 'suffix'],
  ['-3.01e-', 'suffix'],
  [' 1', 'format'],
  ['1 ', 'format'],
  ['Non-Numeric', 'format'],
  ['1Kib', 'format'],
  ['1KB', 'format'],
  ['1ki', 'suffix'],
  ['1e', 'suffix'],
  ['1e9223372036854775808', 'suffix'],
  // Digit-less mantissas that Kubernetes' decimal parser rejects.
  ['Pi', 'numeric'],
  ['.Ei', 'numeric'],
  ['e-10', 'numeric'],
  // berth's size limit, where Kubernetes would wrap the exponent or hang.
  ['1e4294967297', 'range'],
  ['1e2147483647', 'range'],
  ['1e5000', 'range'],
];

describe('api/quantity', () => {
  describe('parseQuantity (apimachinery TestQuantityParse)', () => {
    for (const [input, nanos, format] of parseTable) {
      it(`parses ${input}`, () => {
        const q = parseQuantity(input);
        assert.equal(q.nanos, nanos);
        assert.equal(q.format, format);
      });
    }

    it('parses every row with an explicit sign', () => {
      for (const [input, nanos, format] of parseTable) {
        const negative = parseQuantity(`-${input}`);
        assert.equal(negative.nanos, -nanos, `-${input}`);
        assert.equal(negative.format, format, `-${input}`);
        const positive = parseQuantity(`+${input}`);
        assert.equal(positive.nanos, nanos, `+${input}`);
        assert.equal(positive.format, format, `+${input}`);
      }
    });

    it('reads a digit-less mantissa as zero where Kubernetes does', () => {
      for (const [input, format] of [
        ['Ki', 'BinarySI'],
        ['.Ti', 'BinarySI'],
        ['.', 'DecimalSI'],
        ['-', 'DecimalSI'],
        ['k', 'DecimalSI'],
        ['e-9', 'DecimalExponent'],
        ['e21', 'DecimalExponent'],
      ] as const) {
        const q = parseQuantity(input);
        assert.ok(q.isZero(), input);
        assert.equal(q.format, format, input);
      }
    });

    it('keeps zero exact for any exponent', () => {
      for (const input of ['0e-2147483648', '0.0e8589934592', '0Pi', '0.0Ei', '-0']) {
        assert.ok(parseQuantity(input).isZero(), input);
      }
    });

    it('rounds values far below a nano up to 1n instead of wrapping the exponent', () => {
      assert.equal(parseQuantity('1e-1000').nanos, 1n);
      assert.equal(parseQuantity('5e-10').nanos, 1n);
      assert.equal(parseQuantity('-7e-2147483648').nanos, -1n);
      assert.equal(parseQuantity('1e-4294967297').toString(), '1e-9');
    });

    it('holds decimal values beyond int64 exactly and caps only BinarySI', () => {
      assert.equal(parseQuantity('12E').value(), 12n * 10n ** 18n);
      assert.equal(parseQuantity('1e1000').toString(), '10e999');
      assert.equal(parseQuantity('8Ei').value(), MAX_INT64);
      assert.equal(parseQuantity('7Ei').value(), 7n * 2n ** 60n);
    });

    it('reads numbers as YAML gives them', () => {
      assert.equal(parseQuantity(1).toString(), '1');
      assert.equal(parseQuantity(1.5).toString(), '1500m');
      assert.equal(parseQuantity(1024).toString(), '1024');
      assert.equal(parseQuantity(1000).toString(), '1k');
      assert.equal(parseQuantity(-2).toString(), '-2');
      assert.equal(parseQuantity(0).toString(), '0');
      assert.equal(parseQuantity(1e21).toString(), '1e21');
      assert.equal(parseQuantity(1e-7).toString(), '100e-9');
      assert.equal(parseQuantity(10737418240n).value(), 10737418240n);
    });

    for (const [input, reason] of invalidTable) {
      it(`rejects ${JSON.stringify(input)} (${reason})`, () => {
        assert.throws(
          () => parseQuantity(input),
          (err: unknown) => err instanceof QuantityError && err.reason === reason && err.input === input,
        );
      });
    }

    it('uses the Kubernetes error messages', () => {
      assert.throws(() => parseQuantity('aoeu'), { name: 'QuantityError', message: FORMAT_MESSAGE });
      assert.throws(() => parseQuantity('1i'), { message: "unable to parse quantity's suffix" });
      assert.throws(() => parseQuantity('Pi'), { message: 'unable to parse numeric part of quantity' });
    });

    it('rejects numbers that are not finite', () => {
      for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        assert.throws(() => parseQuantity(n), QuantityError);
      }
    });
  });

  describe('toString (Quantity.String / CanonicalizeBytes)', () => {
    for (const [input, expected] of canonicalTable) {
      it(`prints ${input} as ${expected}`, () => {
        assert.equal(parseQuantity(input).toString(), expected);
        if (expected !== '0')
          assert.equal(
            parseQuantity(`-${input.replace(/^[+-]/, '')}`).toString(),
            `-${expected.replace(/^-/, '')}`,
          );
      });
    }

    // TestQuantityString: values built directly, with their format.
    const built: Array<[bigint, QuantityFormat, string]> = [
      [dec(1024 ** 3, 0), 'BinarySI', '1Gi'],
      [dec(5, 0), 'BinarySI', '5'],
      [dec(500, -3), 'BinarySI', '500m'],
      [dec(1234567, -3), 'BinarySI', '1234567m'],
      [dec(1025, 0), 'BinarySI', '1025'],
      [dec(0, 0), 'BinarySI', '0'],
      [dec(1000, 6), 'DecimalSI', '1G'],
      [dec(108, -2), 'DecimalSI', '1080m'],
      [dec(10800, -4), 'DecimalSI', '1080m'],
      [dec(1, 21), 'DecimalSI', '1e21'],
      [dec(1, 9), 'DecimalExponent', '1e9'],
      [dec(1, -9), 'DecimalExponent', '1e-9'],
      [dec(0, 0), 'DecimalExponent', '0'],
      [dec(1024, -3), 'BinarySI', '1024m'],
      [dec(1024 * 1024, -3), 'BinarySI', '1048576m'],
      [dec(1024 * 1024, 0), 'BinarySI', '1Mi'],
      [dec(1234000, 0), 'DecimalSI', '1234k'],
      [dec(1, 6), 'DecimalExponent', '1e6'],
      [dec(1024, 0), 'BinarySI', '1Ki'],
      [dec(-1024, 0), 'BinarySI', '-1Ki'],
      [dec(-1023, 0), 'BinarySI', '-1023'],
    ];
    for (const [nanos, format, expected] of built) {
      it(`prints ${nanos}n nanos in ${format} as ${expected}`, () => {
        assert.equal(new Quantity(nanos, format).toString(), expected);
      });
    }

    it('keeps the Ei suffix for multiples of 1024Ei, which Kubernetes prints without one', () => {
      assert.equal(quantityFromBytes(2n ** 70n).toString(), '1024Ei');
      assert.equal(quantityFromBytes(2n ** 63n).toString(), '8Ei');
    });

    it('serializes to JSON as the canonical string', () => {
      assert.equal(JSON.stringify({ storage: parseQuantity('1.5Gi') }), '{"storage":"1536Mi"}');
    });
  });

  describe('value and milliValue', () => {
    it('rounds up to whole units', () => {
      assert.equal(storageBytes('1Gi'), 1073741824n);
      assert.equal(storageBytes('1.5Gi'), 1610612736n);
      assert.equal(storageBytes('1500m'), 2n);
      assert.equal(storageBytes('0.5'), 1n);
      assert.equal(storageBytes('1n'), 1n);
      assert.equal(storageBytes('10G'), 10_000_000_000n);
      assert.equal(storageBytes(1024), 1024n);
      assert.equal(storageBytes('0'), 0n);
      assert.equal(parseQuantity('-1.5').value(), -1n);
    });

    it('rounds milli values up', () => {
      assert.equal(parseQuantity('1.0005').milliValue(), 1001n);
      assert.equal(parseQuantity('1').milliValue(), 1000n);
      assert.equal(parseQuantity('1n').milliValue(), 1n);
      assert.equal(parseQuantity('1Ki').milliValue(), 1024000n);
    });
  });

  describe('comparison and arithmetic', () => {
    it('compares like TestQuantityCmp', () => {
      assert.equal(compareQuantities('0', '0'), 0);
      assert.equal(compareQuantities('100m', '50m'), 1);
      assert.equal(compareQuantities('50m', '100m'), -1);
      assert.equal(compareQuantities('10000T', '100Gi'), 1);
    });

    it('compares across suffix families', () => {
      assert.equal(compareQuantities('1Gi', '1G'), 1);
      assert.equal(compareQuantities('1024Mi', '1Gi'), 0);
      assert.equal(compareQuantities('1000M', '1G'), 0);
      assert.equal(compareQuantities('1e9', '1G'), 0);
      assert.equal(compareQuantities(5, '5000m'), 0);
      assert.equal(compareQuantities('-1', '0'), -1);
      assert.equal(compareQuantities('12E', '8Ei'), 1);
    });

    it('adds and subtracts keeping the receiver format, or the other one when zero (TestAdd, TestSub)', () => {
      const ten = parseQuantity('10');
      const oneBinary = new Quantity(NANO, 'BinarySI');
      const tenBinary = new Quantity(10n * NANO, 'BinarySI');
      assert.equal(ten.add(parseQuantity('1e1')).nanos, 20n * NANO);
      assert.equal(ten.add(oneBinary).format, 'DecimalSI');
      assert.equal(tenBinary.add(parseQuantity('1')).format, 'BinarySI');
      assert.equal(ten.sub(parseQuantity('1e1')).isZero(), true);
      assert.equal(tenBinary.sub(parseQuantity('1')).nanos, 9n * NANO);
      assert.equal(parseQuantity('0').sub(parseQuantity('50')).nanos, -50n * NANO);
    });

    it('keeps the suffix when adding or subtracting zero (TestQuantityAddZeroPreservesSuffix)', () => {
      const zero = parseQuantity('0');
      for (const text of ['100m', '1Gi']) {
        const q = parseQuantity(text);
        assert.equal(q.add(zero).toString(), text);
        assert.equal(zero.add(q).toString(), text);
        assert.equal(q.sub(zero).toString(), text);
        assert.equal(zero.sub(q).toString(), q.neg().toString());
      }
    });

    it('exposes sign and zero tests', () => {
      assert.equal(parseQuantity('-1m').sign(), -1);
      assert.equal(parseQuantity('0Gi').sign(), 0);
      assert.equal(parseQuantity('1Gi').sign(), 1);
      assert.equal(parseQuantity('0.0').isZero(), true);
      assert.equal(parseQuantity('9.01').neg().toString(), '-9010m');
    });
  });

  describe('helpers', () => {
    it('tryParseQuantity returns undefined for anything unparsable', () => {
      assert.equal(tryParseQuantity('5Gi')?.toString(), '5Gi');
      assert.equal(tryParseQuantity(3)?.toString(), '3');
      for (const bad of ['5GB', '', null, undefined, {}, [], true, Number.NaN]) {
        assert.equal(tryParseQuantity(bad), undefined, JSON.stringify(bad));
      }
    });

    it('quantityFromBytes builds BinarySI by default', () => {
      assert.equal(quantityFromBytes(1610612736n).toString(), '1536Mi');
      assert.equal(quantityFromBytes(1000n).toString(), '1k'); // below 1Ki BinarySI prints as DecimalSI
      assert.equal(quantityFromBytes(5_000_000_000n, 'DecimalSI').toString(), '5G');
      assert.equal(quantityFromBytes(1000n, 'DecimalExponent').toString(), '1e3');
      assert.equal(quantityFromBytes(4096).toString(), '4Ki');
      assert.throws(() => quantityFromBytes(1.5), RangeError);
    });

    it('parseQuantity passes a Quantity through', () => {
      const q = parseQuantity('1Gi');
      assert.equal(parseQuantity(q), q);
      assert.equal(compareQuantities(q, '1024Mi'), 0);
    });
  });

  describe('properties', () => {
    const formats = fc.constantFrom<QuantityFormat>('BinarySI', 'DecimalSI', 'DecimalExponent');
    const binaryCap = MAX_INT64 * NANO;
    // Plain nano counts, and values built on suffix boundaries so every suffix is reached.
    const nanoCounts = fc.oneof(
      fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
      fc
        .tuple(fc.bigInt({ min: -1023n, max: 1023n }), fc.integer({ min: 0, max: 6 }))
        .map(([m, p]) => m * 1024n ** BigInt(p) * NANO),
      fc
        .tuple(fc.bigInt({ min: -999n, max: 999n }), fc.integer({ min: 0, max: 40 }))
        .map(([m, p]) => m * 10n ** BigInt(p)),
    );
    const quantities = fc
      .tuple(nanoCounts, formats)
      .filter(([n, f]) => f !== 'BinarySI' || (n <= binaryCap && n >= -binaryCap))
      .map(([n, f]) => new Quantity(n, f));

    it('parse(toString(q)) equals q, and the printed form settles after one re-parse', () => {
      fc.assert(
        fc.property(quantities, (q) => {
          const text = q.toString();
          const back = parseQuantity(text);
          assert.equal(back.nanos, q.nanos, text);
          // BinarySI 10000 prints "10000", which reads back as DecimalSI and then prints "10k".
          const settled = back.toString();
          assert.equal(parseQuantity(settled).toString(), settled);
          assert.equal(parseQuantity(JSON.parse(JSON.stringify(q)) as string).nanos, q.nanos);
        }),
        { numRuns: 200 },
      );
    });

    it('value() is the smallest whole number not below the exact value', () => {
      fc.assert(
        fc.property(quantities, (q) => {
          const v = q.value();
          assert.ok(v * NANO >= q.nanos);
          assert.ok((v - 1n) * NANO < q.nanos);
        }),
        { numRuns: 200 },
      );
    });

    it('compare agrees with the sign of the difference and is antisymmetric', () => {
      fc.assert(
        fc.property(quantities, quantities, (a, b) => {
          assert.equal(a.compare(b), a.sub(b).sign());
          assert.equal(b.compare(a), -a.compare(b) || 0);
          assert.equal(a.add(b).sub(b).nanos, a.nanos);
        }),
        { numRuns: 200 },
      );
    });

    it('parses written quantities to the exact value rounded up to a nano', () => {
      const decimalSuffixes = Object.entries({
        n: -9,
        u: -6,
        m: -3,
        '': 0,
        k: 3,
        M: 6,
        G: 9,
        T: 12,
        P: 15,
        E: 18,
      });
      const units = fc.oneof(
        fc.constantFrom(...decimalSuffixes.map(([text, pow10]) => ({ text, pow10, pow2: 0 }))),
        fc.constantFrom(
          ...['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'].map((text, i) => ({ text, pow10: 0, pow2: (i + 1) * 10 })),
        ),
        fc.integer({ min: -30, max: 30 }).map((e) => ({ text: `e${e}`, pow10: e, pow2: 0 })),
      );
      const written = fc.tuple(
        fc.boolean(),
        fc.stringMatching(/^[0-9]{1,12}$/),
        fc.stringMatching(/^[0-9]{0,12}$/),
        units,
      );
      fc.assert(
        fc.property(written, ([negative, whole, fraction, unit]) => {
          const text = `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}${unit.text}`;
          const q = parseQuantity(text);
          // exact = digits × 2^pow2 × 10^(pow10 - fractionDigits); compare nanos against it exactly.
          const digits = BigInt(whole + fraction) * 2n ** BigInt(unit.pow2);
          const shift = unit.pow10 - fraction.length + 9;
          const [numerator, denominator] =
            shift >= 0 ? [digits * 10n ** BigInt(shift), 1n] : [digits, 10n ** BigInt(-shift)];
          const magnitude = negative ? -q.nanos : q.nanos;
          if (unit.pow2 > 0 && numerator > MAX_INT64 * NANO * denominator) {
            assert.equal(magnitude, MAX_INT64 * NANO, `${text} caps at 2^63-1`);
            return;
          }
          assert.ok(magnitude * denominator >= numerator, `${text} not below exact`);
          assert.ok((magnitude - 1n) * denominator < numerator || magnitude === 0n, `${text} within a nano`);
        }),
        { numRuns: 200 },
      );
    });
  });
});
