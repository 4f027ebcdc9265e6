// Runs one command in a process of its own (execa, no shell): for programs named by
// path (drivers, helpers), whose death by a signal and whose lifetime are the caller's business, and
// for the overflow when every helper shell is busy.
import { execa } from 'execa';

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

export async function runOwnProcess(
  command: string,
  args: readonly string[],
  run: RawRun,
): Promise<RawResult> {
  const subprocess = execa(command, [...args], {
    reject: false,
    shell: false,
    stdin: 'ignore',
    env: run.env,
    extendEnv: false,
    timeout: run.timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: run.maxOutputBytes,
    stripFinalNewline: false,
  });
  // A daemon the command left behind may hold its pipes for ever: once the command has exited,
  // its output gets a short grace, then the pipes are closed and the answer is what arrived.
  let grace: NodeJS.Timeout | undefined;
  subprocess.once('exit', () => {
    grace = setTimeout(() => {
      subprocess.stdout?.destroy();
      subprocess.stderr?.destroy();
    }, PIPE_GRACE_MS);
  });
  const result = await subprocess;
  clearTimeout(grace);
  const started = result.exitCode !== undefined || result.signal !== undefined;
  return {
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    outputTooLarge: result.isMaxBuffer,
    ...(!started && result.cause instanceof Error ? { cause: result.cause } : {}),
  };
}
