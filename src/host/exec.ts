// Running external commands (mount, losetup, mkfs...): one small interface so callers can be given a
// fake, and one real implementation with no shell parsing, a timeout, a bound on output and a fixed
// C locale so the output we parse never changes language.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { HelperShells } from './helper-shells.js';
import type { RawResult } from './own-process.js';
import { runOwnProcess } from './own-process.js';

export interface ExecOptions {
  /** Kill the command after this long. */
  timeoutMs?: number;
  /** Exit codes that are answers rather than failures (blkid exits 2 for "nothing found"). */
  okExitCodes?: readonly number[];
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Exec {
  /**
   * Resolves for exit code 0 (or one of okExitCodes); rejects with ExecError otherwise: a non-zero
   * exit, a timeout (the command is killed), more output than allowed (killed), or a command that
   * could not run or was killed by a signal (exitCode undefined).
   */
  run(command: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
}

export class ExecError extends Error {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly outputTooLarge: boolean;

  constructor(
    command: string,
    args: readonly string[],
    result: {
      exitCode: number | undefined;
      stderr: string;
      timedOut: boolean;
      outputTooLarge?: boolean;
      cause?: unknown;
    },
  ) {
    const what = result.timedOut
      ? 'timed out'
      : result.outputTooLarge
        ? 'printed more output than allowed'
        : result.exitCode === undefined && result.cause instanceof Error
          ? `failed (${result.cause.message})`
          : `exited with ${result.exitCode ?? 'a signal'}`;
    const detail = result.stderr.trim();
    super(`${[command, ...args].join(' ')} ${what}${detail ? `: ${detail}` : ''}`, { cause: result.cause });
    this.name = 'ExecError';
    this.command = command;
    this.args = args;
    this.exitCode = result.exitCode;
    this.stderr = result.stderr;
    this.timedOut = result.timedOut;
    this.outputTooLarge = result.outputTooLarge ?? false;
  }
}

export const DEFAULT_EXEC_TIMEOUT_MS = 120_000;
/** Far above what any host tool prints; a command printing more is killed. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export interface SystemExecOptions {
  timeoutMs?: number;
  maxOutputBytes?: number;
  /**
   * 'helpers' (the default): a command named without a path (a host tool on PATH) runs in one of
   * this process's helper shells, which costs far less than a fork of Node; a command named by path
   * (a driver, a helper program) runs in a process of its own, so a death by a signal shows as such.
   * 'own-process': every command in a process of its own.
   */
  spawn?: 'helpers' | 'own-process';
  /** Sees every command and how it ended; for debug logs. */
  onRun?: (entry: {
    command: string;
    args: readonly string[];
    exitCode: number | undefined;
    ms: number;
  }) => void;
}

/** As a shell's $(...) reads output: one final newline dropped. */
function withoutFinalNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text;
}

function commandEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', LANG: 'C' };
}

let sharedHelpers: HelperShells | undefined;

/** The helper shells every systemExec of this process shares. */
export function helperShells(): HelperShells {
  sharedHelpers ??= new HelperShells({ env: commandEnv() });
  return sharedHelpers;
}

/** PATH lookups, as execvp does them; remembered per name and PATH. */
const located = new Map<string, string | undefined>();

function locate(command: string): string | undefined {
  const searchPath = process.env['PATH'] ?? '';
  const key = `${searchPath}\0${command}`;
  if (located.has(key)) return located.get(key);
  let found: string | undefined;
  for (const dir of searchPath.split(':')) {
    const candidate = path.join(dir || '.', command);
    try {
      accessSync(candidate, constants.X_OK);
      found = path.resolve(candidate);
      break;
    } catch {
      // not here
    }
  }
  located.set(key, found);
  return found;
}

/** The real thing: no shell parsing, LC_ALL=C, a timeout and an output bound on every command. */
export function systemExec(options: SystemExecOptions = {}): Exec {
  const defaultTimeout = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const useHelpers = (options.spawn ?? 'helpers') === 'helpers';
  const start = (command: string, args: readonly string[], timeoutMs: number): Promise<RawResult> => {
    const run = { timeoutMs, maxOutputBytes, env: commandEnv() };
    const file = useHelpers && !command.includes('/') ? locate(command) : undefined;
    // Not on PATH, or every helper busy: a process of its own (which also reports ENOENT properly).
    return (file && helperShells().tryRun(file, args, run)) || runOwnProcess(command, args, run);
  };
  return {
    async run(command, args, runOptions = {}) {
      const started = Date.now();
      // No program can receive a NUL in an argument, and the helper protocol separates fields by it.
      if ([command, ...args].some((arg) => arg.includes('\0'))) {
        throw new ExecError(command, args, {
          exitCode: undefined,
          stderr: '',
          timedOut: false,
          cause: new Error('an argument contains a NUL byte'),
        });
      }
      const result = await start(command, args, runOptions.timeoutMs ?? defaultTimeout);
      const exitCode = result.exitCode;
      options.onRun?.({ command, args, exitCode, ms: Date.now() - started });
      // "not found" or "not executable" from a helper: the file moved; look it up again next time.
      if (exitCode === 126 || exitCode === 127) located.clear();
      const ok =
        exitCode === 0 || (exitCode !== undefined && (runOptions.okExitCodes ?? []).includes(exitCode));
      if (!ok || result.timedOut || result.outputTooLarge) {
        throw new ExecError(command, args, {
          exitCode,
          stderr: withoutFinalNewline(result.stderr),
          timedOut: result.timedOut,
          outputTooLarge: result.outputTooLarge,
          cause: result.cause,
        });
      }
      const stdout = withoutFinalNewline(result.stdout);
      return { stdout, stderr: withoutFinalNewline(result.stderr), exitCode };
    },
  };
}
