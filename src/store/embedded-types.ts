// What the embedded store is opened with and reports: its options, its statistics, and the
// store type itself (an ObjectStore plus stats and backup).
import type { Snapshot } from './snapshot.js';
import type { StoreFs } from './store-fs.js';
import type { ObjectStore } from './types.js';

export interface EmbeddedStoreOptions {
  dataDir: string;
  clock?: () => Date;
  uid?: () => string;
  /**
   * Write a snapshot and start a new log segment after this many records (default 10000), or
   * after as many records as there are objects if that is more, so snapshots cost O(1) per write.
   */
  compactEvery?: number;
  /**
   * At a clean close, write a snapshot when at least this many records (and a tenth as many as
   * there are objects) follow the last one, so the next open reads that snapshot instead of
   * replaying the log (default: never).
   */
  compactOnClose?: number;
  /** Changes kept for resuming watches (default 10000). */
  historyLimit?: number;
  /** The file operations writes go through (tests inject failures). */
  fs?: StoreFs;
  /** Told what opening the directory found and changed (recovery, permissions). */
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export interface EmbeddedStoreStats {
  revision: number;
  objects: number;
  oldestResumableRevision: number;
  walBatches: number;
  walRecords: number;
  walLargestBatch: number;
  walBytes: number;
  snapshotRevision: number;
  compactions: number;
  compactionError: string | undefined;
  recoveredRecords: number;
  droppedTailBytes: number;
  /** Batches whose write or fsync failed (their writers got an error; nothing was acknowledged). */
  failedWriteBatches: number;
  lastWriteError: string | undefined;
  watchers: number;
  watchHandlerErrors: number;
}

export type EmbeddedStore = ObjectStore & {
  stats(): EmbeddedStoreStats;
  /** Every object at the current durable revision, taken at once while writes go on. */
  backup(): Snapshot;
};
