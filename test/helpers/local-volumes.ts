// Which volumes the local driver has, read from its record log (volumes.log) the way the driver
// replays it at start: a backing file is made only when a volume is first staged, so the files in
// the data directory name only the volumes that were used. Read-only, so the driver may be running;
// a record cut short at the end (an append in progress) is not counted.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VOLUME_LOG } from '../../src/drivers/local/volume-store.js';
import { decodeFrames } from '../../src/store/record-framing.js';

/** The keys (for dynamic volumes: the PV names) of the volumes recorded in `dataDir`, sorted. */
export async function recordedVolumes(dataDir: string): Promise<string[]> {
  const bytes = await readFile(join(dataDir, VOLUME_LOG)).catch(() => Buffer.alloc(0));
  const live = new Set<string>();
  for (const frame of decodeFrames(bytes).values as { k: string; v?: unknown }[]) {
    if (frame.v === undefined) live.delete(frame.k);
    else live.add(frame.k);
  }
  return [...live].sort();
}
