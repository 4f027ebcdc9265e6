// The write-ahead log with group commit. Records appended in one turn of the event loop go out
// together in one write+fdatasync, so many concurrent writers share each fsync; a batch formed
// while another's fdatasync runs starts at once beside it (at most two in flight: an fdatasync
// that starts while another is in flight often finds its bytes already in that journal commit),
// and batches are acknowledged in the order they were written.
// The log is a series of segments (wal-<first revision>.log); compaction rotates to a new one.
// A failed write or fsync (ENOSPC, EIO) fails its batch only: the segment is cut back to its
// last durable length before the next batch, so writes resume once the disk recovers.
import type { FileHandle } from 'node:fs/promises';
import type { KubeObject } from '../api/meta.js';
import { inDir, segmentName, syncDir } from './data-dir.js';
import { encodeJsonFrame } from './record-framing.js';
import { refOf } from './snapshot.js';
import { PRIVATE_FILE_MODE, type StoreFs } from './store-fs.js';

export interface LogRecord {
  rev: number;
  /** `<group>/<plural>` of the object's kind. */
  kind: string;
  key: string;
  op: 'put' | 'delete';
  /** The object as stored; for a delete, its final state (resourceVersion = rev). */
  object: KubeObject;
}

/**
 * On disk a record also carries hints: the references of the records 1, 2, 4, ... 32 revisions
 * before it, so that repair can name the objects of records lost to damaged bytes.
 */
export interface StoredRecord extends LogRecord {
  h?: Array<string | null>;
}

/**
 * The JSON text of a StoredRecord around its object's text: what JSON.stringify gives for
 * `{ rev, kind, key, op, object, h }`, without serialising the object a second time.
 */
export function storedRecordJson(record: LogRecord, hints: Array<string | null>, objectJson: string): string {
  const { rev, kind, key, op } = record;
  return (
    `{"rev":${rev},"kind":${JSON.stringify(kind)},"key":${JSON.stringify(key)},"op":"${op}",` +
    `"object":${objectJson},"h":${JSON.stringify(hints)}}`
  );
}

/** Batches written and syncing at once. */
const MAX_BATCHES_IN_FLIGHT = 2;

export const HINT_DISTANCES = [1, 2, 4, 8, 16, 32] as const;
const RECENT = 64;

export interface WalHooks {
  /** Called after each batch is durable, before its writers are answered. */
  onDurable(records: LogRecord[]): void;
  /** Called when a batch (and everything queued behind it) failed and will not be durable. */
  onFailed(records: LogRecord[]): void;
  /** Called between batches, while no write is in flight (compaction rotates here). */
  betweenBatches(): Promise<void>;
  /** True when betweenBatches has work to do: no batch then starts beside one in flight. */
  wantsQuiet(): boolean;
}

export interface WalStats {
  batches: number;
  records: number;
  largestBatch: number;
  bytes: number;
  failedBatches: number;
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
  private readonly fs: StoreFs;
  private handle: FileHandle;
  private segment: string;
  /** Bytes of the current segment known durable; a failed batch is cut back to this. */
  private durableLength: number;
  /** A batch failed: bytes after durableLength may hold it; cut back before the next batch. */
  private failed = false;
  private pending: Pending[] = [];
  /** Batches being written or synced, oldest first. */
  private readonly inFlight: Pending[][] = [];
  private startScheduled = false;
  /** betweenBatches running: no batch starts meanwhile. */
  private quiet: Promise<void> | undefined;
  /** Resolves with whether the newest batch (and every one before it) was acknowledged. */
  private lastBatch: Promise<boolean> = Promise.resolve(true);
  /** Resolves once the newest batch's write returned (or was skipped). */
  private lastWrite: Promise<void> = Promise.resolve();
  /** Batches in flight failed because one before them did. */
  private readonly doomed = new WeakSet<Pending[]>();
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  /** References of recent revisions (slot rev % RECENT), for the hints. */
  private readonly recent: Array<{ rev: number; ref: string } | undefined> = new Array(RECENT);
  lastError: Error | undefined;
  readonly stats: WalStats = { batches: 0, records: 0, largestBatch: 0, bytes: 0, failedBatches: 0 };

  private constructor(
    dir: string,
    handle: FileHandle,
    segment: string,
    length: number,
    hooks: WalHooks,
    fs: StoreFs,
  ) {
    this.dir = dir;
    this.handle = handle;
    this.segment = segment;
    this.durableLength = length;
    this.hooks = hooks;
    this.fs = fs;
  }

  /** Opens (creating if needed) the segment starting at `startRevision` for appending. */
  static async open(
    dir: string,
    startRevision: number,
    hooks: WalHooks,
    fs: StoreFs,
    recent: ReadonlyArray<{ rev: number; ref: string }> = [],
  ): Promise<WriteAheadLog> {
    const name = segmentName(startRevision);
    const handle = await fs.open(inDir(dir, name), 'a', PRIVATE_FILE_MODE);
    await syncDir(dir, fs);
    const wal = new WriteAheadLog(dir, handle, name, (await handle.stat()).size, hooks, fs);
    for (const r of recent) wal.remember(r.rev, r.ref);
    return wal;
  }

  /** Where the log ends: what a clean shutdown records. */
  get end(): { segment: string; length: number } {
    return { segment: this.segment, length: this.durableLength };
  }

  /**
   * Resolves once the record is on disk (fdatasync returned). `objectJson` is the record's object
   * serialised, when the caller has it already (it answers with the same text).
   */
  append(record: LogRecord, objectJson = JSON.stringify(record.object)): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the write-ahead log is closed'));
    const frame = encodeJsonFrame(storedRecordJson(record, this.hintsFor(record.rev), objectJson));
    this.remember(record.rev, refOf(record.kind, record.key));
    return new Promise((resolve, reject) => {
      this.pending.push({ record, frame, resolve, reject });
      if (!this.startScheduled) {
        this.startScheduled = true;
        // once the event loop has run every callback ready now (setImmediate, not a microtask):
        // the writes of all requests read from the sockets in this turn form one batch
        setImmediate(() => {
          this.startScheduled = false;
          this.startBatches();
          this.notifyIfIdle();
        });
      }
    });
  }

  /** Starts a new segment whose first record will have `startRevision`. Call from betweenBatches. */
  async rotate(startRevision: number): Promise<void> {
    if (this.failed) await this.cutBack();
    const name = segmentName(startRevision);
    const next = await this.fs.open(inDir(this.dir, name), 'a', PRIVATE_FILE_MODE);
    try {
      await syncDir(this.dir, this.fs);
    } catch (err) {
      await next.close();
      throw err;
    }
    const previous = this.handle;
    this.handle = next;
    this.segment = name;
    this.durableLength = 0;
    await previous.close();
  }

  /** Resolves once every record appended so far was written (or failed), between batches. */
  async idle(): Promise<void> {
    if (!this.isIdle()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits for every appended record, then closes the segment; false if its end is unsure. */
  async close(): Promise<boolean> {
    this.closed = true;
    await this.idle();
    const clean =
      !this.failed ||
      (await this.cutBack().then(
        () => true,
        () => false,
      ));
    await this.handle.close();
    return clean;
  }

  private hintsFor(rev: number): Array<string | null> {
    return HINT_DISTANCES.map((d) => {
      const slot = this.recent[(rev - d) % RECENT];
      return slot?.rev === rev - d ? slot.ref : null;
    });
  }

  private remember(rev: number, ref: string): void {
    this.recent[rev % RECENT] = { rev, ref };
  }

  private isIdle(): boolean {
    return this.pending.length === 0 && this.inFlight.length === 0 && !this.startScheduled && !this.quiet;
  }

  private notifyIfIdle(): void {
    if (this.isIdle()) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Starts a batch of everything pending, unless the limit is reached or the log must be quiet. */
  private startBatches(): void {
    if (this.pending.length === 0 || this.quiet || this.inFlight.length >= MAX_BATCHES_IN_FLIGHT) return;
    // cutting back after a failure and the work between batches wait for every batch to settle
    if (this.inFlight.length > 0 && (this.failed || this.hooks.wantsQuiet())) return;
    const batch = this.pending;
    this.pending = [];
    // with none in flight every earlier batch has settled: one that failed was cut back first
    const earlier = this.inFlight.length === 0 ? Promise.resolve(true) : this.lastBatch;
    this.inFlight.push(batch);
    void this.runBatch(batch, earlier);
  }

  private async runBatch(batch: Pending[], earlier: Promise<boolean>): Promise<void> {
    let acknowledged!: (ok: boolean) => void;
    this.lastBatch = new Promise((resolve) => (acknowledged = resolve));
    const previousWrite = this.lastWrite;
    let wrote!: () => void;
    this.lastWrite = new Promise((resolve) => (wrote = resolve));
    let error: Error | undefined;
    const bytes = batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((p) => p.frame));
    try {
      // one write at a time, in order: the bytes of two batches never interleave
      await previousWrite;
      try {
        // a batch failed with an earlier one writes nothing: its revisions are handed out again
        if (this.doomed.has(batch)) throw new Error('an earlier write failed');
        // a failure before this batch started: none other is in flight (startBatches)
        if (this.failed) await this.cutBack();
        await this.writeAll(bytes);
      } finally {
        wrote();
      }
      await this.handle.datasync();
    } catch (err) {
      error = err as Error;
    }
    // in order: a batch is acknowledged only once every batch written before it was; one that
    // failed failed every batch after it too (see fail)
    const earlierOk = await earlier;
    const ok = earlierOk && error === undefined;
    if (ok) {
      this.durableLength += bytes.length;
      this.stats.batches++;
      this.stats.records += batch.length;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
      this.hooks.onDurable(batch.map((p) => p.record));
      for (const p of batch) p.resolve();
    } else if (earlierOk) {
      this.fail(error ?? new Error('the write failed'));
    }
    acknowledged(ok);
    this.inFlight.splice(this.inFlight.indexOf(batch), 1);
    if (this.inFlight.length === 0 && ok) {
      this.quiet = this.hooks
        .betweenBatches()
        .catch(() => undefined)
        .then(() => {
          this.quiet = undefined;
        });
      await this.quiet;
    }
    this.startBatches();
    this.notifyIfIdle();
  }

  /** Drops whatever a failed batch may have left after the last durable byte. */
  private async cutBack(): Promise<void> {
    await this.handle.truncate(this.durableLength);
    await this.handle.datasync();
    this.failed = false;
  }

  private async writeAll(buffer: Buffer): Promise<void> {
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await this.handle.write(buffer, offset, buffer.length - offset);
      offset += bytesWritten;
    }
    this.stats.bytes += buffer.length;
  }

  /**
   * The oldest batch in flight failed: it, the batches written after it and everything queued
   * behind them fail at once; their revisions will be handed out again.
   */
  private fail(err: Error): void {
    this.failed = true;
    this.stats.failedBatches++;
    this.lastError = new Error(`write-ahead log write failed, the write was not stored: ${err.message}`, {
      cause: err,
    });
    for (const batch of this.inFlight) this.doomed.add(batch);
    const failed = [...this.inFlight.flat(), ...this.pending.splice(0)];
    this.hooks.onFailed(failed.map((p) => p.record));
    for (const p of failed) p.reject(this.lastError);
  }
}
