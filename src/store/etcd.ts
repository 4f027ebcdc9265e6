// The ObjectStore on etcd (v3 API), as Kubernetes keeps its objects: resourceVersion is the key's
// mod_revision, every write is a transaction that compares the mod_revision it read (a lost race
// re-reads and decides again, or answers 409 when the caller pinned a version), lists read one
// revision page by page, watches are etcd watches from a revision (410 once it is compacted), and
// old revisions are compacted periodically. The write rules are the embedded store's
// (object-rules.ts), so both backends behave alike; any number of API servers may share one etcd.
import { randomUUID } from 'node:crypto';
import { noop } from 'cockatiel';
import { Etcd3, type IOptions } from 'etcd3';
import { alreadyExists, badRequest, conflict, gone, notFound, StatusError } from '../api/errors.js';
import { isNamespaceTerminating, namespaceTerminating } from '../api/namespace-lifecycle.js';
import { K, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { withEncodedJson } from './encoded-json.js';
import { jsonWithResourceVersion } from './etcd-json.js';
import { decodeObject, EtcdKeys, encodeObject, prefixEnd } from './etcd-keys.js';
import { EtcdCallError, EtcdUnaryClient } from './etcd-unary.js';
import { EtcdWatch } from './etcd-watch.js';
import type { KvCompare, KvKeyValue, KvOp, KvTxnResponse } from './etcd-wire.js';
import { applyMergePatch } from './merge-patch.js';
import { compileFilter } from './object-filter.js';
import {
  decideCreate,
  decideDelete,
  decideUpdate,
  generatedName,
  type DeleteDecision,
  type RuleContext,
} from './object-rules.js';
import { continueExpired, decodeContinue, encodeContinue, pageLimit } from './paging.js';
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

import type { EtcdStore, EtcdStoreOptions, EtcdStoreStats } from './etcd-types.js';
import { EtcdCompactor } from './etcd-compaction.js';
import { RecentValues, type RecentValue } from './etcd-recent.js';

export type { EtcdStore, EtcdStoreOptions, EtcdStoreStats, EtcdTls } from './etcd-types.js';

export async function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  if (options.endpoints.length === 0) throw new Error('no etcd endpoints given');
  const store = new EtcdObjectStore(options);
  try {
    await store.currentRevision(); // fail now, naming etcd, rather than at the first request
  } catch (err) {
    await store.close();
    throw err;
  }
  store.startCompaction();
  return store;
}

interface Stored {
  object: KubeObject;
  mod: string;
}

/** Cluster-scoped kinds have no namespace to narrow by. */
function scoped(kind: KindInfo, options: ListOptions): ListOptions {
  if (kind.namespaced) return options;
  const { namespace: _ignored, ...rest } = options;
  return rest;
}

/** What etcd errors become: the API server answers them as Kubernetes does for its storage. */
function storageError(err: unknown): Error {
  if (err instanceof StatusError) return err;
  const message = err instanceof Error ? err.message : String(err);
  // an object too large for etcd stays too large: 503 would tell clients to send it again
  if (err instanceof EtcdCallError && tooLargeForEtcd(err))
    return new StatusError(413, 'BadRequest', `etcd: ${message}`);
  return new StatusError(503, 'ServiceUnavailable', `etcd: ${message}`);
}

/** etcd's refusal of a request over its --max-request-bytes, or over its gRPC message limit. */
function tooLargeForEtcd(err: EtcdCallError): boolean {
  const GRPC_INVALID_ARGUMENT = 3;
  const GRPC_RESOURCE_EXHAUSTED = 8; // (also etcd's "too many requests": that one stays 503)
  return (
    (err.code === GRPC_INVALID_ARGUMENT && /request is too large/.test(err.message)) ||
    (err.code === GRPC_RESOURCE_EXHAUSTED && /larger than max/.test(err.message))
  );
}

class EtcdObjectStore implements EtcdStore {
  private readonly client: Etcd3;
  /** Range and Txn, the calls of every read and write (see etcd-unary.ts). */
  private readonly kv: EtcdUnaryClient;
  private readonly keys: EtcdKeys;
  private readonly clock: () => Date;
  private readonly newUid: () => string;
  private readonly compactor: EtcdCompactor;
  private readonly watches = new Set<EtcdWatch>();
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;
  private readonly counters = { writes: 0, retries: 0 };
  /**
   * Enough for a controller's update to find the version it was told of while thousands of other
   * objects change in between (at 4,096, binding 10k pairs read 3.4 objects per bind again);
   * each holds one stored value (about 1 KiB for a volume), as a watch cache holds every object.
   */
  private readonly recent = new RecentValues(32_768);
  /** Namespaces last seen Active, by name: their mod_revision then (see create). */
  private readonly activeNamespaces = new Map<string, string>();

  constructor(options: EtcdStoreOptions) {
    const timeout = options.requestTimeoutMs ?? 10_000;
    const clientOptions: IOptions = {
      hosts: [...options.endpoints],
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
      // No blind retries: a transaction whose answer was lost may have committed, and only the
      // caller can decide again (endpoints that keep failing are still skipped for a while).
      faultHandling: { global: noop },
    };
    if (options.tls) {
      clientOptions.credentials = {
        rootCertificate: options.tls.caPem,
        ...(options.tls.keyPem ? { privateKey: options.tls.keyPem } : {}),
        ...(options.tls.certPem ? { certChain: options.tls.certPem } : {}),
      };
    }
    this.client = new Etcd3(clientOptions);
    this.kv = new EtcdUnaryClient({ endpoints: options.endpoints, tls: options.tls, timeoutMs: timeout });
    this.keys = new EtcdKeys(options.prefix ?? '/registry');
    this.clock = options.clock ?? (() => new Date());
    this.newUid = options.uid ?? randomUUID;
    this.compactor = new EtcdCompactor({
      client: this.client,
      prefix: this.keys.prefix,
      intervalMs: options.compactionIntervalMs ?? 5 * 60_000,
      historyLimit: options.historyLimit,
      call: (request) => this.call(request),
      currentRevision: () => this.currentRevision(),
    });
  }

  // ---- reads --------------------------------------------------------------------------------

  async get<T extends KubeObject = KubeObject>(kind: KindInfo, namespace: string | undefined, name: string) {
    const stored = await this.read(kind, namespace, name);
    if (!stored) throw notFound(kind.plural, name, kind.group);
    return stored.object as T;
  }

  /** The object at `resourceVersion` if this store read, wrote or watched that version lately. */
  knownVersion<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    resourceVersion: string,
  ): T | undefined {
    const kv = this.recent.get(Buffer.from(this.keys.objectKey(kind, namespace, name)));
    return kv?.mod_revision === resourceVersion ? (decodeObject(kv) as T) : undefined;
  }

  async list<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    options: ListOptions = {},
  ): Promise<ListResult<T>> {
    this.checkOpen();
    const filter = compileFilter(scoped(kind, options));
    const limit = pageLimit(options);
    const from = options.continue ? decodeContinue(options.continue) : undefined;
    const prefix = this.keys.kindPrefix(kind, filter.namespace);
    const base = this.keys.kindPrefix(kind);
    let start = from ? Buffer.from(`${base}${from.afterKey}\0`) : Buffer.from(prefix);
    let revision = from ? String(from.revision) : undefined;
    const items: T[] = [];
    let lastKey = '';
    // read in chunks at one revision until the page is full of matching objects
    for (;;) {
      const chunk = limit === undefined ? 0 : Math.max(limit - items.length + 1, 64);
      const res = await this.call(() =>
        this.kv.range({
          key: start,
          range_end: prefixEnd(prefix),
          ...(chunk ? { limit: chunk } : {}),
          ...(revision ? { revision } : {}),
        }),
      ).catch((err: unknown) => {
        if (from && /compacted/.test((err as Error).message)) throw continueExpired();
        throw err;
      });
      revision ??= res.header.revision;
      for (const kv of res.kvs) {
        if (limit !== undefined && items.length === limit) {
          const next = { revision: Number(revision), afterKey: lastKey };
          return { items, resourceVersion: revision, continue: encodeContinue(next) };
        }
        const object = decodeObject(kv);
        lastKey = kv.key.toString('utf8').slice(base.length);
        if (filter.matches(object)) items.push(object as T);
      }
      if (!res.more || res.kvs.length === 0) return { items, resourceVersion: revision };
      start = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
  }

  async currentRevision(): Promise<string> {
    this.checkOpen();
    const res = await this.call(() =>
      this.kv.range({ key: Buffer.from(this.keys.bootstrapKey('revision')), count_only: true }),
    );
    return res.header.revision;
  }

  async watch(
    kind: KindInfo,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    onError?: (err: Error) => void,
  ): Promise<Watch> {
    this.checkOpen();
    const filter = compileFilter(scoped(kind, options));
    const rv = options.resourceVersion;
    let initial: KubeObject[] = [];
    let after: number;
    if (rv === undefined || rv === '' || rv === '0') {
      const { limit: _limit, continue: _continue, ...everything } = options;
      const listed = await this.list(kind, everything);
      initial = listed.items;
      after = Number(listed.resourceVersion);
    } else {
      if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version "${rv}"`);
      after = Number(rv);
      await this.compactor.checkNotCompacted(after);
    }
    const watch = new EtcdWatch({
      client: this.client,
      prefix: this.keys.kindPrefix(kind, filter.namespace),
      filter,
      afterRevision: after,
      initial: initial.map((object) => ({ type: 'ADDED' as const, object })),
      gate: () => this.writesInFlight(),
      onChange: (event) => {
        if (event.type === 'Put') this.recent.remember(event.kv.key, event.kv);
        else this.recent.forget(event.kv.key, event.kv.mod_revision);
      },
      valueAt: (key, at) => this.valueAt(key, at),
      onEvent,
      onProgress: options.onProgress,
      onError: (err) => {
        this.watches.delete(watch);
        onError?.(err);
      },
    });
    await this.call(() => watch.start());
    this.watches.add(watch);
    return {
      stop: () => {
        this.watches.delete(watch);
        watch.stop();
      },
      requestProgress: () => watch.requestProgress(),
    };
  }

  // ---- writes -------------------------------------------------------------------------------

  async create<T extends KubeObject>(kind: KindInfo, obj: T, options: CreateOptions = {}): Promise<T> {
    this.checkOpen();
    const meta = obj.metadata ?? {};
    const namespace = kind.namespaced ? meta.namespace : undefined;
    // the namespace's state is one more compare of the same transaction: its revision last seen
    // Active (read once per namespace; a failed compare brings the new state along)
    const namespaceKey =
      options.namespaceMustExist && namespace !== undefined
        ? Buffer.from(this.keys.objectKey(K.namespace, undefined, namespace))
        : undefined;
    for (let attempt = 0, namespaceReads = 0; ;) {
      const generate = !meta.name && meta.generateName;
      const name = generate ? generatedName(meta.generateName!) : (meta.name ?? '');
      const created = decideCreate(kind, obj, name, this.ruleContext());
      const key = Buffer.from(this.keys.objectKey(kind, namespace, name));
      const value = encodeObject(created);
      const compare: KvCompare[] = [{ key, target: 'Create', result: 'Equal', create_revision: 0 }];
      if (namespaceKey) {
        let mod_revision = this.activeNamespaces.get(namespace!);
        if (mod_revision === undefined) {
          const found = await this.call(() => this.kv.range({ key: namespaceKey }));
          mod_revision = this.learnNamespace(kind, namespace!, meta.name ?? '', found.kvs[0]);
        }
        compare.push({ key: namespaceKey, target: 'Mod', result: 'Equal', mod_revision });
      }
      const res = await this.txn(compare, { request_put: { key, value } });
      if (res.succeeded) {
        this.recent.remember(key, { value, mod_revision: res.header.revision });
        return this.written(created, res, value) as T;
      }
      const namespaceNow = res.responses[1]?.response_range.kvs[0];
      if (namespaceKey && namespaceNow?.mod_revision !== this.activeNamespaces.get(namespace!)) {
        this.learnNamespace(kind, namespace!, meta.name ?? '', namespaceNow);
        // it changed (or was not known yet) and is Active: once more with its new revision
        if (++namespaceReads > 8) throw conflict('namespaces', namespace!, 'the namespace keeps changing');
        continue;
      }
      // a generated name that is taken: draw another, as the API server does
      if (!generate || ++attempt > 8) throw alreadyExists(kind.plural, name, kind.group);
    }
  }

  /**
   * Records a namespace's state as a failed create brought it: 404 when it is gone, 403 when it is
   * Terminating (NamespaceLifecycle's answers), else its revision for the next compare.
   */
  private learnNamespace(
    kind: KindInfo,
    namespace: string,
    name: string,
    kv: KvKeyValue | undefined,
  ): string {
    this.activeNamespaces.delete(namespace);
    if (!kv) throw notFound('namespaces', namespace);
    if (isNamespaceTerminating(decodeObject(kv)))
      throw namespaceTerminating(kind.plural, kind.group, name, namespace);
    if (this.activeNamespaces.size >= 4096) this.activeNamespaces.clear();
    this.activeNamespaces.set(namespace, kv.mod_revision);
    return kv.mod_revision;
  }

  async update<T extends KubeObject>(kind: KindInfo, obj: T, options: WriteOptions = {}): Promise<T> {
    const name = obj.metadata?.name ?? '';
    return (await this.readModifyWrite(kind, obj.metadata?.namespace, name, (stored) =>
      decideUpdate(kind, stored, obj, options),
    )) as T;
  }

  async patch<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    mergePatch: unknown,
    options: WriteOptions = {},
  ): Promise<T> {
    if (typeof mergePatch !== 'object' || mergePatch === null || Array.isArray(mergePatch)) {
      throw badRequest('a JSON merge patch for an object must be a JSON object');
    }
    return (await this.readModifyWrite(kind, namespace, name, (stored) =>
      decideUpdate(kind, stored, applyMergePatch(stored, mergePatch) as KubeObject, options),
    )) as T;
  }

  async delete<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<T> {
    return (await this.readModifyWrite(kind, namespace, name, (stored) =>
      decideDelete(kind, stored, options, this.ruleContext()),
    )) as T;
  }

  async bootstrapValue(name: string, value: string): Promise<string> {
    this.checkOpen();
    const key = Buffer.from(this.keys.bootstrapKey(name));
    const res = await this.txn([{ key, target: 'Create', result: 'Equal', create_revision: 0 }], {
      request_put: { key, value: Buffer.from(value) },
    });
    if (res.succeeded) return value;
    return res.responses[0]!.response_range.kvs[0]!.value.toString('utf8');
  }

  async dbSize(): Promise<number> {
    const status = await this.call(() => this.client.maintenance.status());
    return Number(status.dbSize);
  }

  stats(): EtcdStoreStats {
    return { ...this.counters, compactedRevision: this.compactor.compactedTo, watchers: this.watches.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.compactor.stop();
    for (const watch of this.watches) watch.stop();
    this.watches.clear();
    this.client.close();
    this.kv.close();
  }

  startCompaction(): void {
    this.compactor.start();
  }

  // ---- internals ----------------------------------------------------------------------------

  private async read(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<Stored | undefined> {
    this.checkOpen();
    const key = Buffer.from(this.keys.objectKey(kind, namespace, name));
    const kv = await this.readKey(key);
    return kv ? { object: decodeObject(kv), mod: kv.mod_revision } : undefined;
  }

  /** The key's value at `revision` (410 once compacted). */
  private async valueAt(key: Buffer, revision: string): Promise<KvKeyValue | undefined> {
    const res = await this.call(() => this.kv.range({ key, revision })).catch((err: unknown) => {
      if (/compacted/.test((err as Error).message)) {
        throw gone(`too old resource version: ${revision} (${this.compactor.compactedTo})`);
      }
      throw err;
    });
    return res.kvs[0];
  }

  /** The key's current value from etcd (remembered for a write that may follow). */
  private async readKey(key: Buffer): Promise<RecentValue | undefined> {
    const kv = (await this.call(() => this.kv.range({ key }))).kvs[0];
    if (kv) this.recent.remember(key, kv);
    else this.recent.forget(key);
    return kv;
  }

  /**
   * Decides on the object and writes only if nobody wrote in between; a lost race reads the
   * winner's version and decides again (a caller that pinned a resourceVersion then gets 409).
   * The first decision may be on the version this store last saw (see RecentValues): anything
   * but a successful write then reads the current version and decides again, so a stale copy
   * never answers a conflict, an error or "unchanged".
   */
  private async readModifyWrite(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    decide: (stored: KubeObject) => DeleteDecision,
  ): Promise<KubeObject> {
    const key = Buffer.from(this.keys.objectKey(kind, namespace, name));
    let current = this.recent.get(key);
    let verified = current === undefined;
    if (verified) current = await this.readKey(key);
    for (;;) {
      this.checkOpen();
      if (!current) throw notFound(kind.plural, name, kind.group);
      const stored = decodeObject(current);
      let decision: DeleteDecision | undefined;
      try {
        decision = decide(stored);
      } catch (err) {
        if (verified) throw err; // else maybe only against the stale copy
      }
      if (decision?.action === 'unchanged' && verified) return stored;
      if (decision === undefined || decision.action === 'unchanged') {
        current = await this.readKey(key);
        verified = true;
        continue;
      }
      const value = decision.action === 'remove' ? undefined : encodeObject(decision.object);
      const op: KvOp = value ? { request_put: { key, value } } : { request_delete_range: { key } };
      const res = await this.txn(
        [{ key, target: 'Mod', result: 'Equal', mod_revision: current.mod_revision }],
        op,
      );
      if (res.succeeded) {
        if (value) this.recent.remember(key, { value, mod_revision: res.header.revision });
        else this.recent.forget(key);
        return this.written(decision.object, res, value);
      }
      this.counters.retries++;
      current = res.responses[0]?.response_range.kvs[0];
      verified = true;
      if (current) this.recent.remember(key, current);
      else this.recent.forget(key);
    }
  }

  /** A transaction: `success` when every compare holds, otherwise a read of each compared key. */
  private async txn(compare: KvCompare[], success: KvOp): Promise<KvTxnResponse> {
    const failure = compare.map(({ key }): KvOp => ({ request_range: { key } }));
    const request = this.call(() => this.kv.txn({ compare, success: [success], failure }));
    this.inflight.add(request);
    const res = await request.finally(() => this.inflight.delete(request));
    if (res.succeeded) {
      this.counters.writes++;
      await this.compactor.afterWrite(Number(res.header.revision));
    }
    return res;
  }

  /** Settles (a turn of the event loop) after every transaction now in flight has answered. */
  private writesInFlight(): Promise<unknown> | undefined {
    if (this.inflight.size === 0) return undefined;
    return Promise.allSettled([...this.inflight]).then(() => new Promise((resolve) => setImmediate(resolve)));
  }

  /**
   * The object as written, at the transaction's revision. With the value stored, the JSON text of
   * that object is recorded beside it (the stored bytes with the resourceVersion added), so that
   * the API server's answer is not serialised a second time.
   */
  private written(object: KubeObject, res: KvTxnResponse, value?: Buffer): KubeObject {
    const revision = res.header.revision;
    const result = { ...object, metadata: { ...object.metadata, resourceVersion: revision } };
    const json = value && jsonWithResourceVersion(value, revision);
    return json ? withEncodedJson(result, json.toString('utf8')) : result;
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw storageError(err);
    }
  }

  private ruleContext(): RuleContext {
    return { now: this.clock(), newUid: this.newUid };
  }

  private checkOpen(): void {
    if (this.closed) throw new StatusError(503, 'ServiceUnavailable', 'the store is closed');
  }
}
