// Shared by the machinery tests: a real embedded store in a temp dir, a pass-through store whose
// calls a test can hold or fail (to create timing that is otherwise a race), and polling.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KindInfo } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { openEmbeddedStore } from '../../../src/store/embedded.js';
import type { EmbeddedStore } from '../../../src/store/embedded.js';
import type {
  DeleteOptions,
  ListOptions,
  ObjectStore,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from '../../../src/store/types.js';

export interface TempStore {
  store: EmbeddedStore;
  cleanup(): Promise<void>;
}

export async function tempStore(options: { historyLimit?: number } = {}): Promise<TempStore> {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-machinery-'));
  const store = await openEmbeddedStore({ dataDir, ...options });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls (in real time) until `cond` holds; fails after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what = 'condition', timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * Delegates to a real store. A test can hold watch() calls until it releases them, and make
 * chosen operations fail, to stage what would otherwise be a race or an outage.
 */
export class InterposedStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly calls: Record<string, number> = {};
  /** Next calls of these operations throw this error (each entry used once). */
  readonly failNext: { op: string; error: Error }[] = [];
  /** While set, every call of these operations throws. */
  failing = new Map<string, Error>();
  /** While set, every watch is ended by the "server" right after it opens. */
  endWatchesAtOnce = false;
  private watchGate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(inner: ObjectStore) {
    this.inner = inner;
  }

  holdWatches(): void {
    this.watchGate = new Promise((resolve) => (this.openGate = resolve));
  }

  releaseWatches(): void {
    this.openGate?.();
    this.watchGate = undefined;
  }

  private enter(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const always = this.failing.get(op);
    if (always) throw always;
    const i = this.failNext.findIndex((f) => f.op === op);
    if (i >= 0) {
      const [f] = this.failNext.splice(i, 1);
      throw f!.error;
    }
  }

  async get<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    this.enter('get');
    return this.inner.get<T>(kind, namespace, name);
  }
  async list<T extends KubeObject = KubeObject>(kind: KindInfo, options?: ListOptions) {
    this.enter('list');
    return this.inner.list<T>(kind, options);
  }
  async create<T extends KubeObject>(kind: KindInfo, obj: T): Promise<T> {
    this.enter('create');
    return this.inner.create(kind, obj);
  }
  async update<T extends KubeObject>(kind: KindInfo, obj: T, options?: WriteOptions): Promise<T> {
    this.enter('update');
    return this.inner.update(kind, obj, options);
  }
  async patch<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    mergePatch: unknown,
    options?: WriteOptions,
  ): Promise<T> {
    this.enter('patch');
    return this.inner.patch<T>(kind, namespace, name, mergePatch, options);
  }
  async delete<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    options?: DeleteOptions,
  ): Promise<T> {
    this.enter('delete');
    return this.inner.delete<T>(kind, namespace, name, options);
  }
  async watch(
    kind: KindInfo,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    onEnded?: (err: Error) => void,
  ): Promise<Watch> {
    this.enter('watch');
    if (this.watchGate) await this.watchGate;
    const watch = await this.inner.watch(kind, options, onEvent, onEnded);
    // A server that closes every watch stream as soon as it opens.
    if (this.endWatchesAtOnce) setImmediate(() => onEnded?.(new Error('stream closed by server')));
    return watch;
  }
  currentRevision(): Promise<string> {
    return this.inner.currentRevision();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
