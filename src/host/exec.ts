// Running external commands (mount, losetup, mkfs...): one small interface so callers can be given a
// fake, and one real implementation over execa with no shell, a timeout and a fixed C locale so the
// output we parse never changes language.
import { execa } from 'execa';

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
  /** Resolves for exit code 0 (or one of okExitCodes); rejects with ExecError otherwise. */
  run(command: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
}

export class ExecError extends Error {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly timedOut: boolean;

  constructor(
    command: string,
    args: readonly string[],
    result: { exitCode: number | undefined; stderr: string; timedOut: boolean; cause?: unknown },
  ) {
    const what = result.timedOut ? 'timed out' : `exited with ${result.exitCode ?? 'a signal'}`;
    const detail = result.stderr.trim();
    super(`${[command, ...args].join(' ')} ${what}${detail ? `: ${detail}` : ''}`, { cause: result.cause });
    this.name = 'ExecError';
    this.command = command;
    this.args = args;
    this.exitCode = result.exitCode;
    this.stderr = result.stderr;
    this.timedOut = result.timedOut;
  }
}

export const DEFAULT_EXEC_TIMEOUT_MS = 120_000;

export interface SystemExecOptions {
  timeoutMs?: number;
  /** Sees every command and how it ended; for debug logs. */
  onRun?: (entry: {
    command: string;
    args: readonly string[];
    exitCode: number | undefined;
    ms: number;
  }) => void;
}

/** The real thing: execa, no shell, LC_ALL=C, a timeout on every command. */
export function systemExec(options: SystemExecOptions = {}): Exec {
  const defaultTimeout = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  return {
    async run(command, args, runOptions = {}) {
      const started = Date.now();
      const result = await execa(command, [...args], {
        reject: false,
        shell: false,
        stdin: 'ignore',
        timeout: runOptions.timeoutMs ?? defaultTimeout,
        env: { LC_ALL: 'C', LANG: 'C' },
      });
      const exitCode = result.exitCode;
      options.onRun?.({ command, args, exitCode, ms: Date.now() - started });
      const ok =
        exitCode === 0 || (exitCode !== undefined && (runOptions.okExitCodes ?? []).includes(exitCode));
      if (!ok || result.timedOut) {
        throw new ExecError(command, args, {
          exitCode,
          stderr: String(result.stderr ?? ''),
          timedOut: result.timedOut,
          cause: result.cause,
        });
      }
      return {
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
        exitCode: exitCode ?? 0,
      };
    },
  };
}
