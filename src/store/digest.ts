// SHA-256 of a large buffer on another thread: opening a store checks its snapshot's digest
// (118 MB at 100k objects, a third of a second) while this thread decodes the frames.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

/** A file's bytes in memory another thread can read without a copy. */
export async function readFileShared(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const bytes = Buffer.from(new SharedArrayBuffer(size));
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(bytes, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return bytes.subarray(0, at);
  } finally {
    await handle.close();
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { buffer, offset, length } = workerData;
parentPort.postMessage(createHash('sha256').update(new Uint8Array(buffer, offset, length)).digest('hex'));
`;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Below this, starting a thread (tens of milliseconds) costs about what it saves. */
const WORKER_MIN_BYTES = 8 << 20;

export interface Digest {
  sha256: string;
  /** Whether a worker thread computed it. */
  onWorker: boolean;
}

/**
 * The SHA-256 (hex) of `bytes`, computed on a worker thread when they are large and live in
 * shared memory; otherwise (or if a worker cannot be used) on this thread, after the caller's
 * synchronous work.
 */
export function sha256Elsewhere(bytes: Buffer): Promise<Digest> {
  const local = () =>
    new Promise<Digest>((resolve) =>
      setImmediate(() => resolve({ sha256: sha256Hex(bytes), onWorker: false })),
    );
  if (bytes.length < WORKER_MIN_BYTES || !(bytes.buffer instanceof SharedArrayBuffer)) return local();
  return new Promise<Digest>((resolve) => {
    let settled = false;
    const settle = (sha256: string | undefined) => {
      if (settled) return;
      settled = true;
      if (sha256 !== undefined) resolve({ sha256, onWorker: true });
      else void local().then(resolve);
    };
    try {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.length },
      });
      worker.once('message', (sha256: unknown) => settle(typeof sha256 === 'string' ? sha256 : undefined));
      worker.once('error', () => settle(undefined));
      worker.once('exit', () => settle(undefined));
    } catch {
      settle(undefined);
    }
  });
}
