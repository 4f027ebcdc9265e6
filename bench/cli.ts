// CLI start-up benchmark. Run: npm run build && node --import tsx bench/cli.ts [--runs N]
// Times the installed binary (bin/berth.js, compiled JS) for `berth version` and `berth get pvc`
// against a running embedded berth, and kubectl doing the same with the same kubeconfig, in the
// same run; prints medians and the ratio berth/kubectl (goal: <= 3x).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmbeddedBerth } from '../src/cli/embedded.js';
import { silentLogger } from '../src/machinery/logger.js';

const root = path.join(import.meta.dirname, '..');
const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 15;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Wall time of one run in ms. Asynchronous: the API server runs in this process. */
function time(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const start = performance.now();
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(performance.now() - start);
      else reject(new Error(`${command} ${args.join(' ')} failed: ${stderr}`));
    });
  });
}

async function floor(env: NodeJS.ProcessEnv): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await time(process.execPath, ['-e', '0'], env));
  return out;
}

async function main(): Promise<void> {
  const bin = path.join(root, 'bin', 'berth.js');
  if (!existsSync(path.join(root, 'dist', 'berth', 'main.js'))) throw new Error('run `npm run build` first');
  const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-cli-'));
  const berth = await startEmbeddedBerth({ dataDir, port: 0, logger: silentLogger, nodes: [] });
  const env = { ...process.env, KUBECONFIG: berth.kubeconfigPath };
  try {
    const cases: { name: string; berth: string[]; kubectl: string[] }[] = [
      { name: 'version', berth: ['version'], kubectl: ['version'] },
      { name: 'get pvc', berth: ['get', 'pvc'], kubectl: ['get', 'pvc'] },
    ];
    console.log(
      `runs per command: ${runs} (medians); node ${process.version}; load ${os.loadavg()[0]?.toFixed(1)}`,
    );
    console.log(`node -e 0 (the floor for any node CLI): ${median(await floor(env)).toFixed(0)} ms`);
    for (const c of cases) {
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < runs; i++) {
        ours.push(await time(process.execPath, [bin, ...c.berth], env));
        if (kubectl) theirs.push(await time('kubectl', c.kubectl, env));
      }
      const b = median(ours);
      const line = `berth ${c.name}: ${b.toFixed(0)} ms`;
      if (!kubectl) console.log(`${line} (kubectl not installed: no baseline)`);
      else {
        const k = median(theirs);
        console.log(
          `${line}; kubectl ${c.name}: ${k.toFixed(0)} ms; ratio ${(b / k).toFixed(2)}x (goal <= 3x)`,
        );
      }
    }
  } finally {
    await berth.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
