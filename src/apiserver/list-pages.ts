// Lists answered as JSON bytes, with the next page of a paged list serialised ahead. A client
// paging through a large list (kubectl, an informer's first list, limit=500) parses one page
// while this server, on another core, serialises the next; serialising was half of such a list's
// time. A prepared page is sent only when nothing was written since it was read (the store's
// revision is the same), or else when a fresh read of that page finds exactly the objects it was
// made of (same uid and resourceVersion each, same list revision and continue token): the client
// gets the bytes a direct answer would have had. Memory stays bounded: a few pages, dropped when
// used, when stale, or after a while unused.
import { apiVersionOf, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { SNAPSHOT_GROUP } from '../api/snapshot-types.js';
import type { ListOptions, ListResult, ObjectStore } from '../store/types.js';

export interface ListBody {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string };
  items: KubeObject[];
}

export interface ListPagesLimits {
  /** At most this many prepared pages at once (0: none, each page is serialised when asked). */
  pages: number;
  /** At most this many bytes of prepared pages at once. */
  bytes: number;
  /** A prepared page nobody asked for is dropped after this long. */
  idleMs: number;
  /** Only pages of at most this many items are prepared (a huge page would only cost memory). */
  maxLimit: number;
}

export const defaultListPagesLimits: ListPagesLimits = {
  pages: 8,
  bytes: 16 * 1024 * 1024,
  idleMs: 30_000,
  maxLimit: 1_000,
};

interface Prepared {
  result: ListResult;
  encoded: Buffer;
  /** The store's revision just before the page was read (undefined: unknown). */
  revision: string | undefined;
  timer: NodeJS.Timeout;
  dropped: boolean;
}

export interface ListPagesStats {
  prepared: number;
  /** Prepared pages sent as the answer. */
  used: number;
  /** Prepared pages that no longer matched a fresh read when asked for (a write came between). */
  stale: number;
  /** Prepared pages held now, and their bytes. */
  held: number;
  heldBytes: number;
}

export function listBody(kind: KindInfo, result: ListResult): ListBody {
  const metadata = {
    resourceVersion: result.resourceVersion,
    ...(result.continue ? { continue: result.continue } : {}),
  };
  return {
    kind: `${kind.kind}List`,
    apiVersion: apiVersionOf(kind),
    metadata,
    items: listItems(kind, result.items),
  };
}

/**
 * The items of a list as kube-apiserver answers them: a built-in kind's list names its kind and
 * apiVersion once, and its items leave both out (each would repeat the list's, about 4% of a
 * volume list's bytes); the snapshot kinds are custom resources upstream, whose lists keep both
 * on every item. Watch events and single objects keep them always. The store's objects are shared:
 * each item is a shallow copy without the two fields.
 */
export function listItems(kind: KindInfo, items: readonly KubeObject[]): KubeObject[] {
  if (kind.group === SNAPSHOT_GROUP) return items as KubeObject[];
  return items.map(withoutTypeMeta);
}

function withoutTypeMeta(item: KubeObject): KubeObject {
  const copy: Record<string, unknown> = {};
  for (const key in item) if (key !== 'kind' && key !== 'apiVersion') copy[key] = item[key];
  // the type says every object has both; on the wire a list item has neither
  return copy as KubeObject;
}

/** A list's items are serialised in runs of about this many characters each. */
const RUN_CHARS = 64 * 1024;

/**
 * The compact JSON answer, as sendJson writes it: the bytes of `${JSON.stringify(body)}\n`. The
 * items are serialised a run at a time, each run sized to stay well under V8's large-object size
 * (128 KiB): a page of 500 volumes is half a megabyte of text, and one string that large is
 * allocated outside the young generation and copied again to become bytes, which made
 * serialising a page cost 2-3 times what its runs do.
 */
export function encodeJson(body: ListBody): Buffer {
  const { items } = body;
  const head = JSON.stringify({ ...body, items: [] });
  if (items.length === 0) return Buffer.from(`${head}\n`);
  // head ends with "[]}": the runs go between the brackets, separated by commas
  const parts = [Buffer.from(head.slice(0, -2))];
  let runLength = 16;
  for (let at = 0; at < items.length;) {
    const run = items.slice(at, at + runLength);
    const text = JSON.stringify(run);
    // "[a,b]" of this run without its brackets, after a comma if items came before
    parts.push(Buffer.from(`${at === 0 ? '' : ','}${text.slice(1, -1)}`));
    at += run.length;
    // the next run as long as RUN_CHARS allows for items the size of this run's
    runLength = Math.max(1, Math.min(1024, Math.floor((run.length * RUN_CHARS) / text.length)));
  }
  parts.push(Buffer.from(']}\n'));
  return Buffer.concat(parts);
}

export class ListPages {
  private readonly ahead = new Map<string, Promise<Prepared | undefined>>();
  private bytes = 0;
  private closed = false;
  private readonly counts = { prepared: 0, used: 0, stale: 0 };
  private readonly limits: ListPagesLimits;

  constructor(limits: ListPagesLimits = defaultListPagesLimits) {
    this.limits = limits;
  }

  /** One page of a list (read-only objects), its body and its bytes; prepares the next page. */
  async list(
    store: ObjectStore,
    kind: KindInfo,
    options: ListOptions,
  ): Promise<{ body: ListBody; encoded: Buffer }> {
    const prepared = await this.take(keyOf(kind, options));
    // no write since the prepared read: a fresh read would find the same page
    if (prepared?.revision !== undefined && (await revisionOf(store)) === prepared.revision) {
      this.counts.used++;
      return this.answer(store, kind, options, prepared.result, prepared.encoded);
    }
    const result = await store.list(kind, { ...options, readOnly: true });
    if (prepared && samePage(prepared.result, result)) {
      this.counts.used++;
      return this.answer(store, kind, options, result, prepared.encoded);
    }
    if (prepared) this.counts.stale++;
    return this.answer(store, kind, options, result);
  }

  /** A page's answer (its bytes serialised now unless given); prepares the next page. */
  private answer(
    store: ObjectStore,
    kind: KindInfo,
    options: ListOptions,
    result: ListResult,
    encoded?: Buffer,
  ): { body: ListBody; encoded: Buffer } {
    const body = listBody(kind, result);
    if (result.continue) this.prepare(store, kind, { ...options, continue: result.continue });
    return { body, encoded: encoded ?? encodeJson(body) };
  }

  stats(): ListPagesStats {
    return { ...this.counts, held: this.ahead.size, heldBytes: this.bytes };
  }

  close(): void {
    this.closed = true;
    for (const entry of this.ahead.values()) void entry.then((prepared) => prepared && this.drop(prepared));
    this.ahead.clear();
  }

  private async take(key: string): Promise<Prepared | undefined> {
    const entry = this.ahead.get(key);
    if (!entry) return undefined;
    this.ahead.delete(key);
    const prepared = await entry;
    if (prepared) this.drop(prepared);
    return prepared;
  }

  private prepare(store: ObjectStore, kind: KindInfo, options: ListOptions): void {
    const key = keyOf(kind, options);
    const { limit } = options;
    if (this.closed || limit === undefined || limit > this.limits.maxLimit) return;
    if (this.ahead.size >= this.limits.pages || this.ahead.has(key)) return;
    const forget = (): undefined => {
      if (this.ahead.get(key) === entry) this.ahead.delete(key);
      return undefined;
    };
    const entry = (async (): Promise<Prepared | undefined> => {
      // after this answer is written: the client reads it while the next page is serialised
      await new Promise((resolve) => setImmediate(resolve));
      try {
        // read before the page: a write after it changes the revision, and the page is checked
        const revision = await revisionOf(store);
        const result = await store.list(kind, { ...options, readOnly: true });
        const encoded = encodeJson(listBody(kind, result));
        if (this.closed || this.bytes + encoded.length > this.limits.bytes) return forget();
        this.bytes += encoded.length;
        this.counts.prepared++;
        // dropped unused after a while; a request that took it drops it itself
        const timer = setTimeout(() => {
          if (this.ahead.get(key) === entry) void this.take(key);
        }, this.limits.idleMs).unref();
        return { result, encoded, revision, timer, dropped: false };
      } catch {
        // a page that cannot be read now (an expired token, a closed store) is answered when asked
        return forget();
      }
    })();
    this.ahead.set(key, entry);
  }

  private drop(prepared: Prepared): void {
    if (prepared.dropped) return;
    prepared.dropped = true;
    clearTimeout(prepared.timer);
    this.bytes -= prepared.encoded.length;
  }
}

/** The store's revision now; undefined when it cannot say (the page is then read again). */
async function revisionOf(store: ObjectStore): Promise<string | undefined> {
  try {
    return await store.currentRevision();
  } catch {
    return undefined;
  }
}

/** Which request a page answers: the kind, the scope, the selectors, the page size and token. */
function keyOf(kind: KindInfo, options: ListOptions): string {
  const { namespace, labelSelector, fieldSelector, limit } = options;
  return JSON.stringify([
    kind.group,
    kind.version,
    kind.plural,
    namespace,
    labelSelector,
    fieldSelector,
    limit,
    options.continue,
  ]);
}

/** The same objects at the same versions, at the same list revision and with the same next token. */
function samePage(a: ListResult, b: ListResult): boolean {
  if (a.resourceVersion !== b.resourceVersion || a.continue !== b.continue) return false;
  if (a.items.length !== b.items.length) return false;
  return a.items.every((item, i) => {
    const other = b.items[i]!;
    if (item === other) return true;
    return (
      item.metadata?.uid === other.metadata?.uid &&
      item.metadata?.resourceVersion === other.metadata?.resourceVersion &&
      item.metadata?.name === other.metadata?.name &&
      item.metadata?.namespace === other.metadata?.namespace
    );
  });
}

/** Serialises each page when asked, preparing none ahead. */
export const pagesWhenAsked = new ListPages({ ...defaultListPagesLimits, pages: 0 });
