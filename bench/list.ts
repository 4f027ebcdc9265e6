// A full list of N PersistentVolumes with limit=500 paging (continue tokens), as bench/scale-embedded.ts
// lists them after binding, without the rest of `berth up`: `startApiServer` over the embedded store
// in this process, filled with N bound volumes shaped as the scale run leaves them (finalizer,
// annotation, managedFields, claimRef, status); the client runs in a child process with the scale
// run's HTTPS client, as a paging client (kubectl --chunk-size=500) does: each page is parsed whole,
// checked (revision, continue token, key order), counted and dropped; one variant keeps every item
// until the end instead, as this client did before. Printed: the list's wall time,
// the server's CPU (this process) and the client's CPU, beside a baseline run in the same process:
// JSON.stringify of the same pages (what answering costs with no HTTP at all) and JSON.parse of
// them (what any client of JSON pays).
// With --profile DIR, the server's and the client's CPU profiles of the last run are written into DIR
// (summarise with bench/profile-summary.ts). With --baseline ROOT (another checkout, built), that
// checkout's API server answers the same store too, alternated with this one's, so a change shows
// as a ratio against the code before it under the same load.
//   node --import tsx bench/list.ts [--size 10000] [--runs 3] [--from-dist] [--profile DIR] [--baseline ROOT]
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as KindsModule from '../src/api/kinds.js';
import type * as ApiServerModule from '../src/apiserver/index.js';
import type * as ListPagesModule from '../src/apiserver/list-pages.js';
import type * as EmbeddedModule from '../src/store/embedded.js';
import { startHttpsServer } from './helpers/bare-https.js';
import { booleanFlag, machineLine, numberFlag, stringFlag } from './helpers/flags.js';
import { connectApi, inParallel, pageThrough } from './helpers/https-api.js';
import { scaleRunVolume } from './helpers/objects.js';
import { rssMiB } from './helpers/process-stats.js';

const SIZE = numberFlag('size', 10_000);
const RUNS = numberFlag('runs', 3);
const FROM_DIST = booleanFlag('from-dist');
const PROFILE_DIR = stringFlag('profile');
const BASELINE = stringFlag('baseline');
const GOAL_MS_AT_50K = 1_000;
const RUN_TIME = '2026-12-07T13:58:14Z';

/** Profiles this process's CPU until the returned function writes the profile to `file`. */
async function startProfile(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A child's answer: the list's wall time and the child's CPU during it, ms. */
interface ClientResult {
  items: number;
  wallMs: number;
  cpuMs: number;
  /** Median time from one page to the next over the first and the last tenth of the pages, ms. */
  earlyPageMs: number;
  latePageMs: number;
}

interface ClientSpec {
  url: string;
  token: string;
  ca: string;
  /** Keep every page's items until the list is done (as this client did before) instead of dropping each page once counted. */
  keepItems: boolean;
  /** Where to write the client's CPU profile, if anywhere. */
  profile?: string;
}

async function runClient(spec: ClientSpec): Promise<ClientResult> {
  const api = connectApi({ token: spec.token, ca: Buffer.from(spec.ca) }, spec.url, 1);
  const stopProfile = await startProfile(spec.profile);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const kept: unknown[] = [];
  const pageEnds: number[] = [started];
  const { count } = await pageThrough(api, '/api/v1/persistentvolumes', (items) => {
    if (spec.keepItems) kept.push(...items);
    pageEnds.push(performance.now());
  });
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  await stopProfile();
  api.close();
  if (spec.keepItems && kept.length !== count) throw new Error(`kept ${kept.length} of ${count} items`);
  // a page's cost growing with its offset (a scan from the start each time) shows as late > early
  const pageMs = pageEnds.slice(1).map((end, i) => end - pageEnds[i]!);
  const tenth = Math.max(1, Math.floor(pageMs.length / 10));
  return {
    items: count,
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    earlyPageMs: median(pageMs.slice(0, tenth)),
    latePageMs: median(pageMs.slice(-tenth)),
  };
}

/** The server's code: the sources through tsx, or with --from-dist the build. */
async function serverCode(relative: string): Promise<unknown> {
  if (!FROM_DIST) return import(`../src/${relative}.js`);
  const built = new URL(`../dist/${relative}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(built)))
    throw new Error('--from-dist: dist/ is missing; run `npm run build` first');
  return import(built.href);
}

async function clientList(spec: ClientSpec): Promise<ClientResult & { serverCpuMs: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--client-child'], {
    execArgv: ['--import', 'tsx'],
  });
  const ready = new Promise<void>((resolve) => child.once('message', () => resolve()));
  const done = new Promise<ClientResult>((resolve, reject) => {
    child.on('message', (message: ClientResult | 'ready') => message !== 'ready' && resolve(message));
    child.once('exit', (code) => reject(new Error(`list child exited with ${code}`)));
  });
  await ready;
  const cpu = process.cpuUsage();
  child.send(spec);
  const result = await done;
  const used = process.cpuUsage(cpu);
  return { ...result, serverCpuMs: (used.user + used.system) / 1000 };
}

/**
 * The floor: a bare node:https server that answers each page from memory, serialised before the
 * list starts (the same bytes the API would send, continue tokens included).
 */
async function startPreservedPages(
  tls: { cert: string; key: string },
  objects: readonly unknown[],
): Promise<{ url: string; close(): Promise<void> }> {
  const pages: Buffer[] = [];
  for (let at = 0; at < objects.length; at += 500) {
    const next = at + 500 < objects.length ? String(at + 500) : undefined;
    const metadata = { resourceVersion: '1', ...(next ? { continue: next } : {}) };
    const items = objects.slice(at, at + 500);
    pages.push(
      Buffer.from(`${JSON.stringify({ kind: 'PersistentVolumeList', apiVersion: 'v1', metadata, items })}\n`),
    );
  }
  return startHttpsServer(tls, (req, res) => {
    const from = Number(new URL(req.url ?? '/', 'https://x').searchParams.get('continue') ?? 0);
    const page = pages[from / 500]!;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': page.length });
    res.end(page);
  });
}

type Run = ClientResult & { serverCpuMs: number };

async function main(): Promise<void> {
  const { kinds } = (await serverCode('api/kinds')) as typeof KindsModule;
  const { ensureCredentials, startApiServer } = (await serverCode(
    'apiserver/index',
  )) as typeof ApiServerModule;
  const { openEmbeddedStore } = (await serverCode('store/embedded')) as typeof EmbeddedModule;
  const { listItems } = (await serverCode('apiserver/list-pages')) as typeof ListPagesModule;
  const baselineApi = BASELINE
    ? ((await import(
        pathToFileURL(path.resolve(BASELINE, 'dist/apiserver/index.js')).href
      )) as typeof ApiServerModule)
    : undefined;
  const volumes = kinds.find((k) => k.kind === 'PersistentVolume')!;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-list-'));
  const store = await openEmbeddedStore({ dataDir: path.join(dir, 'store'), compactEvery: 10 * SIZE });
  const first = await ensureCredentials(dir, 'https://127.0.0.1:0');
  // the same store behind two API servers: the old way (each page serialised when asked) and the new
  const servers = {
    whenAsked: await startApiServer({ store, token: first.token, tls: first.tls, prepareNextPages: false }),
    prepared: await startApiServer({ store, token: first.token, tls: first.tls }),
    baseline: await baselineApi?.startApiServer({ store, token: first.token, tls: first.tls }),
  };
  let bare: Awaited<ReturnType<typeof startPreservedPages>> | undefined;
  try {
    const { kubeconfigPath } = await ensureCredentials(dir, servers.prepared.url);
    const kubeconfig = JSON.parse(await readFile(kubeconfigPath, 'utf8')) as {
      users: { user: { token: string } }[];
    };
    const spec = { url: '', token: kubeconfig.users[0]!.user.token, ca: first.tls.cert.toString() };
    console.log(machineLine());
    const rssEmpty = rssMiB(process.pid);
    await inParallel(SIZE, 64, async (i) => {
      // a volume as the scale run leaves it once its claim is Bound (read back from a real run)
      await store.create(volumes, scaleRunVolume(i, { manager: 'bench', time: RUN_TIME, bound: true }));
    });
    console.log(
      `list: ${SIZE} bound PersistentVolumes, limit=500 pages over HTTPS, server from` +
        ` ${FROM_DIST ? 'the build (dist/)' : 'sources through tsx'}; server RSS ${rssEmpty.toFixed(0)} MiB empty,` +
        ` ${rssMiB(process.pid).toFixed(0)} MiB filled`,
    );
    // the items as the API answers them (without the apiVersion and kind the list names once)
    const stored = listItems(volumes, (await store.list(volumes, { readOnly: true })).items);
    bare = await startPreservedPages(first.tls, stored);
    // the client drops each page once parsed and checked, as kubectl --chunk-size=500 does; the
    // last variant keeps every item until the list is done (as this benchmark's client did before)
    const variants = {
      prepared: { url: servers.prepared.url, keepItems: false },
      whenAsked: { url: servers.whenAsked.url, keepItems: false },
      bare: { url: bare.url, keepItems: false },
      keepItems: { url: servers.prepared.url, keepItems: true },
      baseline: { url: servers.baseline?.url ?? '', keepItems: false },
    };
    type Variant = keyof typeof variants;
    const names = (Object.keys(variants) as Variant[]).filter((name) => variants[name].url !== '');
    const runs = Object.fromEntries(names.map((name) => [name, [] as Run[]])) as Record<Variant, Run[]>;
    const figures = (r: Run) =>
      `${r.wallMs.toFixed(0)} ms wall, server CPU ${r.serverCpuMs.toFixed(0)} ms, client CPU ${r.cpuMs.toFixed(0)} ms,` +
      ` a page ${r.earlyPageMs.toFixed(1)} ms early / ${r.latePageMs.toFixed(1)} ms late`;
    for (let run = 0; run < RUNS; run++) {
      // alternated, so all see the same load on a shared machine
      for (const name of names) {
        const last = PROFILE_DIR !== undefined && run === RUNS - 1 && name === 'prepared';
        const stopProfile = await startProfile(
          last ? path.join(PROFILE_DIR, 'list-server.cpuprofile') : undefined,
        );
        const result = await clientList({
          ...spec,
          ...variants[name],
          ...(last ? { profile: path.join(PROFILE_DIR, 'list-client.cpuprofile') } : {}),
        });
        await stopProfile();
        if (result.items !== SIZE) throw new Error(`${name}: listed ${result.items} of ${SIZE}`);
        runs[name].push(result);
      }
      console.log(
        `  run ${run + 1}: next page prepared: ${figures(runs.prepared[run]!)}\n` +
          `         each page when asked: ${figures(runs.whenAsked[run]!)}\n` +
          `         bare server of pre-serialised pages: ${figures(runs.bare[run]!)}\n` +
          `         next page prepared, client keeping every item: ${figures(runs.keepItems[run]!)}` +
          (BASELINE ? `\n         baseline (${BASELINE}): ${figures(runs.baseline[run]!)}` : ''),
      );
    }
    const wall = (name: Variant) => median(runs[name].map((r) => r.wallMs));
    const serverCpu = (name: Variant) => median(runs[name].map((r) => r.serverCpuMs));
    const clientCpu = (name: Variant) => median(runs[name].map((r) => r.cpuMs));
    console.log(
      `summary: list of ${SIZE} PVs in ${wall('prepared').toFixed(0)} ms (median of ${RUNS}; goal < ${GOAL_MS_AT_50K} ms` +
        ` at 50,000, ${((GOAL_MS_AT_50K * SIZE) / 50_000).toFixed(0)} ms pro rata; the client parses every page whole,` +
        ` checks its revision, continue token and key order, counts its items and drops it) =` +
        ` ${(wall('prepared') / wall('whenAsked')).toFixed(2)}x each page serialised when asked (${wall('whenAsked').toFixed(0)} ms),` +
        ` ${(wall('prepared') / wall('bare')).toFixed(2)}x a bare server of pre-serialised pages (${wall('bare').toFixed(0)} ms),` +
        ` ${(wall('prepared') / wall('keepItems')).toFixed(2)}x a client keeping every item (${wall('keepItems').toFixed(0)} ms);` +
        (BASELINE
          ? ` ${(wall('prepared') / wall('baseline')).toFixed(2)}x the baseline checkout (${wall('baseline').toFixed(0)} ms,` +
            ` server CPU ${serverCpu('baseline').toFixed(0)} ms, client CPU ${clientCpu('baseline').toFixed(0)} ms);`
          : '') +
        ` server CPU ${serverCpu('prepared').toFixed(0)} ms (when asked ${serverCpu('whenAsked').toFixed(0)} ms,` +
        ` bare ${serverCpu('bare').toFixed(0)} ms), client CPU ${clientCpu('prepared').toFixed(0)} ms` +
        ` (keeping every item ${clientCpu('keepItems').toFixed(0)} ms); a page ${median(runs.prepared.map((r) => r.earlyPageMs)).toFixed(1)} ms` +
        ` in the first tenth, ${median(runs.prepared.map((r) => r.latePageMs)).toFixed(1)} ms in the last; server RSS ${rssMiB(process.pid).toFixed(0)} MiB;` +
        ` load average ${os.loadavg()[0]!.toFixed(2)}`,
    );
  } finally {
    await bare?.close();
    await servers.prepared.close();
    await servers.whenAsked.close();
    await servers.baseline?.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--client-child')) {
  process.once('message', (spec: ClientSpec) => {
    void runClient(spec).then((result) => process.send!(result, () => process.exit(0)));
  });
  process.send!('ready');
} else {
  await main();
}
