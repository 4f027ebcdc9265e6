// Runs the fault classes for a number of seeds and tallies the figures issue-style: faults
// tried per class, silent losses, refused starts, repaired starts, the most objects repair had
// to report. Shared by the fault test (few seeds) and bench/store-faults.ts (many).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyFault,
  FILE_FAULTS,
  judge,
  rngFor,
  runWorkload,
  snapshotsFail,
  type FileFault,
  type Model,
} from './store-faults.js';
import { eioRun, enospcRun, KILL_POINTS, killRun, smallFilesystem } from './store-faults-live.js';
import { nodeStoreFs } from '../../src/store/store-fs.js';

export interface Tally {
  fault: string;
  tried: number;
  servedAll: number;
  refused: number;
  /** Refusals that named file, byte offset, last good version and the records after. */
  refusedNamed: number;
  repaired: number;
  silentLosses: number;
  overReported: number;
  maxReported: number;
  unnamed: number;
  /** Objects lost in runs where repair reported lost revisions it could not name. */
  unnamedLosses: number;
  /** ENOSPC / EIO: writes answered 5xx, runs consistent while failing, runs where writes resumed. */
  serverErrors: number;
  consistent: number;
  resumed: number;
  /** SIGKILL: refused starts after a crash (false alarms) and kills that hit their trigger. */
  triggered: number;
  notes: string[];
}

function tally(fault: string): Tally {
  return {
    fault,
    tried: 0,
    servedAll: 0,
    refused: 0,
    refusedNamed: 0,
    repaired: 0,
    silentLosses: 0,
    overReported: 0,
    maxReported: 0,
    unnamed: 0,
    unnamedLosses: 0,
    serverErrors: 0,
    consistent: 0,
    resumed: 0,
    triggered: 0,
    notes: [],
  };
}

export interface RunOptions {
  seeds: number;
  killSeeds: number;
  writeFaultSeeds: number;
  /** ENOSPC needs root and loop devices; 0 skips it. */
  enospcSeeds: number;
  firstSeed?: number;
  onProgress?: (line: string) => void;
}

export async function runFaultClasses(options: RunOptions): Promise<Tally[]> {
  const root = mkdtempSync(join(tmpdir(), 'berth-faults-'));
  const first = options.firstSeed ?? 1;
  const tallies: Tally[] = [];
  try {
    const files = new Map<FileFault, Tally>(FILE_FAULTS.map((f) => [f, tally(f)]));
    // the same damage after a crash (no clean-shutdown marker): repair names objects from the
    // hints in later records and the snapshot's index. Not truncation: a log cut short after a
    // crash is indistinguishable from a torn write.
    const crashFaults = FILE_FAULTS.filter((f) => f !== 'truncate');
    const afterCrash = new Map<FileFault, Tally>(crashFaults.map((f) => [f, tally(`${f} after crash`)]));
    for (let seed = first; seed < first + options.seeds; seed++) {
      const rng = rngFor(seed * 7919);
      const base = join(root, `base-${seed}`);
      const compactEvery = [60, 150, 100_000][Math.floor(rng() * 3)]!;
      const model = await runWorkload(base, seed, { ops: 200 + Math.floor(rng() * 400), compactEvery });
      const segmented = join(root, `segmented-${seed}`);
      const segModel = await runWorkload(segmented, seed, {
        ops: 300,
        compactEvery: 40,
        fs: snapshotsFail(nodeStoreFs),
      });
      for (const fault of FILE_FAULTS) {
        const from = fault === 'delete-segment' ? { dir: segmented, model: segModel } : { dir: base, model };
        const run = join(root, 'run');
        await fileFaultRun(files.get(fault)!, fault, from, seed, run, false);
        const crashed = afterCrash.get(fault);
        if (crashed) await fileFaultRun(crashed, fault, from, seed, run, true);
      }
      rmSync(base, { recursive: true, force: true });
      rmSync(segmented, { recursive: true, force: true });
      options.onProgress?.(`file faults: seed ${seed} done`);
    }
    tallies.push(...files.values(), ...afterCrash.values());

    for (const point of KILL_POINTS) {
      const t = tally(`SIGKILL ${point}`);
      for (let seed = first; seed < first + options.killSeeds; seed++) {
        const dir = join(root, `kill-${point}-${seed}`);
        const v = await killRun(dir, seed, point);
        t.tried++;
        if (v.triggered) t.triggered++;
        if (v.refused) t.refused++;
        else if (v.silentLosses === 0) t.servedAll++;
        t.silentLosses += v.silentLosses;
        rmSync(dir, { recursive: true, force: true });
      }
      tallies.push(t);
      options.onProgress?.(`SIGKILL ${point} done`);
    }

    const eio = tally('EIO on write/fsync');
    for (let seed = first; seed < first + options.writeFaultSeeds; seed++) {
      const dir = join(root, `eio-${seed}`);
      countWriteFault(eio, await eioRun(dir, seed));
      rmSync(dir, { recursive: true, force: true });
    }
    tallies.push(eio);

    if (options.enospcSeeds > 0) {
      const enospc = tally('ENOSPC (full loop fs)');
      const fs = smallFilesystem(24);
      try {
        for (let seed = first; seed < first + options.enospcSeeds; seed++)
          countWriteFault(enospc, await enospcRun(fs.dir, seed));
      } finally {
        fs.close();
      }
      tallies.push(enospc);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return tallies;
}

async function fileFaultRun(
  t: Tally,
  fault: FileFault,
  from: { dir: string; model: Model },
  seed: number,
  dir: string,
  crashed: boolean,
): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  cpSync(from.dir, dir, { recursive: true });
  if (crashed) rmSync(join(dir, 'clean-shutdown'));
  const what = applyFault(dir, fault, rngFor(seed * 31 + fault.length));
  if (what === undefined) return;
  t.tried++;
  const v = await judge(dir, from.model, new Date());
  if (v.servedAll) t.servedAll++;
  if (v.refused) t.refused++;
  if (v.refusalNamed) t.refusedNamed++;
  if (v.repaired) t.repaired++;
  // repair said revisions were lost without being able to name their objects: not silent,
  // but not exact either; counted apart
  if (v.unnamed > 0) t.unnamedLosses += v.silentLosses;
  else t.silentLosses += v.silentLosses;
  t.overReported += v.overReported;
  t.unnamed += v.unnamed;
  t.maxReported = Math.max(t.maxReported, v.reported);
  if (v.silentLosses > 0 || v.overReported > 0) t.notes.push(`seed ${seed}: ${what}: ${JSON.stringify(v)}`);
  rmSync(dir, { recursive: true, force: true });
}

function countWriteFault(t: Tally, v: Awaited<ReturnType<typeof eioRun>>): void {
  t.tried++;
  t.serverErrors += v.serverErrors;
  if (v.consistent) t.consistent++;
  if (v.resumed) t.resumed++;
  if (v.silentLosses === 0) t.servedAll++;
  t.silentLosses += v.silentLosses;
}

export function formatTallies(tallies: readonly Tally[]): string {
  const header =
    'fault class                     tried  served-all  refused  (named)  repaired  silent-losses  over-reported  max-reported  lost-unnamed  5xx  consistent  resumed';
  const rows = tallies.map((t) =>
    [
      t.fault.padEnd(30),
      String(t.tried).padStart(6),
      String(t.servedAll).padStart(11),
      String(t.refused).padStart(8),
      String(t.refusedNamed).padStart(8),
      String(t.repaired).padStart(9),
      String(t.silentLosses).padStart(14),
      String(t.overReported).padStart(14),
      String(t.maxReported).padStart(13),
      String(t.unnamedLosses).padStart(13),
      String(t.serverErrors).padStart(4),
      String(t.consistent).padStart(11),
      String(t.resumed).padStart(8),
    ].join(' '),
  );
  return [header, ...rows].join('\n');
}
