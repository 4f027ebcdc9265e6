// `berth up` in a child process, as users run it: spawned from sources through tsx or from the
// build (bin/berth.js) of a checkout, with the moments a start passes recorded (spawned, store
// open, listening), and a polite stop (SIGTERM, wait for the exit).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Api } from './https-api.js';

export interface BerthStartOptions {
  /** The checkout whose berth runs. */
  root: string;
  dataDir: string;
  /** Run bin/berth.js (the build) instead of src/cli/main.ts through tsx. */
  fromDist: boolean;
  /** Extra node flags (--cpu-prof, ...). */
  nodeFlags?: string[];
  /** Every line berth prints (stdout and stderr), prefixed with the seconds since it was spawned. */
  log?: ((line: string) => void) | undefined;
}

export interface Berth {
  child: ChildProcess;
  url: string;
  /** When the process was spawned, its store was open (its log line), and it printed its URL. */
  spawnedAt: number;
  storeOpenedAt: number | undefined;
  /** What the store says opening took (reading the snapshot and log, rebuilding the tables). */
  storeOpenMs: number | undefined;
  listeningAt: number;
}

export async function startBerth(options: BerthStartOptions): Promise<Berth> {
  const { root } = options;
  const spawnedAt = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      ...(options.fromDist
        ? [path.join(root, 'bin/berth.js')]
        : ['--import', 'tsx', path.join(root, 'src/cli/main.ts')]),
      'up',
      '--data-dir',
      options.dataDir,
      '--port',
      '0',
      '--node',
      'bench-node',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (options.log) {
    const log = options.log;
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop()!;
        const at = ((performance.now() - spawnedAt) / 1000).toFixed(1);
        for (const line of lines) log(`${at} s ${line}`);
      });
    }
  }
  let storeOpenedAt: number | undefined;
  let storeOpenMs: number | undefined;
  let errText = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (storeOpenedAt !== undefined) return;
    errText += chunk.toString();
    const line = errText.split('\n').find((l) => l.includes('"store opened"'));
    if (!line) return;
    storeOpenedAt = performance.now();
    storeOpenMs = Number(/"ms":(\d+)/.exec(line)?.[1]);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /berth API listening on (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`berth up exited with ${code}: ${out}${errText}`)));
  });
  return { child, url, spawnedAt, storeOpenedAt, storeOpenMs, listeningAt: performance.now() };
}

export async function stopBerth(berth: Berth): Promise<void> {
  if (berth.child.exitCode !== null || berth.child.signalCode !== null) return;
  const exited = new Promise((resolve) => berth.child.once('exit', resolve));
  berth.child.kill('SIGTERM');
  await exited;
}

export async function untilAnswers(api: Api): Promise<void> {
  for (;;) {
    const res = await api.call('GET', '/api/v1/persistentvolumes?limit=1').catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
