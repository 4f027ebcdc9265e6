// The write-ahead log with group commit. Records appended while an fsync is in flight wait and
// go out together in the next write+fdatasync, so many concurrent writers share each fsync.
// The log is a series of segments (wal-<first revision>.log); compaction rotates to a new one.
import { open, readFile, truncate } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { KubeObject } from '../api/meta.js';
import { inDir, segmentName, syncDir } from './data-dir.js';
import { decodeFrames, encodeFrame } from './record-framing.js';

export interface LogRecord {
  rev: number;
  /** `<group>/<plural>` of the object's kind. */
  kind: string;
  key: string;
  op: 'put' | 'delete';
  /** The object as stored; for a delete, its final state (resourceVersion = rev). */
  object: KubeObject;
}

export interface WalHooks {
  /** Called after each batch is durable, before its writers are answered. */
  onDurable(records: LogRecord[]): void;
  /** Called between batches, while no write is in flight (compaction rotates here). */
  betweenBatches(): Promise<void>;
}

export interface WalStats {
  batches: number;
  records: number;
  largestBatch: number;
  bytes: number;
}

interface Pending {
  record: LogRecord;
  frame: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class WriteAheadLog {
  private readonly dir: string;
  private readonly hooks: WalHooks;
  private handle: FileHandle;
  private pending: Pending[] = [];
  private flushing = false;
  private failure: Error | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  readonly stats: WalStats = { batches: 0, records: 0, largestBatch: 0, bytes: 0 };

  private constructor(dir: string, handle: FileHandle, hooks: WalHooks) {
    this.dir = dir;
    this.handle = handle;
    this.hooks = hooks;
  }

  /** Opens (creating if needed) the segment starting at `startRevision` for appending. */
  static async open(dir: string, startRevision: number, hooks: WalHooks): Promise<WriteAheadLog> {
    const handle = await open(inDir(dir, segmentName(startRevision)), 'a');
    await syncDir(dir);
    return new WriteAheadLog(dir, handle, hooks);
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** Resolves once the record is on disk (fdatasync returned). */
  append(record: LogRecord): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('the write-ahead log is closed'));
    const frame = encodeFrame(record);
    return new Promise((resolve, reject) => {
      this.pending.push({ record, frame, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // start on a microtask so that a burst of synchronous appends forms one batch
        queueMicrotask(() => void this.flushLoop());
      }
    });
  }

  /** Starts a new segment whose first record will have `startRevision`. Call from betweenBatches. */
  async rotate(startRevision: number): Promise<void> {
    const next = await open(inDir(this.dir, segmentName(startRevision)), 'a');
    await syncDir(this.dir);
    const previous = this.handle;
    this.handle = next;
    await previous.close();
  }

  /** Waits for every appended record, then closes the segment. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.flushing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.handle.close();
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0 && !this.failure) {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.writeAll(Buffer.concat(batch.map((p) => p.frame)));
          await this.handle.datasync();
        } catch (err) {
          this.fail(err as Error, batch);
          break;
        }
        this.stats.batches++;
        this.stats.records += batch.length;
        this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
        this.hooks.onDurable(batch.map((p) => p.record));
        for (const p of batch) p.resolve();
        try {
          await this.hooks.betweenBatches();
        } catch (err) {
          this.fail(err as Error, []);
        }
      }
    } finally {
      this.flushing = false;
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private async writeAll(buffer: Buffer): Promise<void> {
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await this.handle.write(buffer, offset, buffer.length - offset);
      offset += bytesWritten;
    }
    this.stats.bytes += buffer.length;
  }

  private fail(err: Error, batch: Pending[]): void {
    this.failure = new Error(`write-ahead log failed, the store accepts no more writes: ${err.message}`, {
      cause: err,
    });
    for (const p of [...batch, ...this.pending.splice(0)]) p.reject(this.failure);
  }
}

export interface SegmentContents {
  records: LogRecord[];
  validLength: number;
  totalLength: number;
}

export async function readSegment(dir: string, name: string): Promise<SegmentContents> {
  const buffer = await readFile(inDir(dir, name));
  const { values, validLength } = decodeFrames(buffer);
  return { records: values as LogRecord[], validLength, totalLength: buffer.length };
}

/** Cuts a torn tail off a segment so that appends continue after the last intact record. */
export async function truncateSegment(dir: string, name: string, length: number): Promise<void> {
  await truncate(inDir(dir, name), length);
  const handle = await open(inDir(dir, name), 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
