// The ObjectStore contract. One interface for every backend (embedded WAL, etcd, a real
// kube-apiserver): revisions are global and monotonic like etcd's, updates are compare-and-swap
// on metadata.resourceVersion, deletes honour finalizers, and watches resume from a revision.
// Errors are StatusErrors (api/errors.ts) with the Kubernetes reason and code.
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';

export interface ListOptions {
  /** Only objects in this namespace (namespaced kinds). Absent = all namespaces. */
  namespace?: string;
  /** Kubernetes label selector syntax: `a=b,c!=d,e in (f,g),!h`. */
  labelSelector?: string;
  /** Kubernetes field selector syntax: `metadata.name=x,spec.nodeName=n,status.phase!=Bound`. */
  fieldSelector?: string;
  /** At most this many items (after filtering); absent or 0 = all. Lists only, not watches. */
  limit?: number;
  /** The `continue` token of the previous page: the page after it, read at that page's revision. */
  continue?: string;
  /**
   * The caller only reads the objects it is given (an informer's cache, a watch that serialises
   * them), so a store may hand out the objects it keeps instead of a copy each: they are then
   * deeply frozen, and a caller that tries to change one gets a TypeError, not a corrupted store.
   */
  readOnly?: boolean;
}

export interface ListResult<T extends KubeObject = KubeObject> {
  items: T[];
  /** The store revision the list was read at; a watch from it misses nothing. */
  resourceVersion: string;
  /** Set when more items follow: pass it as ListOptions.continue for the next page. */
  continue?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
  /**
   * The object as JSON, when the store holds it serialised (etcd): a watch stream sends these
   * bytes as they are, and `object` is parsed only if someone reads it. Not enumerable, so a
   * copy or a serialisation of the event leaves it out.
   */
  readonly encoded?: EncodedObject;
}

/** An object's JSON (resourceVersion included) and its resourceVersion, read without parsing it. */
export interface EncodedObject {
  resourceVersion: string;
  json(): Buffer;
}

export interface WatchOptions extends ListOptions {
  /**
   * Deliver every change after this revision. Absent or "0": first an ADDED event for every
   * current object, then changes. A revision older than the store keeps answers 410 Gone.
   */
  resourceVersion?: string;
  // readOnly (see ListOptions): fan-out to many read-only watchers costs no copy per watcher.
  /**
   * Told, in order with the events, a revision up to which every event of this watch has been
   * delivered, each time the caller asks with Watch.requestProgress: a watch bookmark, from which a
   * client can resume without missing anything although its own objects did not change.
   */
  onProgress?: (revision: string) => void;
  /**
   * With readOnly: a store that can hand the same events to many watchers calls this instead of
   * onEvent, with an array shared (and frozen) among all watchers that see exactly those events,
   * so that the caller can serialise a batch once for all of them. Others call onEvent.
   */
  onEvents?: (events: readonly WatchEvent[]) => void;
}

export interface Watch {
  stop(): void;
  /**
   * Asks for one onProgress call (see WatchOptions.onProgress). A store that cannot tell now
   * (etcd while it catches this watch up) may let a request pass without an answer.
   */
  requestProgress?(): void;
}

export interface WriteOptions {
  /**
   * 'status' writes only .status (the status subresource); otherwise .status is kept as stored.
   * 'binding' is a pod update that only sets spec.nodeName (pods/binding): stores write it as an
   * ordinary update, the API server's admission lets only that change through. 'finalize' writes
   * only a namespace's spec.finalizers (namespaces/finalize), which no other update changes.
   */
  subresource?: 'status' | 'binding' | 'finalize';
}

export interface CreateOptions {
  /**
   * Refuse with 404 `namespaces "x" not found` unless the namespace of a namespaced object exists,
   * checked with the create itself (the API server's namespace admission, without a read first).
   */
  namespaceMustExist?: boolean;
}

export interface DeleteOptions {
  /** Fail with 409 Conflict unless the stored object has this uid. */
  uid?: string;
  /** Fail with 409 Conflict unless the stored object has this resourceVersion. */
  resourceVersion?: string;
  /** Seconds the object is given to shut down (pods); recorded as deletionGracePeriodSeconds (default 0). */
  gracePeriodSeconds?: number;
}

export interface ObjectStore {
  get<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<T>;
  /**
   * The object exactly as it was at `resourceVersion`, when the store has that version at hand
   * without a round trip; it may have changed since (a write based on it compares the version).
   * For a store whose reads are round trips (etcd); others need not keep any.
   */
  knownVersion?<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    resourceVersion: string,
  ): T | undefined;
  list<T extends KubeObject = KubeObject>(kind: KindInfo, options?: ListOptions): Promise<ListResult<T>>;
  /** Assigns uid, creationTimestamp, resourceVersion, generation, and a name from generateName. */
  create<T extends KubeObject>(kind: KindInfo, obj: T, options?: CreateOptions): Promise<T>;
  /**
   * Replaces the object. With metadata.resourceVersion set it is a compare-and-swap (409 on
   * mismatch); without, last write wins. Removing the last finalizer of an object that has a
   * deletionTimestamp removes the object.
   */
  update<T extends KubeObject>(kind: KindInfo, obj: T, options?: WriteOptions): Promise<T>;
  /** RFC 7386 JSON merge patch, applied atomically against the current object. */
  patch<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    mergePatch: unknown,
    options?: WriteOptions,
  ): Promise<T>;
  /**
   * Deletes the object, or, while it has finalizers, sets deletionTimestamp and keeps it.
   * Returns the object as it was last stored.
   */
  delete<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
    options?: DeleteOptions,
  ): Promise<T>;
  /**
   * `onError` is told (once, then the watch is over) when a watch cannot go on, e.g. 410 Gone
   * when a backend loses its place after the history was compacted; the caller re-lists.
   */
  watch(
    kind: KindInfo,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    onError?: (err: Error) => void,
  ): Promise<Watch>;
  /** The current revision of the whole store. */
  currentRevision(): Promise<string>;
  close(): Promise<void>;
}
