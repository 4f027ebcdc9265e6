// Store fault injection: for many seeds, a random workload through the real embedded store,
// then one fault per run (byte flip, truncation, zeroed page, duplicated or swapped page,
// deleted middle segment, SIGKILL at random / mid-snapshot / mid-compaction, EIO on write or
// fsync, ENOSPC on a small loop-mounted filesystem), and the verdict of reopening it.
// Run: node --import tsx bench/store-faults.ts   (SEEDS, KILL_SEEDS, WRITE_FAULT_SEEDS, ENOSPC_SEEDS)
import { execFileSync } from 'node:child_process';
import { formatTallies, runFaultClasses } from './helpers/store-faults-run.js';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

function canLoopMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('losetup', ['--version']);
    execFileSync('mkfs.ext4', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const started = Date.now();
const enospcSeeds = canLoopMount() ? env('ENOSPC_SEEDS', 10) : 0;
if (enospcSeeds === 0) console.log('ENOSPC class skipped: needs root, losetup and mkfs.ext4');
const tallies = await runFaultClasses({
  seeds: env('SEEDS', 100),
  killSeeds: env('KILL_SEEDS', 15),
  writeFaultSeeds: env('WRITE_FAULT_SEEDS', 30),
  enospcSeeds,
  onProgress: (line) => process.stderr.write(`${line}\n`),
});
console.log(formatTallies(tallies));
const total = (key: 'tried' | 'silentLosses' | 'refused' | 'repaired'): number =>
  tallies.reduce((sum, t) => sum + t[key], 0);
console.log('');
console.log(
  `faults tried: ${total('tried')}; silent losses: ${total('silentLosses')}; refused starts: ${total('refused')};` +
    ` repaired starts: ${total('repaired')}; largest number of objects repair reported: ${Math.max(...tallies.map((t) => t.maxReported))}`,
);
for (const t of tallies) for (const note of t.notes) console.log(`${t.fault}: ${note}`);
console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
