// The ObjectStore berth's own controllers and node agent use in embedded mode: reads go straight
// to the store, writes through the same door as the API server's (admission, defaulting,
// validation, update rules, DeleteOptions), so an object looks the same whoever created it.
import { isStatusError } from '../api/errors.js';
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { applyMergePatch } from '../store/merge-patch.js';
import type {
  DeleteOptions,
  ListOptions,
  ListResult,
  ObjectStore,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from '../store/types.js';
import { deleteAdmitted } from './deletes.js';
import { managedFieldsTime, updateManagedFields, withManagedFields, type Writer } from './managed-fields.js';
import { createAdmitted, updateAdmitted, type WriteContext, type WriteRequestOptions } from './writes.js';

/**
 * The field manager berth's own components write as: the name the API server gives their REST
 * clients' requests too (the program part of the User-Agent), so both modes record the same owner.
 */
export const BERTH_FIELD_MANAGER = 'berth';

/** How often a merge patch is re-applied after losing a compare-and-swap race. */
const patchRetries = 5;

export class AdmittedStore implements ObjectStore {
  private readonly inner: ObjectStore;
  private readonly ctx: WriteContext;

  constructor(inner: ObjectStore, now: () => Date = () => new Date()) {
    this.inner = inner;
    this.ctx = { store: inner, now };
  }

  /**
   * managedFields as the API server keeps them for a client's write: the writer owns what it
   * changed, and an object sent without managedFields (informers cache none) keeps the stored ones.
   */
  private tracked(kind: KindInfo, old: KubeObject | undefined, subresource?: string): WriteRequestOptions {
    const writer: Writer = { manager: BERTH_FIELD_MANAGER, time: managedFieldsTime(this.ctx.now()) };
    if (subresource) writer.subresource = subresource;
    return {
      track: (prepared) => withManagedFields(prepared, updateManagedFields(kind, old, prepared, writer)),
    };
  }

  get<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    return this.inner.get<T>(kind, namespace, name);
  }

  list<T extends KubeObject = KubeObject>(kind: KindInfo, options?: ListOptions): Promise<ListResult<T>> {
    return this.inner.list<T>(kind, options);
  }

  async create<T extends KubeObject>(kind: KindInfo, obj: T): Promise<T> {
    return (await createAdmitted(this.ctx, kind, obj, this.tracked(kind, undefined))) as T;
  }

  async update<T extends KubeObject>(kind: KindInfo, obj: T, options: WriteOptions = {}): Promise<T> {
    const old = await this.inner.get(kind, obj.metadata.namespace, obj.metadata.name ?? '');
    const tracking = this.tracked(kind, old, options.subresource);
    return (await updateAdmitted(this.ctx, kind, options.subresource, obj, old, tracking)) as T;
  }

  async patch<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    mergePatch: unknown,
    options: WriteOptions = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const old = await this.inner.get(kind, namespace, name);
      const patched = applyMergePatch(old, mergePatch) as KubeObject;
      // the patch applies to what was read: a concurrent write makes this a conflict, then a retry
      if (old.metadata.resourceVersion) patched.metadata.resourceVersion = old.metadata.resourceVersion;
      try {
        const tracking = this.tracked(kind, old, options.subresource);
        return (await updateAdmitted(this.ctx, kind, options.subresource, patched, old, tracking)) as T;
      } catch (err) {
        if (attempt >= patchRetries || !isStatusError(err, 'Conflict')) throw err;
      }
    }
  }

  async delete<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<T> {
    const preconditions: { uid?: string; resourceVersion?: string } = {};
    if (options.uid) preconditions.uid = options.uid;
    if (options.resourceVersion) preconditions.resourceVersion = options.resourceVersion;
    const request = {
      dryRun: false,
      preconditions,
      ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
    };
    return (await deleteAdmitted(this.ctx, kind, namespace, name, request)).object as T;
  }

  watch(kind: KindInfo, options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<Watch> {
    return this.inner.watch(kind, options, onEvent);
  }

  currentRevision(): Promise<string> {
    return this.inner.currentRevision();
  }

  /** The inner store belongs to whoever opened it. */
  async close(): Promise<void> {}
}
