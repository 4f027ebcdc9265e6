// Test processes run from sources (`node --import tsx FILE ARGS`): berth commands, the mock CSI
// driver. Their stdout and stderr are kept together for waiting on and for failure messages.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from './eventually.js';

const root = join(import.meta.dirname, '..', '..');

export interface TsxProcess {
  child: ChildProcess;
  output: () => string;
}

export function startTsx(args: string[], env: Record<string, string> = {}): TsxProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

/** Signals the process (by its PID) and resolves with its exit code once it is gone. */
export function stopProcess(
  proc: TsxProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  const child = proc?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child?.exitCode ?? null);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}

/** Unmounts whatever a failed run left mounted below `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) spawnSync('umount', [point]);
}

/** The mock CSI driver as its own process (test/mock-driver/main.ts; startMockDriver in driver.ts runs it in-process), once ready. */
export async function startMockDriverProcess(
  socket: string,
  name: string,
  nodeId: string,
): Promise<TsxProcess> {
  const driver = startTsx([
    'test/mock-driver/main.ts',
    '--endpoint',
    `unix://${socket}`,
    '--node-id',
    nodeId,
    '--name',
    name,
  ]);
  await eventually('mock driver ready', async () => driver.output().includes('ready'));
  return driver;
}
