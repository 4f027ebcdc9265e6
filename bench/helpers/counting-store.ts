// An ObjectStore wrapper that counts successful writes, in total and per kind: what the
// provisioning benchmark reports as writes per claim.
import type { ObjectStore } from '../../src/store/types.js';
import type { KindInfo } from '../../src/api/kinds.js';

export class CountingStore implements ObjectStore {
  writes = 0;
  readonly byKind = new Map<string, number>();
  private readonly inner: ObjectStore;

  constructor(inner: ObjectStore) {
    this.inner = inner;
  }

  private async write<T>(kindInfo: KindInfo, op: () => Promise<T>): Promise<T> {
    const result = await op();
    this.writes++;
    this.byKind.set(kindInfo.kind, (this.byKind.get(kindInfo.kind) ?? 0) + 1);
    return result;
  }

  get: ObjectStore['get'] = (k, ns, name) => this.inner.get(k, ns, name);
  list: ObjectStore['list'] = (k, options) => this.inner.list(k, options);
  create: ObjectStore['create'] = (k, obj) => this.write(k, () => this.inner.create(k, obj));
  update: ObjectStore['update'] = (k, obj, options) =>
    this.write(k, () => this.inner.update(k, obj, options));
  patch: ObjectStore['patch'] = (k, ns, name, p, options) =>
    this.write(k, () => this.inner.patch(k, ns, name, p, options));
  delete: ObjectStore['delete'] = (k, ns, name, options) =>
    this.write(k, () => this.inner.delete(k, ns, name, options));
  watch: ObjectStore['watch'] = (k, options, onEvent) => this.inner.watch(k, options, onEvent);
  currentRevision: ObjectStore['currentRevision'] = () => this.inner.currentRevision();
  close: ObjectStore['close'] = () => this.inner.close();
}
