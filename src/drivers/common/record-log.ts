// A driver's durable table of small records (key -> JSON value) in one append-only file: each
// put or removal is a checksummed frame (the store's framing), and a call resolves only after its
// frame reached the disk. Calls made in the same event loop turn go out together in one
// write+fdatasync (group commit), so concurrent RPCs share a flush; a batch formed while another
// one's fdatasync is in flight starts its own at once (up to MAX_BATCHES_IN_FLIGHT), rather than
// waiting for it: the file system commits such fdatasyncs together, and a record no longer waits
// for a flush it missed to end before its own starts. Batches are acknowledged in the order they
// were written: a batch resolves once its own fdatasync and every earlier batch's succeeded.
// When the file holds much more than the live records it is rewritten (temp file, fsync, rename).
// At open, a strict prefix of one frame at the end is what a crash while appending leaves: that
// record was never acknowledged, and it is cut off. Any other damage refuses to open: it may hide
// acknowledged records, and those are never dropped silently.
import {
  closeSync,
  fdatasync,
  fsync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { decodeFrames, encodeFrame, isTornFrame } from '../../store/record-framing.js';

const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const FILE_MODE = 0o600;
/**
 * fdatasyncs started side by side end about together (four took no longer than one in a row on
 * this file system). Three: one of libuv's four thread-pool threads stays free for other file work.
 */
const MAX_BATCHES_IN_FLIGHT = 3;

export interface RecordLogOptions {
  file: string;
  /** Rewrite the file when it is larger than this and than twice its live records. Default 256 KiB. */
  compactAboveBytes?: number;
  /** Told about a torn last record that was cut off at open. */
  warn?: (message: string, fields: Record<string, unknown>) => void;
  /** fdatasync(2) of the log file; injected by fault tests. */
  fdatasync?: (fd: number) => Promise<void>;
}

export interface PutOptions {
  /** Also make the directory durable in the same flush (a file was created in it). */
  syncDirectory?: boolean;
}

interface Pending {
  frame: Buffer;
  key: string;
  /** Undefined for a removal. */
  value: unknown;
  syncDirectory: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface StoredFrame {
  /** The key. */
  k: string;
  /** The value; absent in a removal. */
  v?: unknown;
}

export class RecordLog {
  readonly file: string;
  private readonly dir: string;
  private compactAboveBytes: number;
  private fd: number;
  /** The directory, open for fsync. */
  private readonly dirFd: number;
  /** A rename in the directory may not be durable yet: the next batch syncs the directory. */
  private directoryUnsynced = false;
  /** Bytes of the file known durable (acknowledged batches); a failure cuts the file back to it. */
  private durableLength: number;
  /** A batch failed: the ones written after it fail too, and once none is in flight the file is cut back. */
  private failure: Error | undefined;
  /** The frame of each live key, for rewriting. */
  private readonly live = new Map<string, Buffer>();
  private liveBytes = 0;
  private pending: Pending[] = [];
  /** Batches started whose fdatasync has not settled. */
  private inFlight = 0;
  /** Settles when the last batch started is acknowledged (true) or refused (false). */
  private lastBatch: Promise<boolean> = Promise.resolve(true);
  private startScheduled = false;
  /** Called once nothing is pending or in flight (close() waits for that). */
  private idleWaiters: (() => void)[] = [];
  private readonly syncData: (fd: number) => Promise<void>;
  private closing: Promise<void> | undefined;
  /** Batches written (for tests and benchmarks: how well flushes are shared). */
  flushes = 0;

  private constructor(file: string, options: RecordLogOptions, fd: number, dirFd: number) {
    this.file = file;
    this.dir = path.dirname(file);
    this.compactAboveBytes = options.compactAboveBytes ?? 256 * 1024;
    this.fd = fd;
    this.dirFd = dirFd;
    this.durableLength = 0;
    this.syncData = options.fdatasync ?? fdatasyncAsync;
  }

  /**
   * Opens (creating) the log and replays it: the live records, key -> value. Throws, naming the
   * file and byte offset, when the file is damaged anywhere but in its unacknowledged last frame.
   */
  static open(options: RecordLogOptions): { log: RecordLog; records: Map<string, unknown> } {
    const file = path.resolve(options.file);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      bytes = Buffer.alloc(0);
    }
    const { values, validLength } = decodeFrames(bytes);
    const tail = bytes.subarray(validLength);
    if (tail.length > 0 && !isTornFrame(tail)) {
      throw new Error(
        `${file} is damaged at byte ${validLength} of ${bytes.length} and may hold acknowledged ` +
          'records after it; refusing to start. Move the file aside to inspect it; nothing was changed',
      );
    }
    const fd = openSync(file, 'a', FILE_MODE);
    let dirFd: number | undefined;
    try {
      dirFd = openSync(path.dirname(file), 'r');
      if (tail.length > 0) {
        ftruncateSync(fd, validLength);
        fsyncSync(fd);
        options.warn?.('cut off a torn last record (written when the driver stopped; never acknowledged)', {
          file,
          offset: validLength,
          bytes: tail.length,
        });
      }
      fsyncSync(dirFd); // the file may be new
      const log = new RecordLog(file, options, fd, dirFd);
      log.durableLength = validLength;
      const records = new Map<string, unknown>();
      for (const [i, value] of values.entries()) {
        const frame = value as Partial<StoredFrame> | null;
        if (typeof frame !== 'object' || frame === null || typeof frame.k !== 'string') {
          throw new Error(`${file}: record ${i} is not a keyed record; refusing to start`);
        }
        if (frame.v === undefined) records.delete(frame.k);
        else records.set(frame.k, frame.v);
        log.apply(frame.k, frame.v === undefined ? undefined : encodeFrame(frame));
      }
      return { log, records };
    } catch (err) {
      closeSync(fd);
      if (dirFd !== undefined) closeSync(dirFd);
      throw err;
    }
  }

  /** Number of live records. */
  get size(): number {
    return this.live.size;
  }

  /** Records `value` under `key`; resolves once it is on disk. */
  put(key: string, value: unknown, options: PutOptions = {}): Promise<void> {
    return this.enqueue(key, value, options.syncDirectory ?? false);
  }

  /** Records that `key` is gone; resolves once that is on disk. */
  remove(key: string): Promise<void> {
    return this.enqueue(key, undefined, false);
  }

  /** Waits for every call made so far, then closes the file (once, however often it is called). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.pending.length > 0 || this.inFlight > 0 || this.startScheduled) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      }
      closeSync(this.fd);
      closeSync(this.dirFd);
    })();
    return this.closing;
  }

  private enqueue(key: string, value: unknown, syncDirectory: boolean): Promise<void> {
    if (this.closing) return Promise.reject(new Error(`${this.file} is closed`));
    const stored: StoredFrame = value === undefined ? { k: key } : { k: key, v: value };
    const frame = encodeFrame(stored);
    return new Promise((resolve, reject) => {
      this.pending.push({ frame, key, value, syncDirectory, resolve, reject });
      // Started once the event loop has run every callback that is ready now (setImmediate, not a
      // microtask): the calls of all RPCs read from the socket in this turn form one batch. With
      // 16 calls in flight that is 16 records per fdatasync instead of 5 (bench:csi-rpc).
      if (!this.startScheduled) {
        this.startScheduled = true;
        setImmediate(() => {
          this.startScheduled = false;
          this.startBatches();
          this.notifyIfIdle();
        });
      }
    });
  }

  /** Starts a batch of everything pending, unless the limit is reached or the file needs work alone. */
  private startBatches(): void {
    if (this.pending.length === 0 || this.inFlight >= MAX_BATCHES_IN_FLIGHT) return;
    // cutting back after a failure and rewriting the file both need every batch settled first
    if (this.inFlight > 0 && (this.failure || this.shouldCompact())) return;
    const batch = this.pending;
    this.pending = [];
    if (this.failure) {
      try {
        this.cutBack();
      } catch (err) {
        for (const p of batch) p.reject(err as Error);
        return;
      }
    }
    this.inFlight++;
    void this.runBatch(batch, this.lastBatch);
  }

  private notifyIfIdle(): void {
    if (this.inFlight === 0 && this.pending.length === 0 && !this.startScheduled) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async runBatch(batch: Pending[], earlier: Promise<boolean>): Promise<void> {
    let acknowledged!: (ok: boolean) => void;
    this.lastBatch = new Promise((resolve) => (acknowledged = resolve));
    let error: Error | undefined;
    let bytes = 0;
    try {
      if (this.shouldCompact()) await this.compact();
      bytes = await this.writeBatch(batch);
    } catch (err) {
      error = err as Error;
    }
    // in order: a batch is acknowledged only after every batch written before it was
    const ok = (await earlier) && error === undefined;
    if (ok) {
      this.durableLength += bytes;
      this.flushes++;
      for (const p of batch) {
        this.apply(p.key, p.value === undefined ? undefined : p.frame);
        p.resolve();
      }
    } else {
      this.failure ??= error ?? new Error(`${this.file}: an earlier write failed`);
      for (const p of batch) p.reject(error ?? this.failure);
    }
    acknowledged(ok);
    this.inFlight--;
    this.startBatches();
    this.notifyIfIdle();
  }

  /** After a failed batch, with none in flight: drops whatever was written after the durable bytes. */
  private cutBack(): void {
    ftruncateSync(this.fd, this.durableLength);
    this.failure = undefined;
    this.lastBatch = Promise.resolve(true);
  }

  /** Appends the batch's frames and waits for them to be on disk; returns the bytes written. */
  private async writeBatch(batch: Pending[]): Promise<number> {
    const bytes = batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((p) => p.frame));
    for (let written = 0; written < bytes.length;) {
      written += writeSync(this.fd, bytes, written, bytes.length - written);
    }
    if (this.directoryUnsynced || batch.some((p) => p.syncDirectory)) {
      // side by side: both wait for the same journal commit, so together they cost one
      this.directoryUnsynced = true;
      await Promise.all([this.syncData(this.fd), fsyncAsync(this.dirFd)]);
      this.directoryUnsynced = false;
    } else {
      await this.syncData(this.fd);
    }
    return bytes.length;
  }

  private apply(key: string, frame: Buffer | undefined): void {
    this.liveBytes -= this.live.get(key)?.length ?? 0;
    if (frame) {
      this.live.set(key, frame);
      this.liveBytes += frame.length;
    } else {
      this.live.delete(key);
    }
  }

  private shouldCompact(): boolean {
    return this.durableLength > this.compactAboveBytes && this.durableLength > 2 * this.liveBytes;
  }

  /**
   * Rewrites the file with the live records only. Runs between batches (nothing is being written);
   * if it fails before the rename, the old file stays in use and the next attempt waits until the
   * file doubles. After the rename the new file is the log, and the directory is synced before
   * any later batch is acknowledged.
   */
  private async compact(): Promise<void> {
    const temp = path.join(this.dir, `.${path.basename(this.file)}.tmp`);
    const bytes = Buffer.concat([...this.live.values()]);
    try {
      writeFileSync(temp, bytes, { mode: FILE_MODE });
      const tempFd = openSync(temp, 'r');
      try {
        await fdatasyncAsync(tempFd);
      } finally {
        closeSync(tempFd);
      }
    } catch {
      rmSync(temp, { force: true });
      this.compactAboveBytes = 2 * this.durableLength;
      return;
    }
    const fd = openSync(temp, 'a', FILE_MODE);
    try {
      renameSync(temp, this.file);
    } catch (err) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw err;
    }
    closeSync(this.fd);
    this.fd = fd;
    this.durableLength = bytes.length;
    this.directoryUnsynced = true;
  }
}
