// Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource), held exactly as a bigint
// count of nano-units. Parsing rounds to nano the way Kubernetes does, and printing follows
// Quantity.String(), so "1.5Gi" prints as "1536Mi" and "0.5" as "500m". No floating point anywhere.
//
// Where Kubernetes misbehaves at the edges, berth keeps the value right instead:
// - Kubernetes echoes some non-canonical inputs verbatim from String() ("1.441", "1E3", "+1");
//   upstream tracks that as a bug (#138165, #141166). berth always prints the canonical form.
// - Kubernetes truncates exponents to int32 (so "1e4294967297" means 10) and hangs near the
//   int32 edges. berth rounds tiny values up to 1n and rejects magnitudes of 10^4000 and above.
// - Kubernetes prints BinarySI multiples of 1024Ei without a suffix; berth keeps "Ei".

export type QuantityFormat = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

/** What a quantity may be built from: manifest strings, YAML numbers, bigints, or a parsed one. */
export type QuantityInput = string | number | bigint | Quantity;

/** Which Kubernetes parse error (ErrFormatWrong, ErrNumeric, ErrSuffix), or berth's size limit. */
export type QuantityErrorReason = 'format' | 'numeric' | 'suffix' | 'range';

const SPLIT_RE_STRING = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';

/** The largest decimal exponent of whole units berth holds; beyond it a quantity is rejected. */
export const MAX_QUANTITY_EXPONENT = 4000;

export const QUANTITY_ERROR_MESSAGES: Readonly<Record<QuantityErrorReason, string>> = {
  format: `quantities must match the regular expression '${SPLIT_RE_STRING}'`,
  numeric: 'unable to parse numeric part of quantity',
  suffix: "unable to parse quantity's suffix",
  range: `quantity is too large: its magnitude must stay below 10^${MAX_QUANTITY_EXPONENT}`,
};

export class QuantityError extends Error {
  readonly reason: QuantityErrorReason;
  readonly input: string;

  constructor(reason: QuantityErrorReason, input: string) {
    super(QUANTITY_ERROR_MESSAGES[reason]);
    this.name = 'QuantityError';
    this.reason = reason;
    this.input = input;
  }
}

const NANOS_PER_UNIT = 1_000_000_000n;
const NANOS_PER_MILLI = 1_000_000n;
const MAX_INT64 = 2n ** 63n - 1n;
/** Parsing caps BinarySI magnitudes at 2^63-1 whole units, as Kubernetes does. */
const BINARY_CAP_NANOS = MAX_INT64 * NANOS_PER_UNIT;
const MAX_NANO_DIGITS = MAX_QUANTITY_EXPONENT + 9;

const DECIMAL_SUFFIXES = new Map<string, number>([
  ['n', -9],
  ['u', -6],
  ['m', -3],
  ['', 0],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
]);
const DECIMAL_SUFFIX_BY_EXPONENT = new Map<number, string>([...DECIMAL_SUFFIXES].map(([s, e]) => [e, s]));
/** Index = power of 1024. */
const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;
const SUFFIX_CHARS = 'eEinumkKMGTP';

export class Quantity {
  /** The exact value times 10^9. */
  readonly nanos: bigint;
  /** How toString() prints the value; parsing remembers the suffix family it saw. */
  readonly format: QuantityFormat;
  #text: string | undefined;

  constructor(nanos: bigint, format: QuantityFormat = 'DecimalSI') {
    if (typeof nanos !== 'bigint') throw new TypeError('Quantity nanos must be a bigint');
    if (format !== 'BinarySI' && format !== 'DecimalSI' && format !== 'DecimalExponent') {
      throw new TypeError(`unknown quantity format ${String(format)}`);
    }
    this.nanos = nanos;
    this.format = format;
  }

  /** Whole units rounded up (toward +infinity): the byte count a storage request needs. */
  value(): bigint {
    return ceilDiv(this.nanos, NANOS_PER_UNIT);
  }

  /** Thousandths of a unit rounded up (toward +infinity), like Kubernetes MilliValue(). */
  milliValue(): bigint {
    return ceilDiv(this.nanos, NANOS_PER_MILLI);
  }

  compare(other: Quantity): -1 | 0 | 1 {
    return this.nanos < other.nanos ? -1 : this.nanos > other.nanos ? 1 : 0;
  }

  equals(other: Quantity): boolean {
    return this.nanos === other.nanos;
  }

  /** Sum in this quantity's format; a zero takes the other's format, as Kubernetes Add does. */
  add(other: Quantity): Quantity {
    return new Quantity(this.nanos + other.nanos, this.nanos === 0n ? other.format : this.format);
  }

  sub(other: Quantity): Quantity {
    return new Quantity(this.nanos - other.nanos, this.nanos === 0n ? other.format : this.format);
  }

  neg(): Quantity {
    return new Quantity(-this.nanos, this.format);
  }

  isZero(): boolean {
    return this.nanos === 0n;
  }

  sign(): -1 | 0 | 1 {
    return this.nanos < 0n ? -1 : this.nanos > 0n ? 1 : 0;
  }

  /** The canonical form Kubernetes and kubectl print (Quantity.String()). */
  toString(): string {
    this.#text ??= canonicalize(this.nanos, this.format);
    return this.#text;
  }

  toJSON(): string {
    return this.toString();
  }
}

/**
 * Parses a quantity the way Kubernetes ParseQuantity does. Numbers are read as YAML gives them
 * (1 is "1", 1.5 is "1500m"). Throws QuantityError with the Kubernetes message.
 */
export function parseQuantity(input: QuantityInput): Quantity {
  if (input instanceof Quantity) return input;
  const text = quantityText(input);
  if (text === '') throw new QuantityError('format', text);
  const scanned = scanQuantity(text);
  const unit = interpretSuffix(scanned.suffix, text);
  if (!scanned.hasDigits) {
    // Kubernetes reads a mantissa without digits ("Ki", ".", "-") as zero, but only where its
    // int64 fast path applies; elsewhere its decimal parser rejects it.
    if (!digitlessIsZero(unit)) throw new QuantityError('numeric', text);
    return new Quantity(0n, unit.format);
  }
  const mantissa = BigInt(scanned.digits);
  const nanos =
    unit.base === 2
      ? ceilScaleNanos(mantissa << BigInt(unit.exponent), 9 - scanned.fractionDigits, text)
      : ceilScaleNanos(mantissa, unit.exponent - scanned.fractionDigits + 9, text);
  let magnitude = nanos;
  let format = unit.format;
  if (format === 'BinarySI') {
    if (magnitude > BINARY_CAP_NANOS) magnitude = BINARY_CAP_NANOS;
    // Below one unit a binary suffix cannot be printed, so Kubernetes switches to DecimalSI.
    if (magnitude > 0n && magnitude < NANOS_PER_UNIT) format = 'DecimalSI';
  }
  return new Quantity(scanned.negative ? -magnitude : magnitude, format);
}

export function tryParseQuantity(input: unknown): Quantity | undefined {
  if (
    !(input instanceof Quantity) &&
    typeof input !== 'string' &&
    typeof input !== 'number' &&
    typeof input !== 'bigint'
  ) {
    return undefined;
  }
  try {
    return parseQuantity(input);
  } catch (err) {
    if (err instanceof QuantityError) return undefined;
    throw err;
  }
}

/** A whole number of bytes (or other units) as a quantity, BinarySI unless told otherwise. */
export function quantityFromBytes(bytes: bigint | number, format: QuantityFormat = 'BinarySI'): Quantity {
  if (typeof bytes === 'number' && !Number.isSafeInteger(bytes)) {
    throw new RangeError(`quantityFromBytes needs a safe integer, got ${bytes}`);
  }
  return new Quantity(BigInt(bytes) * NANOS_PER_UNIT, format);
}

/** Bytes a storage quantity asks for: the value rounded up to a whole byte. */
export function storageBytes(input: QuantityInput): bigint {
  return parseQuantity(input).value();
}

/** storageBytes for a value that may be absent or unparsable: undefined then. */
export function tryStorageBytes(input: unknown): bigint | undefined {
  return tryParseQuantity(input)?.value();
}

export function compareQuantities(a: QuantityInput, b: QuantityInput): number {
  return parseQuantity(a).compare(parseQuantity(b));
}

function quantityText(input: string | number | bigint): string {
  if (typeof input === 'string') return input;
  if (typeof input === 'bigint') return input.toString();
  if (!Number.isFinite(input)) throw new QuantityError('format', String(input));
  // String() matches how a YAML number reaches Kubernetes through JSON ("1.5", "1e+21", "1e-7").
  return String(input);
}

interface ScannedQuantity {
  negative: boolean;
  /** Integer and fraction digits together, the decimal point dropped. */
  digits: string;
  fractionDigits: number;
  hasDigits: boolean;
  suffix: string;
}

/** The Kubernetes scanner: sign, digits, optional fraction, then [eEinumkKMGTP]*[+-]?[0-9]*. */
function scanQuantity(text: string): ScannedQuantity {
  let pos = 0;
  let negative = false;
  if (text[0] === '-' || text[0] === '+') {
    negative = text[0] === '-';
    pos++;
  }
  const wholeStart = pos;
  while (isDigit(text[pos])) pos++;
  const whole = text.slice(wholeStart, pos);
  let fraction = '';
  if (text[pos] === '.') {
    const fractionStart = ++pos;
    while (isDigit(text[pos])) pos++;
    fraction = text.slice(fractionStart, pos);
  }
  const suffixStart = pos;
  while (pos < text.length && SUFFIX_CHARS.includes(text[pos] ?? '')) pos++;
  if (text[pos] === '+' || text[pos] === '-') pos++;
  while (isDigit(text[pos])) pos++;
  if (pos < text.length) throw new QuantityError('format', text);
  return {
    negative,
    digits: whole + fraction,
    fractionDigits: fraction.length,
    hasDigits: whole.length + fraction.length > 0,
    suffix: text.slice(suffixStart),
  };
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

interface SuffixUnit {
  base: 2 | 10;
  /** Power of the base; clamped far outside the representable range, never past it. */
  exponent: number;
  /** The exponent as Kubernetes holds it after truncating to int32. */
  int32Exponent: number;
  format: QuantityFormat;
}

function interpretSuffix(suffix: string, text: string): SuffixUnit {
  const decimal = DECIMAL_SUFFIXES.get(suffix);
  if (decimal !== undefined) {
    return { base: 10, exponent: decimal, int32Exponent: decimal, format: 'DecimalSI' };
  }
  const binary = BINARY_SUFFIXES.indexOf(suffix as (typeof BINARY_SUFFIXES)[number]);
  if (binary > 0) return { base: 2, exponent: binary * 10, int32Exponent: binary * 10, format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?\d+$/.test(suffix.slice(1))) {
    const exponent = BigInt(suffix.slice(1));
    // Kubernetes reads the exponent as an int64 and fails beyond it.
    if (exponent > MAX_INT64 || exponent < -MAX_INT64 - 1n) throw new QuantityError('suffix', text);
    // Far enough out that the clamped value still overflows the range or rounds up to 1n.
    const limit = BigInt(text.length + MAX_NANO_DIGITS + 9);
    const clamped = exponent > limit ? limit : exponent < -limit ? -limit : exponent;
    return {
      base: 10,
      exponent: Number(clamped),
      int32Exponent: Number(BigInt.asIntN(32, exponent)),
      format: 'DecimalExponent',
    };
  }
  throw new QuantityError('suffix', text);
}

/** Whether Kubernetes' int64 fast path takes a digit-less mantissa (and so reads it as zero). */
function digitlessIsZero(unit: SuffixUnit): boolean {
  if (unit.base === 10) return unit.int32Exponent >= -9;
  // The fast path's precision estimate for a one-digit mantissa: Ki to Ti pass, Pi and Ei do not.
  return 13 - Math.trunc((unit.exponent * 3) / 10) >= 0;
}

/** ceil(mantissa × 10^pow10) for mantissa >= 0, without building powers far past the answer. */
function ceilScaleNanos(mantissa: bigint, pow10: number, text: string): bigint {
  if (mantissa === 0n) return 0n;
  const length = mantissa.toString().length;
  if (pow10 >= 0) {
    if (length + pow10 > MAX_NANO_DIGITS) throw new QuantityError('range', text);
    return mantissa * 10n ** BigInt(pow10);
  }
  // Kubernetes keeps nano precision and rounds anything finer away from zero.
  if (-pow10 > length) return 1n;
  const divisor = 10n ** BigInt(-pow10);
  const quotient = mantissa / divisor;
  return mantissa % divisor === 0n ? quotient : quotient + 1n;
}

/** Division rounding toward +infinity, for a positive divisor. */
function ceilDiv(n: bigint, divisor: bigint): bigint {
  const quotient = n / divisor;
  return n > 0n && n % divisor !== 0n ? quotient + 1n : quotient;
}

/** Quantity.CanonicalizeBytes: no fraction digits, the largest suffix that loses nothing. */
function canonicalize(nanos: bigint, format: QuantityFormat): string {
  if (nanos === 0n) return '0';
  const magnitude = nanos < 0n ? -nanos : nanos;
  // BinarySI needs a whole number of at least 1Ki; anything else prints as DecimalSI.
  if (format === 'BinarySI' && magnitude >= 1024n * NANOS_PER_UNIT && magnitude % NANOS_PER_UNIT === 0n) {
    return binaryString(nanos / NANOS_PER_UNIT);
  }
  return decimalString(nanos, format === 'DecimalExponent' ? 'DecimalExponent' : 'DecimalSI');
}

function binaryString(units: bigint): string {
  let mantissa = units;
  let power = 0;
  while (power < BINARY_SUFFIXES.length - 1 && mantissa % 1024n === 0n) {
    mantissa /= 1024n;
    power++;
  }
  return `${mantissa}${BINARY_SUFFIXES[power]}`;
}

function decimalString(nanos: bigint, format: 'DecimalSI' | 'DecimalExponent'): string {
  const sign = nanos < 0n ? '-' : '';
  const all = (nanos < 0n ? -nanos : nanos).toString();
  let digits = all.replace(/0+$/, '');
  let exponent = -9 + (all.length - digits.length);
  // Lower the exponent to a multiple of three so it matches an SI suffix.
  const excess = ((exponent % 3) + 3) % 3;
  digits += '0'.repeat(excess);
  exponent -= excess;
  let suffix: string;
  if (format === 'DecimalExponent') suffix = exponent === 0 ? '' : `e${exponent}`;
  else suffix = DECIMAL_SUFFIX_BY_EXPONENT.get(exponent) ?? `e${exponent}`; // beyond "E" (10^18)
  return `${sign}${digits}${suffix}`;
}
