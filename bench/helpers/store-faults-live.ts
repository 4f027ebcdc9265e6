// Faults that strike a running store: SIGKILL of a writing child (at random, mid-snapshot,
// mid-compaction), EIO from the file layer on write/fsync, and ENOSPC from a small
// loop-mounted filesystem that fills up. See store-faults.ts for the workload and the verdicts.
import { spawn, execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  openSync,
  closeSync,
  writeSync,
  fsyncSync,
  unlinkSync,
  rmSync,
  ftruncateSync,
} from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { StoreDamagedError } from '../../src/store/recovery.js';
import { nodeStoreFs, type StoreFs } from '../../src/store/store-fs.js';
import { differing, rngFor, servedBy, slots, writeBatch, type Model, type Rng } from './store-faults.js';

export const KILL_POINTS = ['random', 'mid-snapshot', 'mid-compaction'] as const;
export type KillPoint = (typeof KILL_POINTS)[number];

export interface KillVerdict {
  acked: number;
  /** The trigger was met (for mid-snapshot / mid-compaction); else killed at the deadline. */
  triggered: boolean;
  /** A start refused after a crash: a false alarm, since a crash leaves only a torn tail. */
  refused: boolean;
  silentLosses: number;
}

const writer = join(import.meta.dirname, 'store-fault-writer.ts');

/** Runs the writer child, kills it with SIGKILL at the chosen point, and judges the reopen. */
export async function killRun(dataDir: string, seed: number, point: KillPoint): Promise<KillVerdict> {
  const rng = rngFor(seed);
  const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir, String(seed), '40'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked = new Map<string, string>(); // ref -> rv ('' = deleted)
  const inflight = new Set<string>();
  let stderr = '';
  let buffered = '';
  let triggered = false;
  const skips = Math.floor(rng() * 3);
  let seen = 0;
  let snapshots = 0;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const kill = (): void => void child.kill('SIGKILL');
  let deadline: NodeJS.Timeout | undefined;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const end = buffered.lastIndexOf('\n');
    if (end < 0) return;
    for (const line of buffered.slice(0, end).split('\n')) {
      const [tag, kind, key, rv] = line.split(' ');
      if (tag === 'W') inflight.add(`${kind} ${key}`);
      if (tag === 'A') {
        inflight.delete(`${kind} ${key}`);
        acked.set(`${kind} ${key}`, rv ?? '');
        if (!deadline) deadline = setTimeout(kill, point === 'random' ? rng() * 600 : 15_000);
      }
      if (tag === 'S') snapshots++;
      // "C" also comes at open and at rotation: mid-compaction is a "C" after a snapshot's "S"
      const wanted =
        point === 'mid-snapshot' ? 'S' : point === 'mid-compaction' && snapshots > 0 ? 'C' : undefined;
      if (tag === wanted && seen++ >= skips) {
        triggered = true;
        kill();
      }
    }
    buffered = buffered.slice(end + 1);
  });
  await exited;
  clearTimeout(deadline);
  if (acked.size === 0) throw new Error(`the writer acknowledged nothing: ${stderr}`);

  let serving: Model;
  try {
    const store = await openEmbeddedStore({ dataDir });
    serving = await servedBy(store).finally(() => store.close());
  } catch (err) {
    if (!(err instanceof StoreDamagedError)) throw err;
    return { acked: acked.size, triggered, refused: true, silentLosses: 0 };
  }
  let silentLosses = 0;
  for (const [ref, rv] of acked) {
    if ((serving.get(ref)?.rv ?? '') !== rv && !inflight.has(ref)) silentLosses++;
  }
  return { acked: acked.size, triggered: triggered || point === 'random', refused: false, silentLosses };
}

export interface WriteFaultVerdict {
  /** Writes answered with a 5xx Status (not acknowledged). */
  serverErrors: number;
  /** While failing, reads served exactly what was acknowledged. */
  consistent: boolean;
  /** Once the fault was gone, writes were acknowledged again. */
  resumed: boolean;
  /** After a clean stop and reopen, objects served differently from what was acknowledged. */
  silentLosses: number;
}

function injected(code: 'EIO', what: string): Error {
  return Object.assign(new Error(`${code}: i/o error, ${what}`), { code });
}

/** A file layer that fails writes (after writing half) and fsyncs of log and snapshot files. */
export function flakyFs(rng: Rng, probability: number): { fs: StoreFs; armed: boolean; failures: number } {
  const control = { fs: nodeStoreFs, armed: true, failures: 0 };
  const fail = (): boolean => {
    if (!control.armed || rng() >= probability) return false;
    control.failures++;
    return true;
  };
  control.fs = {
    async open(path, flags, mode) {
      const handle = await nodeStoreFs.open(path, flags, mode);
      if (!path.endsWith('.log') && !path.endsWith('.tmp')) return handle;
      return new Proxy(handle, {
        get(target, prop: keyof FileHandle) {
          if (prop === 'write') {
            return async (buffer: Buffer, offset: number, length: number) => {
              if (!fail()) return target.write(buffer, offset, length);
              await target.write(buffer, offset, length >> 1);
              throw injected('EIO', 'write');
            };
          }
          if ((prop === 'datasync' || prop === 'sync') && fail()) {
            return () => Promise.reject(injected('EIO', prop === 'sync' ? 'fsync' : 'fdatasync'));
          }
          const value = target[prop];
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  };
  return control;
}

async function writeFaultRun(
  dataDir: string,
  seed: number,
  fs: StoreFs,
  during: (
    store: Awaited<ReturnType<typeof openEmbeddedStore>>,
    write: () => Promise<number>,
  ) => Promise<number>,
  recover: () => void,
): Promise<WriteFaultVerdict> {
  const rng = rngFor(seed);
  const all = slots(100);
  const model: Model = new Map();
  const store = await openEmbeddedStore({ dataDir, compactEvery: 40 + Math.floor(rng() * 160), fs });
  const write = (): Promise<number> => writeBatch(store, model, rng, all, 1 + Math.floor(rng() * 12));
  let resumed = false;
  let serverErrors = 0;
  let consistent = false;
  try {
    serverErrors = await during(store, write);
    consistent = differing(model, await servedBy(store)).size === 0;
    recover();
    resumed = (await write()) + (await write()) === 0;
  } finally {
    await store.close();
  }
  const reopened = await openEmbeddedStore({ dataDir });
  const lost = differing(model, await servedBy(reopened).finally(() => reopened.close()));
  return { serverErrors, consistent, resumed, silentLosses: lost.size };
}

/** EIO on write/fsync with some probability for a while, then none. */
export async function eioRun(dataDir: string, seed: number): Promise<WriteFaultVerdict> {
  const flaky = flakyFs(rngFor(seed ^ 0x5eed), 0.05 + rngFor(seed)() * 0.1);
  return writeFaultRun(
    dataDir,
    seed,
    flaky.fs,
    async (_store, write) => {
      let errors = 0;
      for (let i = 0; i < 40; i++) errors += await write();
      return errors;
    },
    () => (flaky.armed = false),
  );
}

/** A small ext4 filesystem on a loop device, mounted at `dir`; `close` unmounts and detaches. */
export function smallFilesystem(megabytes: number): { dir: string; close(): void } {
  const root = mkdtempSync(join(tmpdir(), 'berth-enospc-'));
  const image = join(root, 'fs.img');
  const dir = join(root, 'mnt');
  execFileSync('truncate', ['-s', `${megabytes}M`, image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  const device = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  try {
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('mount', [device, dir]);
  } catch (err) {
    execFileSync('losetup', ['-d', device]);
    throw err;
  }
  return {
    dir,
    close(): void {
      execFileSync('umount', [dir]);
      execFileSync('losetup', ['-d', device]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Fills the filesystem holding `path` with one file; returns a function that frees it again. */
function fillUp(path: string, leaveBytes: number): () => void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  let size = 0;
  try {
    for (;;) size += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  ftruncateSync(fd, Math.max(0, size - leaveBytes));
  fsyncSync(fd);
  closeSync(fd);
  return () => unlinkSync(path);
}

/** Writes until the filesystem is full, checks nothing was acknowledged wrongly, frees space. */
export async function enospcRun(mountDir: string, seed: number): Promise<WriteFaultVerdict> {
  const dataDir = join(mountDir, `store-${seed}`);
  let free: () => void = () => undefined;
  try {
    return await writeFaultRun(
      dataDir,
      seed,
      nodeStoreFs,
      async (_store, write) => {
        for (let i = 0; i < 3; i++) await write();
        free = fillUp(join(mountDir, 'filler'), Math.floor(rngFor(seed)() * 256 * 1024));
        let errors = 0;
        for (let i = 0; i < 400 && errors === 0; i++) errors += await write();
        for (let i = 0; i < 3; i++) errors += await write(); // keeps failing calmly while full
        return errors;
      },
      () => free(),
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(join(mountDir, 'filler'), { force: true });
  }
}
