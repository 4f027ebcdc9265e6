// Binding at scale, embedded against scaled out, in one run:
//  (a) `berth up` (every component in one process, its embedded store);
//  (b) a real etcd, two `berth apiserver` processes on it and one `berth controller-manager`
//      (leader-elected) talking to both.
// On each: N static PVs, then N claims that fit them and M dynamic claims of an Immediate class
// (provisioned through the controller-side CSI sidecars by an in-memory CSI driver this process
// serves on a unix socket, so no backend is measured), all created through the API by concurrent
// HTTPS clients spread over the API servers. Prints, for each: time from the first claim to all
// N+M Bound (and to the N static ones), binds/s, store writes per bind (the revision's growth
// beyond the clients' own creates, over the binds), the store's size on disk (etcd's db size
// for (b)) and the CPU seconds each process (etcd too) used meanwhile, per bind: on a shared
// machine the figure that does not depend on what else runs; then one line with the ratios (b)/(a). Goal: (b) binds 10,000 pairs in < 40 s and
// within 4x of (a).
//   node --import tsx bench/scale.ts [--pairs 10000] [--dynamic 1000] [--clients 32]
//     [--quick (1,000 pairs, 100 dynamic)] [--only a|b] [--cpu-prof DIR (profiles of every berth process)]
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startBenchDriver } from './helpers/csi-driver.js';
import { startEtcd, type EtcdServer } from './helpers/etcd.js';
import { booleanFlag, machineLine, numberFlag } from './helpers/flags.js';
import {
  type Api,
  connectApi,
  createObject,
  currentRevision,
  inParallel,
  readCredentials,
  untilClaimsBound,
} from './helpers/https-api.js';
import { benchClass, benchVolume } from './helpers/objects.js';
import { cpuSeconds } from './helpers/process-stats.js';

const QUICK = booleanFlag('quick');
const PAIRS = numberFlag('pairs', QUICK ? 1_000 : 10_000);
const DYNAMIC = numberFlag('dynamic', Math.round(PAIRS / 10));
const CLIENTS = numberFlag('clients', 32);
const PROFILE_AT = process.argv.indexOf('--cpu-prof');
const PROFILE_DIR = PROFILE_AT < 0 ? undefined : path.resolve(process.argv[PROFILE_AT + 1] ?? 'profiles');
const ONLY_AT = process.argv.indexOf('--only');
const ONLY = ONLY_AT < 0 ? undefined : process.argv[ONLY_AT + 1];
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DRIVER = 'bench.csi.berth.dev';
const GOAL_SECONDS = 40;
const GOAL_RATIO = 4;

interface Proc {
  label: string;
  child: ChildProcess;
  output(): string;
}

/** Rejects when any of `procs` leaves before it is stopped (say, a leader that lost its lease). */
function anyExit(procs: readonly Proc[]): Promise<never> {
  return new Promise((_, reject) => {
    for (const proc of procs) {
      proc.child.once('exit', (code, signal) =>
        reject(new Error(`${proc.label} exited (${code ?? signal}) mid-run: ${proc.output().slice(-3000)}`)),
      );
    }
  });
}

function progress(message: string): void {
  process.stderr.write(`  [${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const running: Proc[] = [];
const etcds: EtcdServer[] = [];
/** This run's temp directory, once made. */
const tempDirs: string[] = [];

/** Last resort: SIGKILL every child by PID and remove every temp directory, synchronously. */
function killEverything(): void {
  for (const proc of running) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  }
  for (const etcd of etcds) {
    try {
      process.kill(etcd.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(etcd.dataDir, { recursive: true, force: true });
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

// A failure the benchmark did not expect: say what the berth processes last said, then stop them.
function failHard(err: unknown): never {
  console.error(err);
  for (const proc of running) {
    console.error(`--- ${proc.label} (exit ${proc.child.exitCode ?? proc.child.signalCode ?? 'running'}):`);
    console.error(proc.output().slice(-3000));
  }
  killEverything();
  process.exit(1);
}
process.on('uncaughtException', failHard);
process.on('unhandledRejection', failHard);
// The children run in process groups of their own, so a signal aimed at this process's group
// (Ctrl-C, `timeout`) does not stop them behind the benchmark's back (they would all leave with
// status 0 at once, mid-run); the benchmark stops them itself, by PID.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`scale: ${signal}: stopping every berth process and etcd`);
    killEverything();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

function spawnBerth(label: string, args: string[]): Proc {
  const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.join(PROFILE_DIR, label)}`] : [];
  const child = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-20_000)));
  child.stderr.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-20_000)));
  const proc = { label, child, output: () => out };
  running.push(proc);
  return proc;
}

async function waitFor(proc: Proc, pattern: RegExp, timeoutMs = 120_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(proc.output());
    if (match) return match;
    if (proc.child.exitCode !== null) throw new Error(`berth exited early: ${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}: ${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM by PID and wait (a profiled process writes its profile as it leaves). */
async function stopProc(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill('SIGTERM');
  await exited;
}

/** A running configuration: where its API servers are, and how to measure and stop it. */
interface Setup {
  name: string;
  urls: string[];
  kubeconfig: string;
  diskBytes(): Promise<number>;
  /** Where the writes went, when the store can tell. */
  writesByResource?(binds: number): Promise<string>;
  /** Requests the store has answered so far, by kind of request (etcd's gRPC methods). */
  storeCalls?(): Promise<Map<string, number>>;
  diskLabel: string;
  procs: Proc[];
  /** Every process doing the work (berth's and etcd), whose CPU time is counted. */
  pids: { label: string; pid: number }[];
  stop(): Promise<void>;
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(full);
    else if (entry.isFile()) total += (await stat(full)).size;
  }
  return total;
}

async function startEmbedded(workDir: string, driverSocket: string): Promise<Setup> {
  const dataDir = path.join(workDir, 'embedded');
  const proc = spawnBerth('embedded', [
    'up',
    `--data-dir=${dataDir}`,
    '--port=0',
    '--node=bench-node',
    `--csi-driver=${DRIVER}=unix://${driverSocket}`,
  ]);
  try {
    const [, url] = await waitFor(proc, /berth API listening on (\S+)\n/);
    return {
      name: '(a) embedded: berth up',
      urls: [url!],
      kubeconfig: path.join(dataDir, 'kubeconfig'),
      diskBytes: () => directoryBytes(dataDir),
      diskLabel: 'embedded data directory',
      procs: [proc],
      pids: [{ label: 'berth up', pid: proc.child.pid! }],
      stop: () => stopProc(proc),
    };
  } catch (err) {
    await stopProc(proc);
    throw err;
  }
}

async function etcdDbBytes(etcd: EtcdServer): Promise<number> {
  const res = await fetch(`${etcd.endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}' });
  return Number(((await res.json()) as { dbSize?: string }).dbSize ?? NaN);
}

/**
 * Per resource: how many keys there are and their updates since created (etcd's per-key version)
 * per bind: where the writes per bind go. Keys deleted since are not counted.
 */
async function etcdWritesByResource(etcd: EtcdServer, binds: number): Promise<string> {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const res = await fetch(`${etcd.endpoint}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64('/registry/'), range_end: b64('/registry0'), keys_only: true }),
  });
  const { kvs = [] } = (await res.json()) as { kvs?: { key: string; version: string }[] };
  const byResource = new Map<string, { keys: number; updates: number }>();
  for (const kv of kvs) {
    const resource = Buffer.from(kv.key, 'base64').toString('utf8').split('/')[2] ?? '';
    const counts = byResource.get(resource) ?? { keys: 0, updates: 0 };
    counts.keys++;
    counts.updates += Number(kv.version) - 1;
    byResource.set(resource, counts);
  }
  return [...byResource]
    .sort((x, y) => y[1].updates - x[1].updates)
    .map(([resource, c]) => `${resource} ${c.keys} keys, ${(c.updates / binds).toFixed(2)} updates/bind`)
    .join('; ');
}

/** etcd's count of the gRPC calls it started, by method (Range, Txn, Watch...), from its metrics. */
async function etcdCalls(etcd: EtcdServer): Promise<Map<string, number>> {
  const text = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  const calls = new Map<string, number>();
  for (const match of text.matchAll(/^grpc_server_started_total\{[^}]*grpc_method="(\w+)"[^}]*\} (\S+)$/gm)) {
    const count = Number(match[2]);
    if (count > 0) calls.set(match[1]!, (calls.get(match[1]!) ?? 0) + count);
  }
  return calls;
}

/** Pure: the calls made between two counts, per bind, most first. */
function callsPerBind(before: Map<string, number>, after: Map<string, number>, binds: number): string {
  return [...after]
    .map(([method, count]) => [method, (count - (before.get(method) ?? 0)) / binds] as const)
    .filter(([, perBind]) => perBind > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([method, perBind]) => `${method} ${perBind.toFixed(2)}`)
    .join(', ');
}

async function startScaledOut(workDir: string, driverSocket: string): Promise<Setup> {
  const etcd = await startEtcd({ detached: true });
  etcds.push(etcd);
  const procs: Proc[] = [];
  const stop = async (): Promise<void> => {
    for (const proc of [...procs].reverse()) await stopProc(proc);
    await etcd.stop();
  };
  try {
    const replicas: { url: string; kubeconfig: string }[] = [];
    for (const n of [1, 2]) {
      const dataDir = path.join(workDir, `apiserver-${n}`);
      const proc = spawnBerth(`apiserver-${n}`, [
        'apiserver',
        `--etcd-servers=${etcd.endpoint}`,
        '--secure-port=0',
        `--data-dir=${dataDir}`,
      ]);
      procs.push(proc);
      const [, url] = await waitFor(proc, /berth API listening on (\S+)\n/);
      const [, kubeconfig] = await waitFor(proc, /kubeconfig: (\S+)\n/);
      replicas.push({ url: url!, kubeconfig: kubeconfig! });
    }
    const urls = replicas.map((r) => r.url);
    const manager = spawnBerth('controller-manager', [
      'controller-manager',
      `--kubeconfig=${replicas[0]!.kubeconfig}`,
      `--master=${urls.join(',')}`,
      `--csi-driver=${DRIVER}=unix://${driverSocket}`,
      // Slack for a shared machine: berth runs from sources here, and the leader's first seconds
      // (compiling the controllers' modules through tsx) can block it past Kubernetes' 10 s renew
      // deadline; the benchmark measures binding, not elections.
      '--leader-elect-lease-duration=60s',
      '--leader-elect-renew-deadline=40s',
    ]);
    procs.push(manager);
    await waitFor(manager, /became leader/);
    return {
      name: '(b) scaled out: 2 berth apiserver + etcd + berth controller-manager',
      urls,
      kubeconfig: replicas[0]!.kubeconfig,
      diskBytes: () => etcdDbBytes(etcd),
      writesByResource: (binds) => etcdWritesByResource(etcd, binds),
      storeCalls: () => etcdCalls(etcd),
      diskLabel: 'etcd db size',
      procs: [...procs],
      pids: [
        ...procs.map((proc) => ({ label: proc.label, pid: proc.child.pid! })),
        { label: 'etcd', pid: etcd.pid },
      ],
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function staticClaim(i: number): unknown {
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

function dynamicClaim(i: number): unknown {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `dynamic-${i}`, namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'bench-dynamic',
    },
  };
}

interface Figures {
  name: string;
  createPvSeconds: number;
  createClaimSeconds: number;
  staticBoundSeconds: number;
  allBoundSeconds: number;
  writesPerBind: number;
  diskBytes: number;
  writesByResource: string | undefined;
  /** The store's requests per bind by kind, when it counts them. */
  storeCalls: string | undefined;
  diskLabel: string;
  provisioned: number;
  /** CPU seconds each process used from the first claim to all Bound. */
  cpu: { label: string; seconds: number }[];
}

async function measure(setup: Setup, driverVolumes: () => number): Promise<Figures> {
  const credentials = await readCredentials(setup.kubeconfig);
  const apis: Api[] = setup.urls.map((url) => connectApi(credentials, url, CLIENTS));
  // client c talks to API server c mod replicas, as clients behind a load balancer would
  const apiFor = (i: number) => apis[i % apis.length]!;
  const died = anyExit(setup.procs);
  died.catch(() => undefined);
  const orDied = <T>(work: Promise<T>): Promise<T> => Promise.race([work, died]);
  let watch: ReturnType<typeof untilClaimsBound> | undefined;
  try {
    const api = apis[0]!;
    await createObject(api, '/apis/storage.k8s.io/v1/storageclasses', benchClass('bench-dynamic', DRIVER));
    let started = performance.now();
    progress(`${setup.name}: creating ${PAIRS} PVs`);
    await orDied(
      inParallel(PAIRS, CLIENTS, (i) =>
        createObject(
          apiFor(i),
          '/api/v1/persistentvolumes',
          benchVolume(`pv-${i}`, '1Gi', { className: 'bench-static' }),
        ),
      ),
    );
    const createPvSeconds = (performance.now() - started) / 1000;

    const total = PAIRS + DYNAMIC;
    const revisionBefore = await currentRevision(api);
    watch = untilClaimsBound(credentials, api.url, 'default', String(revisionBefore), total);
    // M dynamic claims spread evenly among the N static ones
    let dynamicSoFar = 0;
    const order = Array.from({ length: total }, (_, i) => {
      const dynamic = Math.floor(((i + 1) * DYNAMIC) / total) > Math.floor((i * DYNAMIC) / total);
      return dynamic ? dynamicClaim(dynamicSoFar++) : staticClaim(i - dynamicSoFar);
    });
    const callsBefore = await setup.storeCalls?.();
    const cpuBefore = setup.pids.map(({ pid }) => cpuSeconds(pid));
    started = performance.now();
    progress(`creating ${total} claims`);
    await orDied(
      inParallel(total, CLIENTS, (i) =>
        createObject(apiFor(i), '/api/v1/namespaces/default/persistentvolumeclaims', order[i]),
      ),
    );
    const createClaimSeconds = (performance.now() - started) / 1000;
    progress('waiting for every claim to be Bound');
    const boundAt = await orDied(watch.done);
    const lastStatic = Math.max(
      ...[...boundAt].filter(([name]) => name.startsWith('claim-')).map(([, at]) => at),
    );
    const lastAny = Math.max(...boundAt.values());
    const cpu = setup.pids.map(({ label, pid }, i) => ({ label, seconds: cpuSeconds(pid) - cpuBefore[i]! }));
    const callsAfter = await setup.storeCalls?.();
    const revisionAfter = await currentRevision(api);
    return {
      name: setup.name,
      createPvSeconds,
      createClaimSeconds,
      staticBoundSeconds: (lastStatic - started) / 1000,
      allBoundSeconds: (lastAny - started) / 1000,
      writesPerBind: (revisionAfter - revisionBefore - total) / total,
      diskBytes: await setup.diskBytes(),
      writesByResource: await setup.writesByResource?.(total),
      storeCalls: callsBefore && callsAfter ? callsPerBind(callsBefore, callsAfter, total) : undefined,
      diskLabel: setup.diskLabel,
      provisioned: driverVolumes(),
      cpu,
    };
  } finally {
    watch?.stop();
    for (const api of apis) api.close();
  }
}

function report(f: Figures): void {
  const total = PAIRS + DYNAMIC;
  console.log(`${f.name}:`);
  console.log(
    `  created ${PAIRS} PVs in ${f.createPvSeconds.toFixed(1)} s; ${total} claims in ${f.createClaimSeconds.toFixed(1)} s` +
      ` (${CLIENTS} clients)`,
  );
  console.log(
    `  all ${total} Bound ${f.allBoundSeconds.toFixed(1)} s after the first claim (${(total / f.allBoundSeconds).toFixed(0)} binds/s);` +
      ` the ${PAIRS} static pairs ${f.staticBoundSeconds.toFixed(1)} s (${(PAIRS / f.staticBoundSeconds).toFixed(0)} binds/s);` +
      ` ${f.writesPerBind.toFixed(2)} store writes per bind; ${f.diskLabel} ${(f.diskBytes / 2 ** 20).toFixed(1)} MiB;` +
      ` the driver holds ${f.provisioned} volumes (${DYNAMIC} claimed)`,
  );
  if (f.writesByResource) console.log(`  store keys and their updates: ${f.writesByResource}`);
  if (f.storeCalls) console.log(`  etcd calls per bind (from the first claim to all Bound): ${f.storeCalls}`);
  // the figure that does not depend on what else runs on the machine
  const cpuTotal = f.cpu.reduce((sum, c) => sum + c.seconds, 0);
  console.log(
    `  CPU from the first claim to all Bound: ${f.cpu.map((c) => `${c.label} ${c.seconds.toFixed(1)} s`).join(', ')};` +
      ` ${((1000 * cpuTotal) / total).toFixed(1)} ms per bind`,
  );
}

console.log(machineLine());
console.log(
  `scale: ${PAIRS} static PV/PVC pairs + ${DYNAMIC} dynamic claims, ${CLIENTS} clients` +
    (PROFILE_DIR ? `; CPU profiles in ${PROFILE_DIR}` : ''),
);
const workDir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-scale-'));
tempDirs.push(workDir);
const results: Figures[] = [];
try {
  const setups = { a: startEmbedded, b: startScaledOut };
  for (const [key, start] of Object.entries(setups)) {
    if (ONLY !== undefined && ONLY !== key) continue;
    // a fresh driver per configuration, so its volume count is this run's
    const runDir = path.join(workDir, `run-${results.length}`);
    await mkdir(runDir, { recursive: true });
    const socket = path.join(runDir, 'csi.sock');
    const driver = await startBenchDriver(DRIVER, socket, BigInt(DYNAMIC + 1) << 31n);
    const setup = await start(runDir, socket);
    try {
      const figures = await measure(setup, () => driver.volumeCount());
      results.push(figures);
      report(figures);
    } finally {
      await setup.stop();
      await driver.shutdown();
    }
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
}
const [a, b] = results;
const cpuOf = (f: Figures): number => f.cpu.reduce((sum, c) => sum + c.seconds, 0);
if (a && b) {
  const ratio = b.staticBoundSeconds / a.staticBoundSeconds;
  console.log(
    `summary: (b)/(a) time to all ${PAIRS} static pairs Bound ${ratio.toFixed(2)}x (goal <= ${GOAL_RATIO}x: ${ratio <= GOAL_RATIO ? 'met' : 'MISSED'});` +
      ` all claims ${(b.allBoundSeconds / a.allBoundSeconds).toFixed(2)}x; CPU ${(cpuOf(b) / cpuOf(a)).toFixed(2)}x; writes per bind ${(b.writesPerBind / a.writesPerBind).toFixed(2)}x;` +
      ` (b) binds ${PAIRS} pairs in ${b.staticBoundSeconds.toFixed(1)} s (goal < ${GOAL_SECONDS} s at 10,000: ` +
      `${PAIRS < 10_000 ? 'not this size' : b.staticBoundSeconds < GOAL_SECONDS ? 'met' : 'MISSED'})`,
  );
}
