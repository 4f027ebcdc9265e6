// Snapshots: every object at one revision, written atomically (temp file, fsync, rename, fsync
// of the directory) with the same framing as the log, and a trailer that proves completeness.
import { open, readFile, rename } from 'node:fs/promises';
import type { KubeObject } from '../api/meta.js';
import { inDir, snapshotName, syncDir } from './data-dir.js';
import { decodeFrames, encodeFrame } from './record-framing.js';

export interface SnapshotEntry {
  kind: string;
  key: string;
  object: KubeObject;
}

export interface Snapshot {
  revision: number;
  entries: SnapshotEntry[];
}

interface Header {
  snapshot: 1;
  revision: number;
  count: number;
}

export async function writeSnapshot(dir: string, snapshot: Snapshot): Promise<string> {
  const name = snapshotName(snapshot.revision);
  const temp = inDir(dir, `${name}.tmp`);
  const handle = await open(temp, 'w');
  try {
    const header: Header = { snapshot: 1, revision: snapshot.revision, count: snapshot.entries.length };
    const chunks = [encodeFrame(header)];
    for (const entry of snapshot.entries) {
      chunks.push(encodeFrame(entry));
      if (chunks.length >= 512) await handle.writeFile(Buffer.concat(chunks.splice(0)));
    }
    chunks.push(encodeFrame({ end: snapshot.entries.length }));
    await handle.writeFile(Buffer.concat(chunks));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, inDir(dir, name));
  await syncDir(dir);
  return name;
}

/** Reads a snapshot, or returns undefined when it is incomplete or corrupt. */
export async function readSnapshot(dir: string, name: string): Promise<Snapshot | undefined> {
  const { values } = decodeFrames(await readFile(inDir(dir, name)));
  const header = values[0] as Header | undefined;
  const trailer = values[values.length - 1] as { end?: number } | undefined;
  if (header?.snapshot !== 1 || values.length !== header.count + 2 || trailer?.end !== header.count) {
    return undefined;
  }
  return { revision: header.revision, entries: values.slice(1, -1) as SnapshotEntry[] };
}
