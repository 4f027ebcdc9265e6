// A few long-lived bash processes that run short host commands (mount, umount, mkfs, blkid...) for
// this process. Forking Node costs several times what forking a small shell does (bench:local: ~6 ms
// more CPU per command than bash, execa ~14 ms more), so each command is handed to an idle helper
// over a pipe and the helper forks it, as a shell script would.
//
// The protocol carries arguments as data, never as shell text: a request is NUL-separated fields
// (a nonce, the argument count, the arguments). The helper answers on a control pipe (fd 3) with
// the nonce and the exit code, after anything bash itself said about the command (a death by a
// signal, a file that would not run); and it ends the command's stdout and stderr with the nonce, so
// the answer is complete when all three arrived. A command that hangs (past its timeout) or prints
// too much gets its helper's whole process group killed; a helper that dies fails its command;
// either way the helper is replaced by a new one on demand, never reused.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { RawResult, RawRun } from './own-process.js';
import { OutputBuffer } from './own-process.js';

// The command gets the real stderr (fd 4 here) and neither control fd; bash's own words go to fd 3.
const LOOP = `
while IFS= read -r -d '' nonce && IFS= read -r -d '' argc; do
  argv=()
  while (( \${#argv[@]} < argc )) && IFS= read -r -d '' arg; do argv+=("$arg"); done
  (( \${#argv[@]} == argc )) || exit 70
  { "\${argv[@]}" 2>&4 4>&- 3>&- </dev/null; code=$?; } 4>&2 2>&3
  printf '%s %d\\n' "$nonce" "$code" >&3
  printf '%s\\n' "$nonce"
  printf '%s\\n' "$nonce" >&2
done
`;

type Stream = 'stdout' | 'stderr' | 'control';

interface Pending {
  nonce: Buffer;
  output: Record<Stream, OutputBuffer>;
  /** Where each stream's nonce was found: the end of what the command (or bash) wrote there. */
  ends: Partial<Record<Stream, number>>;
  exitCode?: number;
  timer: NodeJS.Timeout;
  resolve: (result: RawResult) => void;
}

class HelperShell {
  private readonly child: ChildProcess;
  private readonly pipes: (Readable | Writable)[];
  private pending: Pending | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Set when more than the answer arrived: the helper is retired after this command. */
  private closeAfter = false;

  private readonly idleMs: number;
  private readonly onGone: (helper: HelperShell) => void;

  constructor(env: NodeJS.ProcessEnv, idleMs: number, onGone: (helper: HelperShell) => void) {
    this.idleMs = idleMs;
    this.onGone = onGone;
    // Its own process group, so a hung command goes down with its helper in one kill.
    this.child = spawn('bash', ['--noprofile', '--norc', '-c', LOOP], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
      env,
    });
    const [stdin, stdout, stderr] = [this.child.stdin!, this.child.stdout!, this.child.stderr!];
    const control = this.child.stdio[3] as Readable;
    this.pipes = [stdin, stdout, stderr, control];
    stdin.on('error', () => undefined); // EPIPE from a dead helper: its exit reports it
    stdout.on('data', (chunk: Buffer) => this.onOutput('stdout', chunk));
    stderr.on('data', (chunk: Buffer) => this.onOutput('stderr', chunk));
    control.on('data', (chunk: Buffer) => this.onOutput('control', chunk));
    this.child.on('error', (err) => this.fail(err));
    this.child.on('exit', (code, signal) =>
      this.fail(new Error(`helper shell exited (${signal ?? `code ${code}`})`)),
    );
    this.setIdle();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  get alive(): boolean {
    return !this.closed;
  }

  run(file: string, args: readonly string[], run: RawRun): Promise<RawResult> {
    clearTimeout(this.idleTimer);
    this.ref(true);
    const nonce = randomBytes(12).toString('hex');
    return new Promise((resolve) => {
      const overflow = () => this.kill({ outputTooLarge: true });
      this.pending = {
        nonce: Buffer.from(nonce),
        output: {
          stdout: new OutputBuffer(run.maxOutputBytes, overflow),
          stderr: new OutputBuffer(run.maxOutputBytes, overflow),
          control: new OutputBuffer(run.maxOutputBytes, overflow),
        },
        ends: {},
        timer: setTimeout(() => this.kill({ timedOut: true }), run.timeoutMs),
        resolve,
      };
      const fields = [nonce, String(args.length + 1), file, ...args];
      this.child.stdin!.write(fields.join('\0') + '\0');
    });
  }

  /** Ends the helper: EOF makes an idle one exit by itself. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.child.stdin!.end();
    this.onGone(this);
  }

  private onOutput(stream: Stream, chunk: Buffer): void {
    const pending = this.pending;
    if (!pending) {
      // Output with no command running: something a command left behind still writes here.
      this.kill({});
      return;
    }
    if (pending.ends[stream] !== undefined) {
      this.closeAfter = true; // more than the answer: something left behind writes here
      return;
    }
    const buffer = pending.output[stream];
    const searchFrom = Math.max(0, buffer.length - pending.nonce.length);
    buffer.push(chunk);
    if (this.pending !== pending) return; // printed too much: killed
    const bytes = buffer.bytes();
    const at = bytes.indexOf(pending.nonce, searchFrom);
    if (at < 0) return;
    const lineEnd = bytes.indexOf(10, at);
    if (lineEnd < 0) return;
    pending.ends[stream] = at;
    if (stream === 'control')
      pending.exitCode = Number(bytes.subarray(at + pending.nonce.length + 1, lineEnd).toString());
    if (lineEnd + 1 !== bytes.length) this.closeAfter = true;
    const { ends } = pending;
    if (ends.stdout !== undefined && ends.stderr !== undefined && ends.control !== undefined)
      this.complete(pending);
  }

  private complete(pending: Pending): void {
    clearTimeout(pending.timer);
    this.pending = undefined;
    const text = (stream: Stream) =>
      pending.output[stream].bytes().subarray(0, pending.ends[stream]).toString('utf8');
    // Bash speaks only when the command did not exit by itself: killed by a signal, or not run.
    const said = text('control')
      .trim()
      .replace(/^bash: line \d+:\s*(\d+\s+)?/, '') // "bash: line 7:  4242 Segmentation fault  ..."
      .replace(/\s+"\$\{argv\[@\]\}".*$/, '');
    pending.resolve({
      stdout: text('stdout'),
      stderr: text('stderr'),
      exitCode: said ? undefined : pending.exitCode,
      timedOut: false,
      outputTooLarge: false,
      ...(said ? { cause: new Error(said) } : {}),
    });
    if (this.closeAfter) this.kill({});
    else this.setIdle();
  }

  /** Kills the helper's process group (the helper and whatever command it runs). */
  private kill(how: { timedOut?: boolean; outputTooLarge?: boolean }): void {
    const pid = this.child.pid;
    const running = this.child.exitCode === null && this.child.signalCode === null;
    try {
      // Only while it runs: the group id of a reaped helper may already name someone else's group.
      if (pid !== undefined && running) process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    const reason = how.timedOut ? 'timed out' : how.outputTooLarge ? 'printed too much' : 'was stopped';
    this.fail(new Error(`command ${reason}; its helper shell was killed`), how);
  }

  private fail(cause: Error, how: { timedOut?: boolean; outputTooLarge?: boolean } = {}): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!this.closed) {
      this.closed = true;
      clearTimeout(this.idleTimer);
      this.onGone(this);
    }
    this.ref(false);
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.resolve({
      stdout: pending.output.stdout.bytes().toString('utf8'),
      stderr: pending.output.stderr.bytes().toString('utf8'),
      exitCode: undefined,
      timedOut: how.timedOut ?? false,
      outputTooLarge: how.outputTooLarge ?? false,
      cause,
    });
  }

  /** An idle helper neither keeps this process alive nor lives forever. */
  private setIdle(): void {
    this.ref(false);
    this.idleTimer = setTimeout(() => this.close(), this.idleMs);
    this.idleTimer.unref();
  }

  private ref(on: boolean): void {
    for (const pipe of this.pipes) {
      const handle = pipe as unknown as { ref?: () => void; unref?: () => void };
      if (on) handle.ref?.();
      else handle.unref?.();
    }
    if (on) this.child.ref();
    else this.child.unref();
  }
}

export interface HelperShellsOptions {
  env: NodeJS.ProcessEnv;
  /** Helpers running at most; a command finding all of them busy runs in a process of its own. */
  maxHelpers?: number;
  /** Helpers kept once their command is done. */
  keepIdle?: number;
  /** An idle helper exits after this long. */
  idleMs?: number;
}

export class HelperShells {
  private readonly helpers = new Set<HelperShell>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly maxHelpers: number;
  private readonly keepIdle: number;
  private readonly idleMs: number;

  constructor(options: HelperShellsOptions) {
    this.env = options.env;
    this.maxHelpers = options.maxHelpers ?? 4;
    this.keepIdle = options.keepIdle ?? 2;
    this.idleMs = options.idleMs ?? 30_000;
  }

  /** Runs `file` (an absolute path) in an idle helper; undefined when all helpers are busy. */
  tryRun(file: string, args: readonly string[], run: RawRun): Promise<RawResult> | undefined {
    let helper = [...this.helpers].find((h) => !h.busy && h.alive);
    if (!helper) {
      if (this.helpers.size >= this.maxHelpers) return undefined;
      helper = new HelperShell(this.env, this.idleMs, (gone) => this.helpers.delete(gone));
      this.helpers.add(helper);
    }
    const chosen = helper;
    return chosen.run(file, args, run).finally(() => {
      const idle = [...this.helpers].filter((h) => !h.busy);
      if (idle.length > this.keepIdle && chosen.alive && !chosen.busy) chosen.close();
    });
  }

  /** Process ids of the helpers, for tests of what happens when one dies. */
  pids(): number[] {
    return [...this.helpers].map((h) => h.pid).filter((pid): pid is number => pid !== undefined);
  }

  close(): void {
    for (const helper of this.helpers) helper.close();
  }
}
