// The store fault-injection harness: a seeded random workload through the real embedded store,
// one fault applied to the closed data directory, then the verdict of reopening it: every
// acknowledged write served, or a refused start that names the damage and a repair after which
// the served objects equal the acknowledged ones except exactly the objects repair reported.
// Used by test/integration/store-faults.test.ts (a few seeds) and bench/store-faults.ts (many).
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { kinds, type KindInfo } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { StoreDamagedError } from '../../src/store/recovery.js';
import { repairDataDir } from '../../src/store/repair.js';
import type { StoreFs } from '../../src/store/store-fs.js';

export type Rng = () => number;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rngFor(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

const configMaps = kinds.find((k) => k.kind === 'ConfigMap')!;
const secrets = kinds.find((k) => k.kind === 'Secret')!;

/** What a client was told: per object reference, its acknowledged version (absent: deleted). */
export type Model = Map<string, { rv: string; data: string } | undefined>;

interface Slot {
  kind: KindInfo;
  namespace: string;
  name: string;
  ref: string;
}

export function slots(count: number): Slot[] {
  return Array.from({ length: count }, (_, i) => {
    const kind = i % 3 === 0 ? secrets : configMaps;
    const namespace = `ns${i % 2}`;
    const name = `o${i}`;
    return { kind, namespace, name, ref: `${kind.group}/${kind.plural} ${namespace}/${name}` };
  });
}

function objectFor(slot: Slot, data: string, rv?: string): KubeObject {
  const metadata = { name: slot.name, namespace: slot.namespace, ...(rv ? { resourceVersion: rv } : {}) };
  return { apiVersion: 'v1', kind: slot.kind.kind, metadata, data: { v: data } };
}

export interface WorkloadEvents {
  /** Before a write is sent (it may become durable without being acknowledged). */
  onSend?(ref: string): void;
  onAck?(ref: string, rv: string, op: 'put' | 'delete'): void;
  /** A write the store refused with a 5xx: not acknowledged. */
  onServerError?(ref: string, err: Error): void;
}

/**
 * One batch of up to `width` concurrent writes to distinct random objects: create when absent,
 * else update (compare-and-swap) or delete. Returns the number of 5xx answers.
 */
export async function writeBatch(
  store: EmbeddedStore,
  model: Model,
  rng: Rng,
  all: readonly Slot[],
  width: number,
  events: WorkloadEvents = {},
): Promise<number> {
  const chosen = new Set<Slot>();
  while (chosen.size < Math.min(width, all.length)) chosen.add(pick(rng, all));
  let serverErrors = 0;
  await Promise.all(
    [...chosen].map(async (slot) => {
      const current = model.get(slot.ref);
      const data = `${Math.floor(rng() * 1e9)}-`.padEnd(20 + Math.floor(rng() * 1500), 'x');
      const remove = current !== undefined && rng() < 0.25;
      events.onSend?.(slot.ref);
      try {
        if (remove) {
          await store.delete(slot.kind, slot.namespace, slot.name);
          model.set(slot.ref, undefined);
          events.onAck?.(slot.ref, '', 'delete');
          return;
        }
        const written = current
          ? await store.update(slot.kind, objectFor(slot, data, current.rv))
          : await store.create(slot.kind, objectFor(slot, data));
        const rv = written.metadata.resourceVersion!;
        model.set(slot.ref, { rv, data });
        events.onAck?.(slot.ref, rv, 'put');
      } catch (err) {
        if (!isStatusError(err) || err.code < 500) throw err;
        serverErrors++;
        events.onServerError?.(slot.ref, err);
      }
    }),
  );
  return serverErrors;
}

export interface WorkloadOptions {
  ops: number;
  compactEvery: number;
  objects?: number;
  fs?: StoreFs;
}

/** Runs a workload and closes the store cleanly; returns what was acknowledged. */
export async function runWorkload(dataDir: string, seed: number, options: WorkloadOptions): Promise<Model> {
  const rng = rngFor(seed);
  const all = slots(options.objects ?? 150);
  const model: Model = new Map();
  const store = await openEmbeddedStore({
    dataDir,
    compactEvery: options.compactEvery,
    ...(options.fs ? { fs: options.fs } : {}),
  });
  for (let done = 0; done < options.ops; done += 16) await writeBatch(store, model, rng, all, 16, {});
  await store.close();
  return model;
}

/** What the store serves, in the model's terms. */
export async function served(dataDir: string): Promise<Model> {
  const store = await openEmbeddedStore({ dataDir });
  try {
    return await servedBy(store);
  } finally {
    await store.close();
  }
}

export async function servedBy(store: EmbeddedStore): Promise<Model> {
  const out: Model = new Map();
  for (const kind of [configMaps, secrets]) {
    for (const obj of (await store.list(kind)).items) {
      const ref = `${kind.group}/${kind.plural} ${obj.metadata.namespace}/${obj.metadata.name}`;
      out.set(ref, { rv: obj.metadata.resourceVersion!, data: (obj['data'] as { v: string }).v });
    }
  }
  return out;
}

/** References whose served state differs from the acknowledged one. */
export function differing(acked: Model, serving: Model): Set<string> {
  const out = new Set<string>();
  for (const ref of new Set([...acked.keys(), ...serving.keys()])) {
    const a = acked.get(ref);
    const s = serving.get(ref);
    if (a?.rv !== s?.rv || a?.data !== s?.data) out.add(ref);
  }
  return out;
}

export const FILE_FAULTS = [
  'byte-flip',
  'truncate',
  'zero-page',
  'duplicate-page',
  'reorder-page',
  'delete-segment',
] as const;
export type FileFault = (typeof FILE_FAULTS)[number];

const PAGE = 4096;

/** Applies one fault to a closed data directory; undefined when it does not apply here. */
export function applyFault(dataDir: string, fault: FileFault, rng: Rng): string | undefined {
  const names = readdirSync(dataDir).sort();
  const segments = names.filter((n) => n.startsWith('wal-'));
  if (fault === 'delete-segment') {
    if (segments.length < 3) return undefined;
    const victim = segments[1 + Math.floor(rng() * (segments.length - 2))]!;
    unlinkSync(join(dataDir, victim));
    return `deleted ${victim} of ${segments.length} segments`;
  }
  const snapshot = names.filter((n) => n.startsWith('snapshot-')).pop();
  const targets = [...segments, ...(snapshot ? [snapshot] : [])].filter(
    (n) => statSync(join(dataDir, n)).size > 0,
  );
  if (targets.length === 0) return undefined;
  const name = pick(rng, targets);
  const path = join(dataDir, name);
  const bytes = readFileSync(path);
  const pages = Math.ceil(bytes.length / PAGE);
  const pageOf = (i: number): [number, number] => [i * PAGE, Math.min(bytes.length, (i + 1) * PAGE)];
  switch (fault) {
    case 'byte-flip': {
      const at = Math.floor(rng() * bytes.length);
      bytes[at] = bytes[at]! ^ (1 + Math.floor(rng() * 255));
      writeFileSync(path, bytes);
      return `${name}: byte ${at} of ${bytes.length} flipped`;
    }
    case 'truncate': {
      const at = Math.floor(rng() * bytes.length);
      writeFileSync(path, bytes.subarray(0, at));
      return `${name}: cut to ${at} of ${bytes.length} bytes`;
    }
    case 'zero-page': {
      const page = Math.floor(rng() * pages);
      bytes.fill(0, ...pageOf(page));
      writeFileSync(path, bytes);
      return `${name}: page ${page} of ${pages} zeroed`;
    }
    case 'duplicate-page':
    case 'reorder-page': {
      if (pages < 2) return undefined;
      const a = Math.floor(rng() * pages);
      let b = Math.floor(rng() * (pages - 1));
      if (b >= a) b++;
      const [as, ae] = pageOf(a);
      const [bs, be] = pageOf(b);
      const length = Math.min(ae - as, be - bs);
      const pageA = Buffer.from(bytes.subarray(as, as + length));
      const pageB = Buffer.from(bytes.subarray(bs, bs + length));
      pageA.copy(bytes, bs);
      if (fault === 'reorder-page') pageB.copy(bytes, as);
      writeFileSync(path, bytes);
      return `${name}: page ${a} ${fault === 'reorder-page' ? 'swapped with' : 'copied over'} page ${b} of ${pages}`;
    }
  }
}

export interface Verdict {
  /** Opened and served every acknowledged write as acknowledged. */
  servedAll: boolean;
  refused: boolean;
  /** The refusal named a file and a byte offset. */
  refusalNamed: boolean;
  repaired: boolean;
  /** Objects repair reported as possibly without their latest version. */
  reported: number;
  /** Revisions repair could not name an object for. */
  unnamed: number;
  /** Objects served differently from what was acknowledged, and not reported: must stay 0. */
  silentLosses: number;
  /** Reported objects that were in fact served as acknowledged. */
  overReported: number;
}

/** Reopens the directory and judges it against what was acknowledged; repairs when refused. */
export async function judge(dataDir: string, acked: Model, now: Date): Promise<Verdict> {
  const verdict: Verdict = {
    servedAll: false,
    refused: false,
    refusalNamed: false,
    repaired: false,
    reported: 0,
    unnamed: 0,
    silentLosses: 0,
    overReported: 0,
  };
  try {
    const lost = differing(acked, await served(dataDir));
    verdict.silentLosses = lost.size;
    verdict.servedAll = lost.size === 0;
    return verdict;
  } catch (err) {
    if (!(err instanceof StoreDamagedError)) throw err;
    verdict.refused = true;
    const first = err.damage[0]!;
    verdict.refusalNamed =
      err.message.includes(`${first.file} at byte ${first.offset}`) &&
      err.message.includes(`last good resourceVersion ${first.lastGoodRevision}`) &&
      err.message.includes(`${first.validRecordsAfter} valid record(s) follow`);
  }
  const report = await repairDataDir(dataDir, now);
  verdict.repaired = true;
  verdict.unnamed = report.unnamedRevisions.length + (report.unknownAfterRevision !== undefined ? 1 : 0);
  const reported = new Set(report.lostObjects);
  verdict.reported = reported.size;
  const lost = differing(acked, await served(dataDir));
  verdict.silentLosses = [...lost].filter((ref) => !reported.has(ref)).length;
  verdict.overReported = [...reported].filter((ref) => !lost.has(ref)).length;
  return verdict;
}

/** A file layer whose snapshot writes fail: compaction keeps failing, so segments pile up. */
export function snapshotsFail(base: StoreFs): StoreFs {
  return {
    open: (path, flags, mode) =>
      path.endsWith('.snap.tmp')
        ? Promise.reject(
            Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: 'ENOSPC' }),
          )
        : base.open(path, flags, mode),
  };
}
