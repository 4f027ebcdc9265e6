// The clean-shutdown marker: written when the store closes cleanly, removed when it opens. It
// records where the log ended (segment, length, revision), so that a log shortened after a
// clean stop reads as damage, not as a torn tail, and every object's resourceVersion, so that
// repair can say exactly which objects the damage cost their latest version.
import { readFile, unlink } from 'node:fs/promises';
import { inDir, SEGMENT_NAME, SHUTDOWN_MARKER, syncDir } from './data-dir.js';
import { decodeFrames, encodeFrame, payloadAt } from './record-framing.js';
import { writeFileDurably } from './snapshot.js';
import { nodeStoreFs, type StoreFs } from './store-fs.js';

export interface ShutdownMarker {
  segment: string;
  length: number;
  revision: number;
  /** `[reference, resourceVersion]` of every object at the clean stop. */
  objects: Array<[string, number]>;
}

export async function writeShutdownMarker(dir: string, marker: ShutdownMarker, fs: StoreFs = nodeStoreFs) {
  await writeFileDurably(dir, SHUTDOWN_MARKER, encodeFrame(marker), fs);
}

export async function readShutdownMarker(dir: string): Promise<ShutdownMarker | undefined> {
  const bytes = await readFile(inDir(dir, SHUTDOWN_MARKER));
  return readWithObjectsLater(bytes) ?? readWhole(bytes);
}

function readWhole(bytes: Buffer): ShutdownMarker | undefined {
  const { values, validLength } = decodeFrames(bytes);
  const marker = values[0] as Partial<ShutdownMarker> | undefined;
  if (values.length !== 1 || validLength === 0) return undefined;
  const valid = isPosition(marker) && Array.isArray(marker?.objects);
  return valid ? (marker as ShutdownMarker) : undefined;
}

function isPosition(value: unknown): boolean {
  const marker = value as Partial<ShutdownMarker> | undefined;
  return (
    typeof marker?.segment === 'string' &&
    typeof marker.length === 'number' &&
    typeof marker.revision === 'number'
  );
}

const OBJECTS_KEY = ',"objects":';

/**
 * Opening a store needs only where the log ended; the list of every object's version (4.6 MB
 * of JSON at 100k objects) is for repair. The marker's frame is checked whole (CRC-32), and, as
 * this version writes it (segment, length, revision, then objects; a segment name holds no
 * quote), the list is parsed only when asked for. Undefined when the bytes are not that shape.
 */
function readWithObjectsLater(bytes: Buffer): ShutdownMarker | undefined {
  const payload = payloadAt(bytes, 0);
  if (!payload || payload.end + 1 !== bytes.length) return undefined;
  const cut = bytes.indexOf(OBJECTS_KEY, payload.start);
  if (cut < 0 || bytes[payload.end - 1] !== 0x7d /* } */) return undefined;
  let head: unknown;
  try {
    head = JSON.parse(`${bytes.toString('utf8', payload.start, cut)}}`);
  } catch {
    return undefined;
  }
  const { segment, length, revision, ...rest } = head as ShutdownMarker;
  if (!isPosition(head) || Object.keys(rest).length > 0 || !SEGMENT_NAME.test(segment)) return undefined;
  const listStart = cut + OBJECTS_KEY.length;
  if (bytes[listStart] !== 0x5b /* [ */) return undefined;
  let objects: ShutdownMarker['objects'] | undefined;
  const marker = { segment, length, revision } as ShutdownMarker;
  Object.defineProperty(marker, 'objects', {
    enumerable: true,
    get: () => (objects ??= objectsAt(bytes, listStart, payload.end - 1)),
  });
  return marker;
}

/**
 * The objects' list, from where it starts to the frame's closing brace; a marker with fields after
 * the list (hand-written, or by another version) is read whole instead.
 */
function objectsAt(bytes: Buffer, start: number, end: number): ShutdownMarker['objects'] {
  try {
    return JSON.parse(bytes.toString('utf8', start, end)) as ShutdownMarker['objects'];
  } catch {
    const whole = readWhole(bytes);
    if (!whole) throw new Error('the clean-shutdown marker has no readable list of objects');
    return whole.objects;
  }
}

/** Removed before the first write after opening: from then on the log may grow. */
export async function removeShutdownMarker(dir: string, fs: StoreFs = nodeStoreFs): Promise<void> {
  await unlink(inDir(dir, SHUTDOWN_MARKER));
  await syncDir(dir, fs);
}
