// Framing for the log and snapshot files: one JSON document per line, behind a header that
// carries its CRC-32 and byte length, so torn writes and damaged bytes are both detected.
//   <crc32 as 8 hex digits> <byte length>\t<json>\n
// JSON text never holds a raw newline or a NUL byte, so a newline ends every frame and a scan
// can find the next frame after damage; zero-filled bytes never decode as a frame.
import { crc32 } from 'node:zlib';

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;

export function encodeFrame(value: unknown): Buffer {
  return encodeJsonFrame(JSON.stringify(value));
}

/** The frame of JSON text serialised before, written into one buffer. */
export function encodeJsonFrame(json: string): Buffer {
  const length = Buffer.byteLength(json, 'utf8');
  // the header's length is known before the checksum: 8 hex digits, a space, the length, a tab
  const start = 10 + String(length).length;
  const frame = Buffer.allocUnsafe(start + length + 1);
  frame.write(json, start, 'utf8');
  const crc = crc32(frame.subarray(start, start + length));
  frame.write(`${crc.toString(16).padStart(8, '0')} ${length}\t`, 0, 'latin1');
  frame[start + length] = NEWLINE;
  return frame;
}

export interface DecodedFrames {
  values: unknown[];
  /** Bytes of `buffer` holding complete, intact frames; anything after is torn or corrupt. */
  validLength: number;
}

/** Decodes frames from the start of `buffer`, stopping at the first incomplete or corrupt one. */
export function decodeFrames(buffer: Buffer): DecodedFrames {
  const values: unknown[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const frame = decodeFrameAt(buffer, offset);
    if (!frame) break;
    values.push(frame.value);
    offset = frame.end;
  }
  return { values, validLength: offset };
}

export interface ScannedFrame {
  value: unknown;
  offset: number;
  end: number;
}

/** A run of bytes that holds no intact frame. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ScannedFrames {
  frames: ScannedFrame[];
  /** Unreadable ranges, in order; the last may reach the end of the buffer. */
  damaged: ByteRange[];
}

/**
 * Decodes every intact frame of `buffer`, scanning past unreadable bytes to the next frame
 * (frames start after a newline), so that records on both sides of damage are found.
 * `bytesVerified`: the caller checked every byte against a digest of the whole (a snapshot's
 * SHA-256), so each frame's CRC-32 is not computed again.
 */
export function scanFrames(buffer: Buffer, bytesVerified = false): ScannedFrames {
  const frames: ScannedFrame[] = [];
  const damaged: ByteRange[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const frame = decodeFrameAt(buffer, offset, !bytesVerified);
    if (frame) {
      frames.push({ value: frame.value, offset, end: frame.end });
      offset = frame.end;
      continue;
    }
    const start = offset;
    // where the frame's own header says it ends (its newline may be the damaged byte), else
    // after the next newline
    const declared = declaredEnd(buffer, offset);
    if (declared !== undefined && decodeFrameAt(buffer, declared)) {
      damaged.push({ start, end: declared });
      offset = declared;
      continue;
    }
    let next = buffer.indexOf(NEWLINE, offset) + 1;
    while (next > 0 && next < buffer.length && !decodeFrameAt(buffer, next)) {
      next = buffer.indexOf(NEWLINE, next) + 1;
    }
    offset = next > 0 ? next : buffer.length;
    damaged.push({ start, end: offset });
  }
  return { frames, damaged };
}

/** The frame that ends `buffer` exactly, if it is intact. */
export function lastFrame(buffer: Buffer): ScannedFrame | undefined {
  if (buffer[buffer.length - 1] !== NEWLINE) return undefined;
  const offset = buffer.lastIndexOf(NEWLINE, buffer.length - 2) + 1;
  const frame = decodeFrameAt(buffer, offset);
  return frame && frame.end === buffer.length ? { value: frame.value, offset, end: frame.end } : undefined;
}

/**
 * True when `tail` can be what a crash in the middle of appending one frame leaves: a strict
 * prefix of a frame (no newline yet, no NUL, a header that parses as far as it goes, and a
 * payload shorter than its header says). A complete frame with a bad checksum is damage.
 */
export function isTornFrame(tail: Buffer): boolean {
  if (tail.length === 0 || tail.includes(NEWLINE) || tail.includes(0)) return false;
  const text = tail.toString('latin1');
  if (/^[0-9a-f]{0,8}$/.test(text) || /^[0-9a-f]{8} \d{0,20}$/.test(text)) return true;
  const header = /^[0-9a-f]{8} (\d{1,20})\t/.exec(text);
  if (!header) return false;
  // a payload as long as its header says was written in full: a bad byte, not a crash
  return tail.length - header[0].length < Number(header[1]);
}

function declaredEnd(buffer: Buffer, offset: number): number | undefined {
  const header = /^[0-9a-f]{8} (\d{1,20})\t/.exec(buffer.toString('latin1', offset, offset + 32));
  if (!header) return undefined;
  const end = offset + header[0].length + Number(header[1]) + 1;
  return end > offset && end < buffer.length ? end : undefined;
}

/** The value of a lowercase hexadecimal digit, or -1. */
function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

// Reads the header from the bytes themselves (no strings, no regular expressions): opening a
// store decodes every frame of its snapshot and log, so this runs once per stored object.
function decodeFrameAt(
  buffer: Buffer,
  offset: number,
  checkCrc = true,
): { value: unknown; end: number } | undefined {
  const payload = payloadAt(buffer, offset, checkCrc);
  if (!payload) return undefined;
  try {
    return { value: JSON.parse(buffer.toString('utf8', payload.start, payload.end)), end: payload.end + 1 };
  } catch {
    return undefined;
  }
}

/**
 * Where the JSON text of the intact frame at `offset` lies (its header read, its CRC-32 checked
 * unless `checkCrc` is false), without parsing it.
 */
export function payloadAt(buffer: Buffer, offset: number, checkCrc = true): ByteRange | undefined {
  if (buffer[offset + 8] !== SPACE) return undefined;
  let crc = 0;
  for (let i = offset; i < offset + 8; i++) {
    const digit = hexValue(buffer[i]);
    if (digit < 0) return undefined;
    crc = crc * 16 + digit;
  }
  let length = 0;
  let tab = offset + 9;
  for (; buffer[tab] !== TAB; tab++) {
    const byte = buffer[tab];
    if (byte === undefined || byte < 0x30 || byte > 0x39 || tab - offset >= 24) return undefined;
    length = length * 10 + (byte - 0x30);
  }
  if (tab === offset + 9) return undefined;
  const start = tab + 1;
  const end = start + length;
  if (end >= buffer.length || buffer[end] !== NEWLINE) return undefined;
  if (checkCrc && crc32(buffer.subarray(start, end)) !== crc) return undefined;
  return { start, end };
}
