// A small in-memory ObjectStore for the binder's decision tests and convergence harness: the
// contract's write rules (compare-and-swap on resourceVersion, status written only through the
// status subresource, finalizers hold deletes) without persistence or watches. It can be told to
// lose a write, which the harness uses to simulate a controller crash between two steps.
import { alreadyExists, conflict, notFound } from '../../../src/api/errors.js';
import type { KindInfo } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { objectKey } from '../../../src/api/meta.js';
import type {
  DeleteOptions,
  ListOptions,
  ListResult,
  ObjectStore,
  Watch,
  WatchOptions,
  WriteOptions,
} from '../../../src/store/types.js';

export class CrashError extends Error {
  constructor() {
    super('simulated crash: write lost');
    this.name = 'CrashError';
  }
}

export class MemoryStore implements ObjectStore {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private revision = 0;
  private uidSeq = 0;
  /** Writes that reached the store, per kind. */
  readonly writes = new Map<string, number>();
  /** When set, the write with this number (1-based, counted from now) is lost and throws. */
  private crashAt: number | undefined;
  private writesSinceArm = 0;

  armCrash(afterWrites: number | undefined): void {
    this.crashAt = afterWrites;
    this.writesSinceArm = 0;
  }

  totalWrites(kind?: string): number {
    if (kind) return this.writes.get(kind) ?? 0;
    let n = 0;
    for (const v of this.writes.values()) n += v;
    return n;
  }

  private table(kind: KindInfo): Map<string, KubeObject> {
    let t = this.objects.get(kind.kind);
    if (!t) this.objects.set(kind.kind, (t = new Map()));
    return t;
  }

  private countWrite(kind: KindInfo): void {
    if (this.crashAt !== undefined) {
      this.writesSinceArm++;
      if (this.writesSinceArm === this.crashAt) throw new CrashError();
    }
    this.writes.set(kind.kind, (this.writes.get(kind.kind) ?? 0) + 1);
  }

  private stamp<T extends KubeObject>(obj: T): T {
    this.revision++;
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.revision) } };
  }

  /** Puts an object in as-is (uid kept), without counting a write. For test setup. */
  seed<T extends KubeObject>(kind: KindInfo, obj: T): T {
    const stored = this.stamp(structuredClone(obj));
    stored.metadata.uid ??= `seed-uid-${++this.uidSeq}`;
    this.table(kind).set(objectKey(stored), stored);
    return structuredClone(stored);
  }

  get<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    const obj = this.table(kind).get(namespace ? `${namespace}/${name}` : name);
    if (!obj) return Promise.reject(notFound(kind.plural, name, kind.group));
    return Promise.resolve(structuredClone(obj) as T);
  }

  list<T extends KubeObject = KubeObject>(kind: KindInfo, options: ListOptions = {}): Promise<ListResult<T>> {
    const items = [...this.table(kind).values()]
      .filter((o) => options.namespace === undefined || o.metadata.namespace === options.namespace)
      .map((o) => structuredClone(o) as T);
    return Promise.resolve({ items, resourceVersion: String(this.revision) });
  }

  create<T extends KubeObject>(kind: KindInfo, obj: T): Promise<T> {
    const key = objectKey(obj);
    if (this.table(kind).has(key))
      return Promise.reject(alreadyExists(kind.plural, obj.metadata.name ?? '', kind.group));
    this.countWrite(kind);
    const stored = this.stamp(structuredClone(obj));
    stored.metadata.uid ??= `uid-${++this.uidSeq}`;
    this.table(kind).set(key, stored);
    return Promise.resolve(structuredClone(stored));
  }

  update<T extends KubeObject>(kind: KindInfo, obj: T, options: WriteOptions = {}): Promise<T> {
    const key = objectKey(obj);
    const current = this.table(kind).get(key);
    const name = obj.metadata.name ?? '';
    if (!current) return Promise.reject(notFound(kind.plural, name, kind.group));
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== current.metadata.resourceVersion) {
      return Promise.reject(conflict(kind.plural, name, 'the object has been modified', kind.group));
    }
    this.countWrite(kind);
    let next: KubeObject;
    if (options.subresource === 'status') {
      next = { ...structuredClone(current), status: structuredClone(obj['status']) };
    } else {
      next = structuredClone(obj);
      if (kind.hasStatus) {
        if (current['status'] === undefined) delete next['status'];
        else next['status'] = structuredClone(current['status']);
      }
      if (current.metadata.uid !== undefined) next.metadata.uid = current.metadata.uid;
      if (current.metadata.deletionTimestamp)
        next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    }
    const stored = this.stamp(next);
    if (stored.metadata.deletionTimestamp && (stored.metadata.finalizers ?? []).length === 0) {
      this.table(kind).delete(key);
    } else {
      this.table(kind).set(key, stored);
    }
    return Promise.resolve(structuredClone(stored) as T);
  }

  patch<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    mergePatch: unknown,
  ): Promise<T> {
    const key = namespace ? `${namespace}/${name}` : name;
    const current = this.table(kind).get(key);
    if (!current) return Promise.reject(notFound(kind.plural, name, kind.group));
    this.countWrite(kind);
    const stored = this.stamp({ ...structuredClone(current), ...(mergePatch as object) });
    this.table(kind).set(key, stored);
    return Promise.resolve(structuredClone(stored) as T);
  }

  delete<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    _options?: DeleteOptions,
  ): Promise<T> {
    const key = namespace ? `${namespace}/${name}` : name;
    const current = this.table(kind).get(key);
    if (!current) return Promise.reject(notFound(kind.plural, name, kind.group));
    this.countWrite(kind);
    if ((current.metadata.finalizers ?? []).length > 0) {
      const stored = this.stamp({
        ...structuredClone(current),
        metadata: { ...structuredClone(current.metadata), deletionTimestamp: '2025-01-01T00:00:00Z' },
      });
      this.table(kind).set(key, stored);
      return Promise.resolve(structuredClone(stored) as T);
    }
    this.table(kind).delete(key);
    return Promise.resolve(structuredClone(current) as T);
  }

  watch(_kind: KindInfo, _options: WatchOptions): Promise<Watch> {
    return Promise.reject(new Error('MemoryStore does not watch'));
  }

  currentRevision(): Promise<string> {
    return Promise.resolve(String(this.revision));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
