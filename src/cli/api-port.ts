// The API port is chosen once per data directory and kept there, so kubeconfigs written for it
// keep working across restarts: --secure-port N sets (and records) it; otherwise the recorded
// port is used; the first start picks a free one and records it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './io.js';

const PORT_FILE = 'apiserver-port';

/** Pure: a port flag's value; `flag` names it in the error. */
export function parsePort(text: string, flag: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw new UsageError(`invalid argument "${text}" for "${flag}" flag: expected 0-65535`);
  return port;
}

/** The port to listen on: the flag's, else the data directory's recorded one, else 0 (pick one). */
export async function chosenPort(dataDir: string, flag: number | undefined): Promise<number> {
  if (flag !== undefined) return flag;
  let text: string;
  try {
    text = (await readFile(join(dataDir, PORT_FILE), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new Error(
      `${join(dataDir, PORT_FILE)} holds "${text.slice(0, 20)}", not a port: fix it or pass --secure-port`,
    );
  }
  return port;
}

/** Records the port the server listens on (from its URL) for the next start. */
export async function recordPort(dataDir: string, url: string): Promise<void> {
  await writeFile(join(dataDir, PORT_FILE), `${new URL(url).port}\n`);
}
