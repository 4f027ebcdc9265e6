// The whole system at scale: `berth up` as users run it (every component, one node agent, the
// built-in drivers) in a child process; for each size N, N static PVs and N claims that fit them
// created through the API by 32 concurrent HTTPS clients, then:
//  - time until every claim is Bound, after the last claim was created (beside the create phase);
//  - idle: the process's CPU as a share of one core, and store writes/minute, over --idle seconds;
//  - RSS with 2N objects;
//  - a full PV list with limit=500 paging (each page parsed whole, checked, counted and dropped),
//    three times, the median counted;
//  - restart: SIGTERM, start again, time until the API answers, beside the first start (empty data
//    directory) of the same run. berth runs from sources through tsx here (compiling at start),
//    so both starts include that compilation.
// Each size runs in a fresh data directory; the summary prints each figure against the smallest
// size (the growth curve).
// With --profile DIR, berth runs with --cpu-prof and writes one .cpuprofile per start into DIR
// (summarise with bench/profile-summary.ts). With --heap-snapshot DIR, berth writes a
// .heapsnapshot into DIR after the idle window, with all 2N objects in it (summarise with
// bench/heap-summary.ts). With --from-dist, berth runs from the build (bin/berth.js, `npm run build`
// first) as an installed berth does, instead of from sources through tsx. With --keep-data DIR, each
// size's data directory is kept as DIR/berth-<size> (bench/store-open.ts times opening it).
// With --berth-log FILE, every line berth prints goes to FILE, each prefixed with the seconds since
// its start, with the bench's own moments (all Bound, the idle window) between them; --trace-gc
// adds V8's line per garbage collection to it. After the idle window, the objects written in it
// are printed, read from the data directory's log.
//   node --import tsx bench/scale-embedded.ts [--sizes 500,1000] [--idle 30] [--clients 32] [--profile DIR]
//     [--heap-snapshot DIR] [--from-dist] [--keep-data DIR] [--berth-log FILE] [--trace-gc]
import { createWriteStream, readdirSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { booleanFlag, listFlag, machineLine, numberFlag, stringFlag } from './helpers/flags.js';
import {
  type Berth,
  type BerthStartOptions,
  startBerth,
  stopBerth,
  untilAnswers,
} from './helpers/berth-process.js';
import { idleWrites } from './helpers/idle-writes.js';
import { cpuSeconds, rssMiB, threadCpuSeconds } from './helpers/process-stats.js';
import {
  type Api,
  connectApi,
  createObject,
  currentRevision,
  inParallel,
  pageThrough,
  readCredentials,
  untilClaimsBound,
} from './helpers/https-api.js';

async function connect(dataDir: string, url: string): Promise<Api> {
  return connectApi(await readCredentials(path.join(dataDir, 'kubeconfig')), url, CLIENTS);
}

const SIZES = listFlag('sizes', [500, 1000]);
const IDLE_SECONDS = numberFlag('idle', 30);
const CLIENTS = numberFlag('clients', 32);
const PROFILE_DIR = stringFlag('profile');
const HEAP_DIR = stringFlag('heap-snapshot');
const FROM_DIST = booleanFlag('from-dist');
const KEEP_DIR = stringFlag('keep-data');
const BERTH_LOG = stringFlag('berth-log');
const TRACE_GC = booleanFlag('trace-gc');
const berthLog = BERTH_LOG ? createWriteStream(BERTH_LOG) : undefined;
const logLine = berthLog ? (line: string) => berthLog.write(`${line}\n`) : undefined;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function berthOptions(dataDir: string): BerthStartOptions {
  return {
    root: ROOT,
    dataDir,
    fromDist: FROM_DIST,
    nodeFlags: [
      ...(PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []),
      ...(HEAP_DIR ? ['--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', HEAP_DIR] : []),
      ...(TRACE_GC ? ['--trace-gc'] : []),
    ],
    log: logLine,
  };
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

/** berth's own memory figures from its /metrics (MiB by metric name, heap spaces by space). */
async function memoryMetrics(dataDir: string, url: string): Promise<Map<string, number>> {
  const { token, ca } = await readCredentials(path.join(dataDir, 'kubeconfig'));
  const text = await new Promise<string>((resolve, reject) => {
    httpsGet(`${url}/metrics`, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let out = '';
      res.on('data', (chunk: Buffer) => (out += chunk.toString()));
      res.on('end', () => resolve(out));
      res.on('error', reject);
    }).on('error', reject);
  });
  const out = new Map<string, number>();
  for (const match of text.matchAll(
    /^(process_resident_memory|nodejs_[a-z_]+)_bytes(?:\{space="(\w+)"\})? (\S+)$/gm,
  ))
    out.set(match[2] ?? match[1]!, Number(match[3]) / 1048576);
  return out;
}

/** Has berth write a heap snapshot (it answers again once the snapshot is written). */
async function heapSnapshot(berth: Berth, api: Api): Promise<void> {
  const before = new Set(readdirSync(HEAP_DIR!));
  berth.child.kill('SIGUSR2');
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const written = readdirSync(HEAP_DIR!).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (written.length === 0) continue;
    await untilAnswers(api);
    console.log(`  heap snapshot: ${path.join(HEAP_DIR!, written[0]!)}`);
    return;
  }
}

/** Puts one of the bench's moments into berth's log, on berth's clock. */
function mark(berth: Berth, text: string): void {
  logLine?.(`${((performance.now() - berth.spawnedAt) / 1000).toFixed(1)} s [bench] ${text}`);
}

interface Figures {
  size: number;
  createSeconds: number;
  boundSeconds: number;
  /** berth's CPU seconds from the first claim's create to all Bound, per claim (the API creates included). */
  cpuMsPerBind: number;
  /** berth's CPU seconds from the last claim's create to all Bound. */
  boundCpuSeconds: number;
  /** The 1-minute load average when all were Bound (other work on the machine). */
  loadAverage: number;
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
  let berth = await startBerth(berthOptions(dataDir));
  try {
    let api = await connect(dataDir, berth.url);
    await untilAnswers(api);
    const firstStartSeconds = (performance.now() - firstStart) / 1000;
    const started = performance.now();
    await inParallel(size, CLIENTS, (i) => createObject(api, '/api/v1/persistentvolumes', pv(i)));
    // one watch follows the claims (polling lists of N claims would load the server it measures)
    const watch = untilClaimsBound(
      await readCredentials(path.join(dataDir, 'kubeconfig')),
      berth.url,
      'default',
      String(await currentRevision(api)),
      size,
    );
    const cpuAtFirstClaim = cpuSeconds(berth.child.pid!);
    await inParallel(size, CLIENTS, (i) =>
      createObject(api, '/api/v1/namespaces/default/persistentvolumeclaims', pvc(i)),
    );
    const created = performance.now();
    const cpuAtLastClaim = cpuSeconds(berth.child.pid!);
    await watch.done;
    const bound = performance.now();
    const cpuAtBound = cpuSeconds(berth.child.pid!);
    mark(berth, `all ${size} claims Bound`);
    const [loadAverage = NaN] = os.loadavg();

    // Idle: let what the binds started settle, then watch the process do nothing.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const pid = berth.child.pid!;
    const cpuBefore = cpuSeconds(pid);
    const threadsBefore = threadCpuSeconds(pid);
    const revisionBefore = await currentRevision(api);
    const rssAtBound = rssMiB(pid);
    const idleStart = performance.now();
    mark(berth, `idle window starts at revision ${revisionBefore}`);
    // each minute's share too: what the binds left to do (the first full resync pass, V8's memory
    // reducer collecting their garbage) shows apart from the steady state
    const byMinute: string[] = [];
    for (let at = 0; at < IDLE_SECONDS; at += 60) {
      const seconds = Math.min(60, IDLE_SECONDS - at);
      const cpuAt = cpuSeconds(pid);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      byMinute.push(`${(((cpuSeconds(pid) - cpuAt) / seconds) * 100).toFixed(1)}%`);
      mark(berth, `idle minute ${byMinute.length}: ${byMinute.at(-1)!} CPU`);
    }
    const idleSeconds = (performance.now() - idleStart) / 1000;
    console.log(`  idle CPU by minute at ${size} pairs: ${byMinute.join(', ')}`);
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
    const revisionAfter = await currentRevision(api);
    const idleWriteCount = revisionAfter - revisionBefore;
    console.log(`  idle writes at ${size} pairs (${idleWriteCount}):`);
    for (const line of await idleWrites(dataDir, revisionBefore, revisionAfter)) console.log(`    ${line}`);
    const rss = rssMiB(pid);
    const memory = await memoryMetrics(dataDir, berth.url);
    const heapSpaces = ['new', 'old', 'code', 'large_object', 'map']
      .map((space) => `${space} ${(memory.get(space) ?? 0).toFixed(0)}`)
      .join(', ');
    console.log(
      `  memory at ${size} pairs: RSS ${rss.toFixed(0)} MiB (${rssAtBound.toFixed(0)} MiB 5 s after all Bound); V8 heap used ${(memory.get('nodejs_heap_size_used') ?? 0).toFixed(0)} MiB` +
        ` of ${(memory.get('nodejs_heap_size_total') ?? 0).toFixed(0)} MiB (by space: ${heapSpaces});` +
        ` external ${(memory.get('nodejs_external_memory') ?? 0).toFixed(0)} MiB`,
    );

    // as kubectl --chunk-size=500 and bench:list: each page parsed, checked, counted and dropped;
    // three lists, the median counted (one list swings with the load of a shared machine)
    const listTimes: number[] = [];
    for (let list = 0; list < 3; list++) {
      const listStart = performance.now();
      const { count } = await pageThrough(api, '/api/v1/persistentvolumes');
      listTimes.push((performance.now() - listStart) / 1000);
      if (count !== size) throw new Error(`listed ${count} PVs of ${size}`);
    }
    const listSeconds = [...listTimes].sort((a, b) => a - b)[1]!;
    console.log(
      `  PV lists at ${size} pairs: ${listTimes.map((s) => `${(s * 1000).toFixed(0)} ms`).join(', ')} (the median counts)`,
    );
    if (HEAP_DIR) await heapSnapshot(berth, api);

    api.close();
    await stopBerth(berth);
    const restartStart = performance.now();
    berth = await startBerth(berthOptions(dataDir));
    api = await connect(dataDir, berth.url);
    await untilAnswers(api);
    const restartSeconds = (performance.now() - restartStart) / 1000;
    const phase = (from: number | undefined, to: number | undefined) =>
      from === undefined || to === undefined ? '?' : ((to - from) / 1000).toFixed(2);
    console.log(
      `  restart at ${size} pairs: ${phase(berth.spawnedAt, berth.storeOpenedAt)} s to the store open` +
        ` (module loading, then opening took ${((berth.storeOpenMs ?? NaN) / 1000).toFixed(2)} s),` +
        ` ${phase(berth.storeOpenedAt, berth.listeningAt)} s more until the API server and every controller` +
        ` were started with synced caches (berth prints its URL then), ${phase(berth.listeningAt, performance.now())} s until the API answered`,
    );
    api.close();
    return {
      size,
      createSeconds: (created - started) / 1000,
      boundSeconds: (bound - created) / 1000,
      cpuMsPerBind: ((cpuAtBound - cpuAtFirstClaim) / size) * 1000,
      boundCpuSeconds: cpuAtBound - cpuAtLastClaim,
      loadAverage,
      idleCpuPercent,
      idleWritesPerMinute: (idleWriteCount / idleSeconds) * 60,
      rssMiB: rss,
      listSeconds,
      firstStartSeconds,
      restartSeconds,
    };
  } finally {
    await stopBerth(berth).catch(() => undefined);
    if (KEEP_DIR) {
      // the run's data outlives it only if it can be moved: the folder is made when missing
      await mkdir(KEEP_DIR, { recursive: true });
      await rename(dataDir, path.join(KEEP_DIR, `berth-${size}`));
    } else await rm(dataDir, { recursive: true, force: true });
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
      ` all Bound ${f.boundSeconds.toFixed(1)} s after the last claim (goal at 50k: < 60 s;` +
      ` berth's CPU ${f.boundCpuSeconds.toFixed(1)} s meanwhile, ${f.cpuMsPerBind.toFixed(2)} ms per claim from its create to Bound;` +
      ` load average ${f.loadAverage.toFixed(1)});` +
      ` idle CPU ${f.idleCpuPercent.toFixed(1)}% of a core (goal < 2%), ${f.idleWritesPerMinute.toFixed(1)} store writes/min (goal <= 6);` +
      ` RSS ${f.rssMiB.toFixed(0)} MiB (${((f.rssMiB * 1024) / (2 * size)).toFixed(1)} KiB per object; goal <= 600 MiB at 100k objects);` +
      ` PV list, limit=500 pages each parsed, checked, counted and dropped, ${(f.listSeconds * 1000).toFixed(0)} ms (goal < 1 s); restart until the API answers ${f.restartSeconds.toFixed(2)} s` +
      ` (${(f.restartSeconds / f.firstStartSeconds).toFixed(2)}x the first start's ${f.firstStartSeconds.toFixed(2)} s; goal < 3 s)`,
  );
}
const [base] = results;
if (base && results.length > 1) {
  for (const f of results.slice(1)) {
    const r = (a: number, b: number) => `${(a / Math.max(b, 1e-9)).toFixed(2)}x`;
    console.log(
      `growth ${base.size} -> ${f.size} pairs (${r(f.size, base.size)} the objects): time to Bound ${r(f.boundSeconds, base.boundSeconds)},` +
        ` CPU per bind ${r(f.cpuMsPerBind, base.cpuMsPerBind)},` +
        ` RSS ${r(f.rssMiB, base.rssMiB)}, idle CPU ${r(f.idleCpuPercent, base.idleCpuPercent)}, PV list ${r(f.listSeconds, base.listSeconds)},` +
        ` restart ${r(f.restartSeconds, base.restartSeconds)}`,
    );
  }
}
