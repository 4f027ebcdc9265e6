// Runs one command in a process of its own (child_process.spawn, no shell): for programs named by
// path (drivers, helpers), whose death by a signal and whose lifetime are the caller's business, and
// for the overflow when every helper shell is busy.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface RawRun {
  timeoutMs: number;
  maxOutputBytes: number;
  env: NodeJS.ProcessEnv;
}

export interface RawResult {
  stdout: string;
  stderr: string;
  /** undefined when the process was killed by a signal or never started. */
  exitCode: number | undefined;
  timedOut: boolean;
  outputTooLarge: boolean;
  cause?: Error;
}

/** How long a finished process's pipes may stay open (a daemon it left behind holds them). */
const PIPE_GRACE_MS = 200;

/** Collects a stream's bytes up to `limit`; `over` is called once when it goes past. */
export class OutputBuffer {
  private readonly chunks: Buffer[] = [];
  private readonly limit: number;
  private readonly over: () => void;
  length = 0;

  constructor(limit: number, over: () => void) {
    this.limit = limit;
    this.over = over;
  }

  push(chunk: Buffer): void {
    if (this.length > this.limit) return;
    this.length += chunk.length;
    if (this.length > this.limit) {
      this.over();
      return;
    }
    this.chunks.push(chunk);
  }

  /** Everything so far as one buffer (and kept as one, so repeated calls do not re-copy). */
  bytes(): Buffer {
    if (this.chunks.length !== 1) {
      const joined = Buffer.concat(this.chunks);
      this.chunks.length = 0;
      this.chunks.push(joined);
    }
    return this.chunks[0] ?? Buffer.alloc(0);
  }
}

export function runOwnProcess(command: string, args: readonly string[], run: RawRun): Promise<RawResult> {
  return new Promise((resolve) => {
    let timedOut = false;
    let outputTooLarge = false;
    let cause: Error | undefined;
    let exitCode: number | undefined;
    let settled = false;
    const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: run.env });
    const kill = () => child.kill('SIGKILL');
    const tooLarge = () => {
      outputTooLarge = true;
      kill();
    };
    const stdout = new OutputBuffer(run.maxOutputBytes, tooLarge);
    const stderr = new OutputBuffer(run.maxOutputBytes, tooLarge);
    const streams = [child.stdout, child.stderr] as Readable[];
    streams[0]!.on('data', (chunk: Buffer) => stdout.push(chunk));
    streams[1]!.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, run.timeoutMs);
    let grace: NodeJS.Timeout | undefined;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      for (const stream of streams) stream.destroy();
      resolve({
        stdout: stdout.bytes().toString('utf8'),
        stderr: stderr.bytes().toString('utf8'),
        exitCode,
        timedOut,
        outputTooLarge,
        ...(cause ? { cause } : {}),
      });
    };
    child.on('error', (err) => {
      cause = err; // could not start (ENOENT, EACCES); 'close' follows
      finish();
    });
    child.on('exit', (code) => {
      exitCode = code ?? undefined;
      grace = setTimeout(finish, PIPE_GRACE_MS);
    });
    child.on('close', finish);
  });
}
