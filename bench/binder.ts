// Binder benchmarks. Run: node --import tsx bench/binder.ts [--quick]
// 1. One match among 1k / 10k / 100k volumes: berth's volume index against a plain linear scan
//    that applies the same rules (the baseline, below), in the same run; the ratio is printed.
// 2. 10k volumes + 10k claims created at once in an embedded store with the controller running:
//    time until every claim is Bound, and store writes per bind.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { kindFor } from '../src/api/kinds.js';
import type { AccessMode, PersistentVolume, PersistentVolumeClaim } from '../src/api/types.js';
import { PvController } from '../src/pv-controller/controller.js';
import { VolumeIndex } from '../src/pv-controller/volume-index.js';
import type { MatchOptions } from '../src/volume/match.js';
import {
  accessModesKey,
  canonicalAccessModes,
  capacityBytes,
  claimClass,
  compareBySize,
  isCandidateVolume,
  requestedBytes,
  selectorMatches,
  volumeClass,
  volumeModeOf,
} from '../src/volume/match.js';
import { openEmbeddedStore } from '../src/store/embedded.js';
import { benchClaim, benchVolume } from './helpers/objects.js';

const quick = process.argv.includes('--quick');

/** Deterministic pseudo-random numbers (mulberry32), so every run measures the same cluster. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODE_SETS: AccessMode[][] = [
  ['ReadWriteOnce'],
  ['ReadWriteOnce'],
  ['ReadWriteOnce', 'ReadOnlyMany'],
  ['ReadWriteMany'],
  ['ReadWriteOnce', 'ReadWriteMany'],
];
const CLASSES = ['', 'gold', 'silver', 'local'];

function makeVolumes(n: number, random: () => number): PersistentVolume[] {
  const out: PersistentVolume[] = [];
  for (let i = 0; i < n; i++) {
    const mib = 1 + Math.floor(random() * 1024 * 1024); // 1 MiB .. 1 TiB
    out.push(
      benchVolume(`pv-${i}`, `${mib}Mi`, {
        phase: 'Available',
        className: CLASSES[Math.floor(random() * CLASSES.length)] ?? '',
        accessModes: MODE_SETS[Math.floor(random() * MODE_SETS.length)] ?? ['ReadWriteOnce'],
        labels: { rack: `r${Math.floor(random() * 8)}` },
      }),
    );
  }
  return out;
}

function makeClaims(n: number, random: () => number): PersistentVolumeClaim[] {
  const out: PersistentVolumeClaim[] = [];
  for (let i = 0; i < n; i++) {
    const mib = 1 + Math.floor(random() * 1024 * 1024);
    out.push(
      benchClaim(`claim-${i}`, `${mib}Mi`, {
        className: CLASSES[Math.floor(random() * CLASSES.length)] ?? '',
        accessModes: random() < 0.8 ? ['ReadWriteOnce'] : ['ReadWriteMany'],
        ...(random() < 0.1 ? { selector: { matchLabels: { rack: `r${Math.floor(random() * 8)}` } } } : {}),
      }),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Baseline: Kubernetes' FindMatchingVolume as a straight loop over every volume (with capacities
// parsed once up front, as Go's Quantity already is), grouped by access-mode set like its index.

interface Flat {
  volume: PersistentVolume;
  name: string;
  bytes: bigint;
  className: string;
  mode: string;
  modes: Set<AccessMode>;
  modeCount: number;
  modesKey: string;
  candidate: boolean;
}

function flatten(volumes: PersistentVolume[]): Flat[] {
  return volumes.map((volume) => {
    const modes = canonicalAccessModes(volume.spec.accessModes);
    return {
      volume,
      name: volume.metadata.name ?? '',
      bytes: capacityBytes(volume),
      className: volumeClass(volume),
      mode: volumeModeOf(volume.spec),
      modes: new Set(modes),
      modeCount: modes.length,
      modesKey: accessModesKey(modes),
      candidate: isCandidateVolume(volume),
    };
  });
}

function linearMatch(
  volumes: Flat[],
  claim: PersistentVolumeClaim,
  options: MatchOptions,
): PersistentVolume | undefined {
  const requested = requestedBytes(claim);
  const wanted = canonicalAccessModes(claim.spec.accessModes);
  const className = claimClass(claim);
  const mode = volumeModeOf(claim.spec);
  let best: Flat | undefined;
  for (const v of volumes) {
    if (!v.candidate || v.bytes < requested || v.mode !== mode) continue;
    if (options.delayBinding && !options.node) continue;
    if (claim.spec.selector && !selectorMatches(claim.spec.selector, v.volume.metadata.labels)) continue;
    if (v.className !== className) continue;
    if (!wanted.every((m) => v.modes.has(m))) continue;
    if (
      !best ||
      v.modeCount < best.modeCount ||
      (v.modeCount === best.modeCount &&
        (v.modesKey < best.modesKey || (v.modesKey === best.modesKey && compareBySize(v, best) < 0)))
    ) {
      best = v;
    }
  }
  return best?.volume;
}

function timeLoop(fn: () => void, minMs: number): { perOpUs: number; ops: number } {
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    ops++;
    elapsed = performance.now() - start;
  }
  return { perOpUs: (elapsed * 1000) / ops, ops };
}

function benchMatch(): void {
  console.log('one match: volume index vs linear scan (same rules, same run)');
  const options: MatchOptions = { delayBinding: false };
  const random = rng(42);
  const claims = makeClaims(500, random);
  for (const n of quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]) {
    const volumes = makeVolumes(n, rng(n));
    const flat = flatten(volumes);
    const index = new VolumeIndex();
    const buildStart = performance.now();
    for (const v of volumes) index.upsert(v);
    const buildMs = performance.now() - buildStart;
    // Same answers first: a faster wrong answer is worth nothing.
    for (const c of claims) {
      assert.equal(
        index.findBestMatch(c, options)?.metadata.name,
        linearMatch(flat, c, options)?.metadata.name,
      );
    }
    let i = 0;
    const indexed = timeLoop(() => {
      index.findBestMatch(claims[i++ % claims.length] as PersistentVolumeClaim, options);
    }, 300);
    let j = 0;
    const linear = timeLoop(() => {
      linearMatch(flat, claims[j++ % claims.length] as PersistentVolumeClaim, options);
    }, 300);
    console.log(
      `  ${String(n).padStart(7)} volumes: index ${indexed.perOpUs.toFixed(2)} µs/match, linear ${linear.perOpUs.toFixed(1)} µs/match, ` +
        `ratio ${(linear.perOpUs / indexed.perOpUs).toFixed(0)}x (index built in ${buildMs.toFixed(0)} ms)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * `volumesFirst`: the volumes are created and settled (Available) before the claims arrive, so
 * only bind writes are counted. Otherwise both kinds arrive interleaved in one burst, and claims
 * synced before any volume is Available also get the Kubernetes FailedBinding event.
 */
async function benchBindAll(volumesFirst: boolean): Promise<void> {
  const n = quick ? 2_000 : 10_000;
  // berth up runs the PV controller with 32 workers per queue; measure that configuration
  const workers = Number(process.env['BERTH_BENCH_WORKERS'] ?? 32);
  console.log(
    `bind all: ${n} volumes + ${n} claims, ${volumesFirst ? 'volumes first, then all claims at once' : 'all created at once (interleaved)'}, ` +
      `embedded store, ${workers} worker(s) per queue`,
  );
  const pvKind = kindFor('v1', 'PersistentVolume');
  const pvcKind = kindFor('v1', 'PersistentVolumeClaim');
  const eventKind = kindFor('v1', 'Event');
  if (!pvKind || !pvcKind || !eventKind) throw new Error('kinds not registered');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-binder-'));
  const store = await openEmbeddedStore({ dataDir: dir });
  const controller = new PvController({ store, workers, resyncMs: 0 });
  // Volumes of 1..100 Gi and claims of 1 Gi: every claim fits whatever volume is left, so the
  // greedy smallest-fit order cannot strand a claim (with exact sizes it can, in Kubernetes too).
  const volume = (i: number) => benchVolume(`pv-${i}`, `${(i % 100) + 1}Gi`);
  const claim = (i: number) => benchClaim(`claim-${i}`, '1Gi');
  try {
    await controller.start();
    const creates: Promise<unknown>[] = [];
    if (volumesFirst) {
      for (let i = 0; i < n; i++) creates.push(store.create(pvKind, volume(i)));
      await Promise.all(creates.splice(0));
      while (controller.cache.index.candidateCount() < n) await new Promise((r) => setTimeout(r, 20));
      await controller.whenIdle();
    }
    const startRevision = store.stats().revision;
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      if (!volumesFirst) creates.push(store.create(pvKind, volume(i)));
      creates.push(store.create(pvcKind, claim(i)));
    }
    await Promise.all(creates);
    const createdMs = performance.now() - start;
    const created = volumesFirst ? n : 2 * n;
    let bound = 0;
    for (;;) {
      bound = 0;
      for (const c of controller.cache.allClaims()) if (c.status?.phase === 'Bound') bound++;
      if (bound === n || performance.now() - start > 120_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const allBoundMs = performance.now() - start;
    await controller.whenIdle();
    const claims = (await store.list<PersistentVolumeClaim>(pvcKind)).items;
    const storeBound = claims.filter((c) => c.status?.phase === 'Bound').length;
    const events = (await store.list(eventKind)).items.length;
    const writes = store.stats().revision - startRevision - created;
    const availableWrites = volumesFirst ? 0 : n;
    console.log(
      `  creates done after ${createdMs.toFixed(0)} ms; ${storeBound}/${n} Bound after ${allBoundMs.toFixed(0)} ms`,
    );
    console.log(
      `  controller writes: ${writes} = ${(writes / storeBound).toFixed(2)} per bind` +
        (volumesFirst
          ? ''
          : ` (incl. ${events} events and ${availableWrites} Pending->Available volume writes; bind writes alone ${((writes - events - availableWrites) / storeBound).toFixed(2)} per bind)`),
    );
  } finally {
    await controller.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

benchMatch();
await benchBindAll(false);
await benchBindAll(true);
