// Framing for the log and snapshot files: one JSON document per line, behind a header that
// carries its CRC-32 and byte length, so a torn or corrupted tail is detected and dropped.
//   <crc32 as 8 hex digits> <byte length>\t<json>\n
import { crc32 } from 'node:zlib';

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;

export function encodeFrame(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  const header = Buffer.from(`${crc32(payload).toString(16).padStart(8, '0')} ${payload.length}\t`, 'latin1');
  return Buffer.concat([header, payload, Buffer.from([NEWLINE])]);
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

function decodeFrameAt(buffer: Buffer, offset: number): { value: unknown; end: number } | undefined {
  if (buffer[offset + 8] !== SPACE) return undefined;
  const crcText = buffer.toString('latin1', offset, offset + 8);
  if (!/^[0-9a-f]{8}$/.test(crcText)) return undefined;
  const tab = buffer.indexOf(TAB, offset + 9);
  if (tab < 0 || tab - offset > 24) return undefined;
  const lengthText = buffer.toString('latin1', offset + 9, tab);
  if (!/^\d+$/.test(lengthText)) return undefined;
  const start = tab + 1;
  const end = start + Number(lengthText);
  if (end >= buffer.length || buffer[end] !== NEWLINE) return undefined;
  const payload = buffer.subarray(start, end);
  if (crc32(payload) !== parseInt(crcText, 16)) return undefined;
  try {
    return { value: JSON.parse(payload.toString('utf8')), end: end + 1 };
  } catch {
    return undefined;
  }
}
