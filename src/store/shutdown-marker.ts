// The clean-shutdown marker: written when the store closes cleanly, removed when it opens. It
// records where the log ended (segment, length, revision), so that a log shortened after a
// clean stop reads as damage, not as a torn tail, and every object's resourceVersion, so that
// repair can say exactly which objects the damage cost their latest version.
import { readFile, unlink } from 'node:fs/promises';
import { inDir, SHUTDOWN_MARKER, syncDir } from './data-dir.js';
import { decodeFrames, encodeFrame } from './record-framing.js';
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
  const { values, validLength } = decodeFrames(await readFile(inDir(dir, SHUTDOWN_MARKER)));
  const marker = values[0] as Partial<ShutdownMarker> | undefined;
  if (values.length !== 1 || validLength === 0) return undefined;
  const valid =
    typeof marker?.segment === 'string' &&
    typeof marker.length === 'number' &&
    typeof marker.revision === 'number' &&
    Array.isArray(marker.objects);
  return valid ? (marker as ShutdownMarker) : undefined;
}

/** Removed before the first write after opening: from then on the log may grow. */
export async function removeShutdownMarker(dir: string, fs: StoreFs = nodeStoreFs): Promise<void> {
  await unlink(inDir(dir, SHUTDOWN_MARKER));
  await syncDir(dir, fs);
}
