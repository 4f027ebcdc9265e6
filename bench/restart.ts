// Restart of `berth up` holding N bound PV/PVC pairs: the time from spawning berth until its API
// answers (it prints its URL once every controller's cache is synced), by phase, and berth's CPU
// seconds until then; a restart after berth's own clean stop (SIGTERM), as users restart it.
// The data directory is written once through the embedded store (N bound pairs as the API server
// and PV controller leave them, written in the order they are: volumes, claims, then the binds
// (each side's spec, then its status through the status subresource, as the controller does),
// so the log holds what compaction left of that history), or taken from --data-dir (e.g. one kept
// by bench/scale-embedded.ts --keep-data); each run starts from a fresh copy of it. With
// --baseline, the baseline's store writes it, so that both versions can open it. With
// --keep-data DIR, the data directory written is DIR and kept (reuse it with --data-dir DIR).
// With --baseline ROOT (another checkout, built), runs alternate between that checkout's berth and
// this one's, back to back, and the summary prints this one's figures as a ratio of the baseline's.
//   node --import tsx bench/restart.ts [--pairs 10000] [--data-dir DIR] [--runs 3] [--baseline ROOT]
//     [--from-dist] [--profile DIR] [--keep-data DIR] [--runs 0]
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { kinds } from '../src/api/kinds.js';
import type * as EmbeddedModule from '../src/store/embedded.js';
import { startBerth, stopBerth, untilAnswers, type Berth } from './helpers/berth-process.js';
import { booleanFlag, machineLine, numberFlag, stringFlag } from './helpers/flags.js';
import { scaleRunClaim, scaleRunVolume } from './helpers/objects.js';
import { connectApi, readCredentials } from './helpers/https-api.js';
import { cpuSeconds } from './helpers/process-stats.js';

const PAIRS = numberFlag('pairs', 10_000);
const RUNS = numberFlag('runs', 3);
const GIVEN_DIR = stringFlag('data-dir');
const BASELINE = stringFlag('baseline');
const FROM_DIST = booleanFlag('from-dist');
const PROFILE_DIR = stringFlag('profile');
const KEEP_DIR = stringFlag('keep-data');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const volumes = kinds.find((k) => k.kind === 'PersistentVolume')!;
const claims = kinds.find((k) => k.kind === 'PersistentVolumeClaim')!;

/**
 * N pairs written and bound through the embedded store of checkout `root`, `inFlight` writes at a
 * time. With a baseline, its store writes them: an older version refuses a newer snapshot format,
 * and each version's first start and clean stop leave the directory in its own format anyway.
 */
async function writeDataDir(dir: string, pairs: number, root: string): Promise<void> {
  const module = pathToFileURL(path.join(root, 'src/store/embedded.ts')).href;
  const { openEmbeddedStore } = (await import(module)) as typeof EmbeddedModule;
  const store = await openEmbeddedStore({ dataDir: dir });
  const inFlight = 256;
  const each = async (write: (i: number) => Promise<unknown>) => {
    for (let start = 0; start < pairs; start += inFlight)
      await Promise.all(
        Array.from({ length: Math.min(inFlight, pairs - start) }, (_, j) => write(start + j)),
      );
  };
  // as created through the API (defaults, finalizer and managedFields filled in)
  const created = { manager: '', time: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  await each((i) => store.create(volumes, scaleRunVolume(i, created)));
  await each((i) => store.create(claims, scaleRunClaim(i, created)));
  await each(async (i) => {
    const pvc = await store.get(claims, 'default', `claim-${i}`);
    const pv = await store.get(volumes, undefined, `pv-${i}`);
    const bound = { 'pv.kubernetes.io/bound-by-controller': 'yes' };
    const boundPv = await store.update(volumes, {
      ...pv,
      metadata: { ...pv.metadata, annotations: bound },
      spec: {
        ...(pv['spec'] as object),
        claimRef: {
          kind: 'PersistentVolumeClaim',
          apiVersion: 'v1',
          namespace: 'default',
          name: pvc.metadata.name,
          uid: pvc.metadata.uid,
        },
      },
    });
    const status = { subresource: 'status' } as const;
    await store.update(
      volumes,
      { ...boundPv, status: { phase: 'Bound', lastPhaseTransitionTime: new Date().toISOString() } },
      status,
    );
    const boundPvc = await store.update(claims, {
      ...pvc,
      metadata: {
        ...pvc.metadata,
        annotations: { ...bound, 'pv.kubernetes.io/bind-completed': 'yes' },
      },
      spec: { ...(pvc['spec'] as object), volumeName: pv.metadata.name },
    });
    await store.update(
      claims,
      {
        ...boundPvc,
        status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } },
      },
      status,
    );
  });
  await store.close();
}

interface Restart {
  /** Seconds from spawning to the store's log line, what opening took, to listening, to answering. */
  toStoreOpen: number;
  storeOpen: number;
  toListening: number;
  total: number;
  /** berth's CPU seconds from its spawn until its API answered. */
  cpu: number;
  /** Seconds the clean stop before this start took (SIGTERM until the process ended). */
  stop: number;
}

async function answered(root: string, dataDir: string): Promise<{ berth: Berth; answeredAt: number }> {
  const berth = await startBerth({
    root,
    dataDir,
    fromDist: FROM_DIST,
    nodeFlags: PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [],
  });
  const api = connectApi(await readCredentials(path.join(dataDir, 'kubeconfig')), berth.url, 1);
  await untilAnswers(api);
  api.close();
  return { berth, answeredAt: performance.now() };
}

/** Starts berth on a copy of `source`, stops it, and measures the start after that stop. */
async function restartOnce(root: string, source: string): Promise<Restart> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-restart-'));
  try {
    await cp(source, dataDir, { recursive: true });
    const first = await answered(root, dataDir);
    const stopStart = performance.now();
    await stopBerth(first.berth);
    const stop = (performance.now() - stopStart) / 1000;
    const { berth, answeredAt } = await answered(root, dataDir);
    const cpu = cpuSeconds(berth.child.pid!);
    await stopBerth(berth);
    const s = (from: number, to: number | undefined) => ((to ?? NaN) - from) / 1000;
    return {
      toStoreOpen: s(berth.spawnedAt, berth.storeOpenedAt),
      storeOpen: (berth.storeOpenMs ?? NaN) / 1000,
      toListening: s(berth.spawnedAt, berth.listeningAt),
      total: s(berth.spawnedAt, answeredAt),
      cpu,
      stop,
    };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function line(label: string, runs: Restart[]): string {
  const m = (pick: (r: Restart) => number) => median(runs.map(pick)).toFixed(2);
  return (
    `${label}: restart until the API answers ${m((r) => r.total)} s (runs ${runs.map((r) => r.total.toFixed(2)).join(', ')}):` +
    ` ${m((r) => r.toStoreOpen)} s to the store open (opening ${m((r) => r.storeOpen)} s),` +
    ` ${m((r) => r.toListening)} s to listening with synced controllers; berth's CPU ${m((r) => r.cpu)} s;` +
    ` the clean stop before it ${m((r) => r.stop)} s`
  );
}

console.log(machineLine());
let source = GIVEN_DIR;
let written: string | undefined;
if (!source) {
  source = KEEP_DIR ?? (await mkdtemp(path.join(os.tmpdir(), 'berth-bench-restart-source-')));
  if (!KEEP_DIR) written = source;
  const started = performance.now();
  await writeDataDir(source, PAIRS, BASELINE ? path.resolve(BASELINE) : ROOT);
  const by = BASELINE ? " with the baseline's store" : '';
  console.log(`wrote ${PAIRS} bound pairs${by} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
try {
  const roots = BASELINE ? [path.resolve(BASELINE), ROOT] : [ROOT];
  const results = new Map<string, Restart[]>(roots.map((root) => [root, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const root of roots) {
      const result = await restartOnce(root, source);
      results.get(root)!.push(result);
      console.log(
        `  run ${run + 1} ${root === ROOT ? 'this checkout' : 'baseline'}: ${result.total.toFixed(2)} s, CPU ${result.cpu.toFixed(2)} s`,
      );
    }
  }
  const what = GIVEN_DIR ? `the data directory ${GIVEN_DIR}` : `${PAIRS} bound pairs`;
  console.log(
    `restart of berth up (${FROM_DIST ? 'built' : 'from sources'}) holding ${what}, ${RUNS} runs each, median:`,
  );
  const mine = results.get(ROOT)!;
  if (BASELINE) {
    const base = results.get(path.resolve(BASELINE))!;
    console.log(line('  baseline', base));
    console.log(line('  this checkout', mine));
    const r = (pick: (x: Restart) => number) => (median(mine.map(pick)) / median(base.map(pick))).toFixed(2);
    console.log(
      `restart ${r((x) => x.total)}x the baseline's wall time, ${r((x) => x.cpu)}x its CPU; opening the store ${r((x) => x.storeOpen)}x;` +
        ` clean stop ${r((x) => x.stop)}x (goal at 50k pairs: restart < 3 s)`,
    );
  } else console.log(line('  this checkout', mine));
} finally {
  if (written) await rm(written, { recursive: true, force: true });
}
