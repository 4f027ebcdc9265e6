// The whole system at scale: `berth up` as users run it (every component, one node agent, the
// built-in drivers) in a child process; for each size N, N static PVs and N claims that fit them
// created through the API by 32 concurrent HTTPS clients, then:
//  - time until every claim is Bound, after the last claim was created (beside the create phase);
//  - idle: the process's CPU as a share of one core, and store writes/minute, over --idle seconds;
//  - RSS with 2N objects;
//  - a full PV list with limit=500 paging;
//  - restart: SIGTERM, start again, time until the API answers, beside the first start (empty data
//    directory) of the same run. berth runs from sources through tsx here (compiling at start),
//    so both starts include that compilation.
// Each size runs in a fresh data directory; the summary prints each figure against the smallest
// size (the growth curve).
// With --profile DIR, berth runs with --cpu-prof and writes one .cpuprofile per start into DIR
// (summarise with bench/profile-summary.ts).
//   node --import tsx bench/scale-embedded.ts [--sizes 500,1000] [--idle 30] [--clients 32] [--profile DIR]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { listFlag, machineLine, numberFlag, stringFlag } from './helpers/flags.js';
import { cpuSeconds, rssMiB, threadCpuSeconds } from './helpers/process-stats.js';
import {
  type Api,
  connectApi,
  createObject,
  currentRevision,
  inParallel,
  listAll,
  readCredentials,
} from './helpers/https-api.js';

async function connect(dataDir: string, url: string): Promise<Api> {
  return connectApi(await readCredentials(path.join(dataDir, 'kubeconfig')), url, CLIENTS);
}

const SIZES = listFlag('sizes', [500, 1000]);
const IDLE_SECONDS = numberFlag('idle', 30);
const CLIENTS = numberFlag('clients', 32);
const PROFILE_DIR = stringFlag('profile');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Berth {
  child: ChildProcess;
  url: string;
}

async function startBerth(dataDir: string): Promise<Berth> {
  const child = spawn(
    process.execPath,
    [
      ...(PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []),
      '--import',
      'tsx',
      path.join(ROOT, 'src/cli/main.ts'),
      'up',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--node',
      'bench-node',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /berth API listening on (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`berth up exited with ${code}: ${out}`)));
  });
  return { child, url };
}

async function stopBerth(berth: Berth): Promise<void> {
  const exited = new Promise((resolve) => berth.child.once('exit', resolve));
  berth.child.kill('SIGTERM');
  await exited;
}

function pv(i: number): unknown {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `pv-${i}` },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'bench-static',
      persistentVolumeReclaimPolicy: 'Retain',
      hostPath: { path: `/tmp/berth-bench-scale/pv-${i}` },
    },
  };
}

function pvc(i: number): unknown {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `claim-${i}`, namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'bench-static',
    },
  };
}

async function untilAnswers(api: Api): Promise<void> {
  for (;;) {
    const res = await api.call('GET', '/api/v1/persistentvolumes?limit=1').catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Figures {
  size: number;
  createSeconds: number;
  boundSeconds: number;
  idleCpuPercent: number;
  idleWritesPerMinute: number;
  rssMiB: number;
  listSeconds: number;
  /** The first start of the empty data directory, until the API answered: the restart's baseline. */
  firstStartSeconds: number;
  restartSeconds: number;
}

async function runSize(size: number): Promise<Figures> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-scale-'));
  const firstStart = performance.now();
  let berth = await startBerth(dataDir);
  try {
    let api = await connect(dataDir, berth.url);
    await untilAnswers(api);
    const firstStartSeconds = (performance.now() - firstStart) / 1000;
    const started = performance.now();
    await inParallel(size, CLIENTS, (i) => createObject(api, '/api/v1/persistentvolumes', pv(i)));
    await inParallel(size, CLIENTS, (i) =>
      createObject(api, '/api/v1/namespaces/default/persistentvolumeclaims', pvc(i)),
    );
    const created = performance.now();
    for (;;) {
      const { items } = await listAll(api, '/api/v1/namespaces/default/persistentvolumeclaims');
      if (items.filter((c) => c.status?.phase === 'Bound').length === size) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const bound = performance.now();

    // Idle: let what the binds started settle, then watch the process do nothing.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const pid = berth.child.pid!;
    const cpuBefore = cpuSeconds(pid);
    const threadsBefore = threadCpuSeconds(pid);
    const revisionBefore = await currentRevision(api);
    const idleStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const idleSeconds = (performance.now() - idleStart) / 1000;
    const idleCpuPercent = ((cpuSeconds(pid) - cpuBefore) / idleSeconds) * 100;
    // which threads spent it (the main thread's name is the command's; V8 and libuv helpers have their own)
    const byThread = [...threadCpuSeconds(pid)]
      .map(
        ([name, seconds]) =>
          [name, ((seconds - (threadsBefore.get(name) ?? 0)) / idleSeconds) * 100] as const,
      )
      .filter(([, percent]) => percent >= 0.1)
      .sort((a, b) => b[1] - a[1])
      .map(([name, percent]) => `${name} ${percent.toFixed(1)}%`);
    console.log(`  idle CPU by thread at ${size} pairs: ${byThread.join(', ') || 'none'}`);
    const idleWrites = (await currentRevision(api)) - revisionBefore;
    const rss = rssMiB(pid);

    const listStart = performance.now();
    const { items } = await listAll(api, '/api/v1/persistentvolumes');
    const listSeconds = (performance.now() - listStart) / 1000;
    if (items.length !== size) throw new Error(`listed ${items.length} PVs of ${size}`);

    api.close();
    await stopBerth(berth);
    const restartStart = performance.now();
    berth = await startBerth(dataDir);
    api = await connect(dataDir, berth.url);
    await untilAnswers(api);
    const restartSeconds = (performance.now() - restartStart) / 1000;
    api.close();
    return {
      size,
      createSeconds: (created - started) / 1000,
      boundSeconds: (bound - created) / 1000,
      idleCpuPercent,
      idleWritesPerMinute: (idleWrites / idleSeconds) * 60,
      rssMiB: rss,
      listSeconds,
      firstStartSeconds,
      restartSeconds,
    };
  } finally {
    await stopBerth(berth).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  }
}

console.log(machineLine());
console.log(
  `scale-embedded: berth up (every component) in a child process; sizes ${SIZES.join(', ')} pairs; ` +
    `${CLIENTS} clients; idle window ${IDLE_SECONDS} s`,
);
const results: Figures[] = [];
for (const size of SIZES) {
  const f = await runSize(size);
  results.push(f);
  console.log(
    `${String(size).padStart(6)} pairs: created in ${f.createSeconds.toFixed(1)} s (${((2 * size) / f.createSeconds).toFixed(0)} objects/s);` +
      ` all Bound ${f.boundSeconds.toFixed(1)} s after the last claim (goal at 50k: < 60 s);` +
      ` idle CPU ${f.idleCpuPercent.toFixed(1)}% of a core (goal < 2%), ${f.idleWritesPerMinute.toFixed(1)} store writes/min (goal <= 6);` +
      ` RSS ${f.rssMiB.toFixed(0)} MiB (${((f.rssMiB * 1024) / (2 * size)).toFixed(1)} KiB per object; goal <= 600 MiB at 100k objects);` +
      ` PV list, limit=500 pages, ${(f.listSeconds * 1000).toFixed(0)} ms (goal < 1 s); restart until the API answers ${f.restartSeconds.toFixed(2)} s` +
      ` (${(f.restartSeconds / f.firstStartSeconds).toFixed(2)}x the first start's ${f.firstStartSeconds.toFixed(2)} s; goal < 3 s)`,
  );
}
const [base] = results;
if (base && results.length > 1) {
  for (const f of results.slice(1)) {
    const r = (a: number, b: number) => `${(a / Math.max(b, 1e-9)).toFixed(2)}x`;
    console.log(
      `growth ${base.size} -> ${f.size} pairs (${r(f.size, base.size)} the objects): time to Bound ${r(f.boundSeconds, base.boundSeconds)},` +
        ` RSS ${r(f.rssMiB, base.rssMiB)}, idle CPU ${r(f.idleCpuPercent, base.idleCpuPercent)}, PV list ${r(f.listSeconds, base.listSeconds)},` +
        ` restart ${r(f.restartSeconds, base.restartSeconds)}`,
    );
  }
}
