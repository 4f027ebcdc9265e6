// The embedded durable ObjectStore: objects in memory, every write in an fsynced append-only
// log (group commit), periodic snapshots, exclusive ownership of its data directory.
import { withFields } from '../api/with-fields.js';
import { randomUUID } from 'node:crypto';
import { alreadyExists, badRequest, notFound, StatusError } from '../api/errors.js';
import { K, type KindInfo } from '../api/kinds.js';
import { objectKey, type KubeObject } from '../api/meta.js';
import { isNamespaceTerminating, namespaceTerminating } from '../api/namespace-lifecycle.js';
import { makeDataDirPrivate } from './data-dir.js';
import { acquireDirLock, type DirLock } from './lock.js';
import { cloneJson } from '../api/clone-json.js';
import { applyMergePatch, deepFreeze } from './merge-patch.js';
import { continueExpired, decodeContinue, encodeContinue, pageLimit } from './paging.js';
import { compileFilter } from './object-filter.js';
import { decideCreate, decideDelete, decideUpdate, generatedName, type RuleContext } from './object-rules.js';
import { withEncodedJson } from './encoded-json.js';
import { managedFieldsOf } from './shared-fields.js';
import { recover } from './recovery.js';
import { writeShutdownMarker } from './shutdown-marker.js';
import { type Snapshot, type SnapshotEntry } from './snapshot.js';
import { nodeStoreFs, type StoreFs } from './store-fs.js';
import { kindKey, type StoreState } from './store-state.js';
import type {
  CreateOptions,
  DeleteOptions,
  ListOptions,
  ListResult,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from './types.js';
import { WriteAheadLog, type LogRecord } from './wal.js';
import { writeCompactedSnapshot } from './compaction.js';
import type { EmbeddedStore, EmbeddedStoreOptions, EmbeddedStoreStats } from './embedded-types.js';

export type { EmbeddedStore, EmbeddedStoreOptions, EmbeddedStoreStats } from './embedded-types.js';

export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const dataDir = options.dataDir;
  for (const note of await makeDataDirPrivate(dataDir)) log(note, { dataDir });
  const lock = await acquireDirLock(dataDir);
  try {
    const recovered = await recover(dataDir, options.historyLimit ?? 10_000, options.fs);
    const store = new EmbeddedObjectStore(options, lock, recovered.state, {
      snapshotRevision: recovered.snapshotRevision,
      recoveredRecords: recovered.replayedRecords,
      droppedTailBytes: recovered.droppedTailBytes,
    });
    await store.openLog(recovered.appendSegmentStart, recovered.recent);
    log('store opened', {
      dataDir,
      snapshotRevision: recovered.snapshotRevision,
      segments: recovered.segments,
      replayedRecords: recovered.replayedRecords,
      tornTailBytesDropped: recovered.droppedTailBytes,
      revision: recovered.state.revision,
      objects: recovered.state.objectCount,
      ms: Date.now() - started,
    });
    return store;
  } catch (err) {
    await lock.release();
    throw err;
  }
}

interface RecoveryFacts {
  snapshotRevision: number;
  recoveredRecords: number;
  droppedTailBytes: number;
}

class EmbeddedObjectStore implements EmbeddedStore {
  private readonly dir: string;
  private readonly clock: () => Date;
  private readonly newUid: () => string;
  private readonly compactEvery: number;
  private readonly compactOnClose: number | undefined;
  private readonly lock: DirLock;
  private readonly fs: StoreFs;
  private readonly state: StoreState;
  private wal!: WriteAheadLog;
  /** The newest revision handed out (may be ahead of state.revision while an fsync runs). */
  private latestRevision: number;
  private lastAppend: Promise<void> = Promise.resolve();
  private compaction: Promise<void> | undefined;
  private closed = false;
  private readonly facts: RecoveryFacts & { compactions: number; compactionError: string | undefined };

  constructor(options: EmbeddedStoreOptions, lock: DirLock, state: StoreState, facts: RecoveryFacts) {
    this.dir = options.dataDir;
    this.clock = options.clock ?? (() => new Date());
    this.newUid = options.uid ?? randomUUID;
    this.compactEvery = options.compactEvery ?? 10_000;
    this.compactOnClose = options.compactOnClose;
    this.lock = lock;
    this.fs = options.fs ?? nodeStoreFs;
    this.state = state;
    this.latestRevision = state.revision;
    this.facts = { ...facts, compactions: 0, compactionError: undefined };
  }

  async openLog(segmentStart: number, recent: Array<{ rev: number; ref: string }>): Promise<void> {
    const hooks = {
      onDurable: (records: LogRecord[]) => {
        for (const record of records) this.state.applyDurable(record, false);
      },
      onFailed: (records: LogRecord[]) => {
        // nothing of these was stored: the next write checks against what is durable again
        for (const { kind, key } of records)
          this.state.table(kind).setLatest(key, this.state.table(kind).committed(key));
        this.latestRevision = this.state.revision;
      },
      betweenBatches: () => this.maybeStartCompaction(),
      wantsQuiet: () => this.compactionDue(),
    };
    this.wal = await WriteAheadLog.open(this.dir, segmentStart, hooks, this.fs, recent);
  }

  // ---- reads --------------------------------------------------------------------------------

  async get<T extends KubeObject = KubeObject>(kind: KindInfo, namespace: string | undefined, name: string) {
    this.checkOpen();
    const obj = this.state.table(kindKey(kind)).committed(this.keyOf(kind, namespace, name));
    if (!obj) throw notFound(kind.plural, name, kind.group);
    return cloneJson(obj) as T;
  }

  async list<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    options: ListOptions = {},
  ): Promise<ListResult<T>> {
    this.checkOpen();
    const filter = compileFilter(this.scoped(kind, options));
    const limit = pageLimit(options);
    const from = options.continue ? decodeContinue(options.continue) : undefined;
    // Later pages read the current objects (this store keeps no old versions) but answer with
    // the first page's revision, so a watch from it replays whatever changed in between.
    if (from && from.revision < this.state.hub.oldestResumable) throw continueExpired();
    const revision = from?.revision ?? this.state.revision;
    const page = this.state
      .table(kindKey(kind))
      .pageCommitted(filter.namespace, from?.afterKey, limit, (obj) => filter.matches(obj));
    const last = page.items[page.items.length - 1];
    return {
      items: page.items.map(([, obj]) => (options.readOnly ? deepFreeze(obj) : cloneJson(obj)) as T),
      resourceVersion: String(revision),
      ...(page.more && last ? { continue: encodeContinue({ revision, afterKey: last[0] }) } : {}),
    };
  }

  async currentRevision(): Promise<string> {
    return String(this.state.revision);
  }

  async watch(kind: KindInfo, options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<Watch> {
    this.checkOpen();
    const filter = compileFilter(this.scoped(kind, options));
    const rv = options.resourceVersion;
    if (rv === undefined || rv === '' || rv === '0') {
      const initial = this.state
        .table(kindKey(kind))
        .listCommitted(filter.namespace)
        .filter((obj) => filter.matches(obj));
      return this.state.hub.subscribe(kindKey(kind), filter, this.state.revision, initial, onEvent, options);
    }
    if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version "${rv}"`);
    return this.state.hub.subscribe(kindKey(kind), filter, Number(rv), [], onEvent, options);
  }

  // ---- writes -------------------------------------------------------------------------------

  create<T extends KubeObject>(kind: KindInfo, obj: T, options: CreateOptions = {}): Promise<T> {
    return this.settled(() => this.createNow(kind, obj, options));
  }

  update<T extends KubeObject>(kind: KindInfo, obj: T, options: WriteOptions = {}): Promise<T> {
    return this.settled(() => this.updateNow(kind, obj, options));
  }

  patch<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    mergePatch: unknown,
    options: WriteOptions = {},
  ): Promise<T> {
    return this.settled(() => this.patchNow<T>(kind, namespace, name, mergePatch, options));
  }

  delete<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<T> {
    return this.settled(() => this.deleteNow<T>(kind, namespace, name, options));
  }

  /**
   * A write refused because of a newer version (Conflict, AlreadyExists, ...) answers only once
   * that version is durable: reads show durable state only, so a caller that re-reads after the
   * refusal sees what refused it, and a retry loop cannot spin ahead of the log.
   */
  private async settled<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      await this.lastAppend.catch(() => undefined);
      throw err;
    }
  }

  private async createNow<T extends KubeObject>(kind: KindInfo, obj: T, options: CreateOptions): Promise<T> {
    this.checkOpen();
    const table = this.state.table(kindKey(kind));
    const meta = obj.metadata ?? {};
    const namespace = kind.namespaced ? meta.namespace : undefined;
    if (options.namespaceMustExist && namespace !== undefined) {
      const namespaces = this.state.table(kindKey(K.namespace));
      const found = namespaces.latest(this.keyOf(K.namespace, undefined, namespace));
      if (!found) throw notFound('namespaces', namespace);
      if (isNamespaceTerminating(found))
        throw namespaceTerminating(kind.plural, kind.group, meta.name ?? '', namespace);
    }
    let name = meta.name ?? '';
    if (!name && meta.generateName) {
      // retry on the rare collision, as the API server does
      for (let i = 0; i < 8; i++) {
        name = generatedName(meta.generateName);
        if (!table.latest(this.keyOf(kind, namespace, name))) break;
      }
    }
    const created = decideCreate(kind, obj, name, this.ruleContext());
    const key = objectKey(created);
    if (table.latest(key)) throw alreadyExists(kind.plural, name, kind.group);
    return (await this.sequence(kind, key, 'put', created)) as T;
  }

  private async updateNow<T extends KubeObject>(kind: KindInfo, obj: T, options: WriteOptions): Promise<T> {
    this.checkOpen();
    const name = obj.metadata?.name ?? '';
    const key = this.keyOf(kind, obj.metadata?.namespace, name);
    const stored = this.state.table(kindKey(kind)).latest(key);
    if (!stored) throw notFound(kind.plural, name, kind.group);
    return (await this.applyUpdate(kind, key, stored, obj, options)) as T;
  }

  private async patchNow<T extends KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    mergePatch: unknown,
    options: WriteOptions,
  ): Promise<T> {
    this.checkOpen();
    if (typeof mergePatch !== 'object' || mergePatch === null || Array.isArray(mergePatch)) {
      throw badRequest('a JSON merge patch for an object must be a JSON object');
    }
    const key = this.keyOf(kind, namespace, name);
    const stored = this.state.table(kindKey(kind)).latest(key);
    if (!stored) throw notFound(kind.plural, name, kind.group);
    const patched = applyMergePatch(stored, mergePatch) as KubeObject;
    return (await this.applyUpdate(kind, key, stored, patched, options)) as T;
  }

  private async deleteNow<T extends KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions,
  ): Promise<T> {
    this.checkOpen();
    const key = this.keyOf(kind, namespace, name);
    const stored = this.state.table(kindKey(kind)).latest(key);
    if (!stored) throw notFound(kind.plural, name, kind.group);
    const decision = decideDelete(kind, stored, options, this.ruleContext());
    if (decision.action === 'unchanged') return (await this.durableCopy(stored)) as T;
    return (await this.sequence(
      kind,
      key,
      decision.action === 'remove' ? 'delete' : 'put',
      decision.object,
    )) as T;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state.hub.stopAll();
    await this.wal.idle();
    await this.compaction;
    if (this.compactOnClose !== undefined) {
      // replaying a record costs about what reading a snapshot entry does: worth it for a long log
      const threshold = Math.max(this.compactOnClose, this.state.objectCount / 10);
      if (this.state.recordsSinceSnapshot >= threshold) await this.startCompaction();
    }
    await this.compaction;
    const clean = await this.wal.close();
    if (clean) {
      const marker = { ...this.wal.end, revision: this.state.revision, objects: this.state.objectVersions() };
      // without it the next start reads the end of the log as after a crash
      await writeShutdownMarker(this.dir, marker, this.fs).catch(() => undefined);
    }
    await this.lock.release();
  }

  backup(): Snapshot {
    this.checkOpen();
    return { revision: this.state.revision, entries: this.state.snapshotEntries() };
  }

  stats(): EmbeddedStoreStats {
    return {
      revision: this.state.revision,
      objects: this.state.objectCount,
      oldestResumableRevision: this.state.hub.oldestResumable,
      walBatches: this.wal.stats.batches,
      walRecords: this.wal.stats.records,
      walLargestBatch: this.wal.stats.largestBatch,
      walBytes: this.wal.stats.bytes,
      snapshotRevision: this.facts.snapshotRevision,
      compactions: this.facts.compactions,
      compactionError: this.facts.compactionError,
      recoveredRecords: this.facts.recoveredRecords,
      droppedTailBytes: this.facts.droppedTailBytes,
      failedWriteBatches: this.wal.stats.failedBatches,
      lastWriteError: this.wal.lastError?.message,
      watchers: this.state.hub.watcherCount,
      watchHandlerErrors: this.state.hub.handlerErrors,
    };
  }

  // ---- internals ----------------------------------------------------------------------------

  private async applyUpdate(
    kind: KindInfo,
    key: string,
    stored: KubeObject,
    incoming: KubeObject,
    options: WriteOptions,
  ): Promise<KubeObject> {
    const decision = decideUpdate(kind, stored, incoming, options);
    if (decision.action === 'unchanged') return this.durableCopy(stored);
    return this.sequence(kind, key, decision.action === 'remove' ? 'delete' : 'put', decision.object);
  }

  /**
   * Assigns the next revision, makes the object the latest version (so the next write checks
   * against it), and resolves once the log record is durable.
   */
  private async sequence(kind: KindInfo, key: string, op: 'put' | 'delete', object: KubeObject) {
    const rev = ++this.latestRevision;
    const managedFields = this.state.sharedFields.shareList(managedFieldsOf(object), false);
    const stored: KubeObject = {
      ...object,
      metadata: withFields(
        object.metadata,
        managedFields === undefined
          ? { resourceVersion: String(rev) }
          : { resourceVersion: String(rev), managedFields },
      ),
    };
    const table = kindKey(kind);
    this.state.table(table).setLatest(key, op === 'put' ? stored : undefined);
    // serialised once: for the log record and for the API server's answer
    const json = JSON.stringify(stored);
    const durable = this.wal.append({ rev, kind: table, key, op, object: stored }, json);
    this.lastAppend = durable;
    try {
      await durable;
    } catch (err) {
      throw new StatusError(500, 'InternalError', (err as Error).message);
    }
    return withEncodedJson(cloneJson(stored), json);
  }

  /** A no-op write answers with the stored object, but only once that version is durable. */
  private async durableCopy(stored: KubeObject): Promise<KubeObject> {
    await this.lastAppend.catch(() => undefined);
    return cloneJson(stored);
  }

  private compactionDue(): boolean {
    const threshold = Math.max(this.compactEvery, this.state.objectCount);
    return !this.compaction && !this.closed && this.state.recordsSinceSnapshot >= threshold;
  }

  private async maybeStartCompaction(): Promise<void> {
    if (this.compactionDue()) await this.startCompaction();
  }

  /**
   * Starts a new log segment after the current revision, then writes the snapshot of that
   * revision in the background (this.compaction). Call while no log write is in flight.
   */
  private async startCompaction(): Promise<void> {
    const revision = this.state.revision;
    this.state.recordsSinceSnapshot = 0;
    try {
      await this.wal.rotate(revision + 1);
    } catch (err) {
      this.facts.compactionError = (err as Error).message; // tried again after as many records
      return;
    }
    const entries = this.state.snapshotEntries();
    this.compaction = this.compact(revision, entries).finally(() => {
      this.compaction = undefined;
    });
  }

  /** Writes the snapshot, then drops the segments and snapshots it makes redundant. */
  private async compact(revision: number, entries: SnapshotEntry[]): Promise<void> {
    try {
      await writeCompactedSnapshot(this.dir, { revision, entries }, this.fs);
      this.facts.snapshotRevision = revision;
      this.facts.compactions++;
    } catch (err) {
      this.facts.compactionError = (err as Error).message;
    }
  }

  private ruleContext(): RuleContext {
    return { now: this.clock(), newUid: this.newUid };
  }

  private keyOf(kind: KindInfo, namespace: string | undefined, name: string): string {
    return objectKey({ metadata: kind.namespaced && namespace ? { namespace, name } : { name } });
  }

  private scoped(kind: KindInfo, options: ListOptions): ListOptions {
    if (kind.namespaced || options.namespace === undefined) return options;
    const { namespace: _ignored, ...rest } = options;
    return rest;
  }

  private checkOpen(): void {
    if (this.closed) throw new StatusError(503, 'ServiceUnavailable', 'the store is closed');
  }
}
