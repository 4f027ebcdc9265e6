// The rbd, rados and rbd-fuse commands against one cluster: no shell, a timeout on every call, the
// cephx key in a temporary file, and failures turned into errors that say what went wrong.
import { csiError, status } from '../../csi/errors.js';
import type { CsiError } from '../../csi/errors.js';
import type { Exec, ExecResult } from '../../host/exec.js';
import { ExecError } from '../../host/exec.js';
import type { Credentials, KeyFiles } from './credentials.js';

export const DEFAULT_CEPH_TIMEOUT_MS = 60_000;

/** Client settings that make librados give up instead of waiting minutes for an unreachable cluster. */
export const CLIENT_CONF = `[global]
client_mount_timeout = 15
rados_mon_op_timeout = 30
rados_osd_op_timeout = 60
log_file = /dev/null
`;

export interface CephTarget {
  monitors: readonly string[];
  credentials: Credentials;
}

/** A ceph command failed; errno is the one librados reported, when stderr names it. */
export class CephCommandError extends Error {
  readonly errno: number | undefined;
  readonly detail: string;
  readonly timedOut: boolean;
  /** Everything the tool printed, log lines included (auth failures show only there). */
  readonly output: string;

  constructor(message: string, errno: number | undefined, detail: string, timedOut: boolean, output = '') {
    super(message);
    this.output = output;
    this.name = 'CephCommandError';
    this.errno = errno;
    this.detail = detail;
    this.timedOut = timedOut;
  }
}

export const ENOENT = 2;
export const EACCES = 13;
export const EPERM = 1;
export const EBUSY = 16;
export const EEXIST = 17;

/** The lines of a ceph tool's stderr that say something (not the timestamped log chatter). */
export function stderrSummary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const plain = lines.filter((line) => !/^\d{4}-\d\d-\d\dT/.test(line));
  return (plain.length > 0 ? plain : lines).join('; ');
}

/** The errno in "(13) Permission denied"-style messages. */
export function errnoOf(stderr: string): number | undefined {
  const match = /\((\d+)\) [A-Z]/.exec(stderr);
  return match?.[1] ? Number(match[1]) : undefined;
}

/** "failed to fetch mon config" is what librados says when the mon refuses the key at connect. */
export function isAuthFailure(err: unknown): boolean {
  if (!(err instanceof CephCommandError)) return false;
  return (
    err.errno === EACCES ||
    err.errno === EPERM ||
    /handle_auth_bad_method|authenticat|failed to fetch mon config/i.test(`${err.detail}\n${err.output}`)
  );
}

/** The pool itself is missing ("error opening pool"); not the same as a missing image or object. */
export function isPoolMissing(err: unknown): boolean {
  return err instanceof CephCommandError && /error opening pool/.test(err.detail);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof CephCommandError && err.errno === ENOENT;
}

export function isBusy(err: unknown): boolean {
  return err instanceof CephCommandError && (err.errno === EBUSY || /has watchers/.test(err.detail));
}

/** A CSI status for a ceph failure that has no more specific meaning where it happened. */
export function cephCsiError(err: unknown, what: string, userID?: string): CsiError {
  if (!(err instanceof CephCommandError)) {
    return csiError(status.INTERNAL, `${what}: ${(err as Error).message ?? String(err)}`);
  }
  if (err.timedOut) return csiError(status.UNAVAILABLE, `${what}: the ceph cluster did not answer in time`);
  if (isPoolMissing(err)) return csiError(status.INVALID_ARGUMENT, `${what}: ${err.detail}`);
  if (isAuthFailure(err)) {
    return csiError(
      status.PERMISSION_DENIED,
      `${what}: cephx authentication failed for client.${userID ?? '?'} (${err.detail})`,
    );
  }
  return csiError(status.INTERNAL, `${what}: ${err.detail}`);
}

export interface CephCliOptions {
  exec: Exec;
  keyFiles: KeyFiles;
  /** A client ceph.conf (CLIENT_CONF) so no host /etc/ceph/ceph.conf is picked up. */
  confPath: string;
  timeoutMs?: number;
}

export function commandError(command: string, args: readonly string[], output: string): CephCommandError {
  const detail = stderrSummary(output) || 'no output';
  return new CephCommandError(
    `${command} ${args.join(' ')} failed: ${detail}`,
    errnoOf(output),
    detail,
    false,
  );
}

export class CephCli {
  private readonly exec: Exec;
  private readonly keyFiles: KeyFiles;
  private readonly confPath: string;
  private readonly timeoutMs: number;

  constructor(options: CephCliOptions) {
    this.exec = options.exec;
    this.keyFiles = options.keyFiles;
    this.confPath = options.confPath;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CEPH_TIMEOUT_MS;
  }

  /** Connection arguments; the key stays in `keyFile`. */
  connectionArgs(target: CephTarget, keyFile: string): string[] {
    return [
      '--conf',
      this.confPath,
      '-m',
      target.monitors.join(','),
      '--id',
      target.credentials.userID,
      '--keyfile',
      keyFile,
    ];
  }

  /** Runs `command` with the key in a temporary file; `keepKeyWhile` lets a daemon read it first. */
  async run(
    command: string,
    target: CephTarget,
    args: readonly string[],
    options: { keepKeyWhile?: () => Promise<void>; timeoutMs?: number } = {},
  ): Promise<string> {
    return (await this.runWithResult(command, target, args, options)).stdout;
  }

  /** As run, but exit codes in `okExitCodes` resolve with the whole result (rados prints some errors on stdout). */
  async runWithResult(
    command: string,
    target: CephTarget,
    args: readonly string[],
    options: { keepKeyWhile?: () => Promise<void>; timeoutMs?: number; okExitCodes?: readonly number[] } = {},
  ): Promise<ExecResult> {
    return this.keyFiles.with(target.credentials.userKey, async (keyFile) => {
      const full = [...this.connectionArgs(target, keyFile), ...args];
      try {
        const result = await this.exec.run(command, full, {
          timeoutMs: options.timeoutMs ?? this.timeoutMs,
          ...(options.okExitCodes ? { okExitCodes: options.okExitCodes } : {}),
        });
        if (result.exitCode === 0) await options.keepKeyWhile?.();
        return result;
      } catch (err) {
        if (!(err instanceof ExecError)) throw err;
        const detail = stderrSummary(err.stderr) || err.message;
        throw new CephCommandError(
          `${command} ${args.join(' ')} failed: ${detail}`,
          errnoOf(err.stderr),
          detail,
          err.timedOut,
          err.stderr,
        );
      }
    });
  }

  rbd(target: CephTarget, args: readonly string[]): Promise<string> {
    return this.run('rbd', target, args);
  }

  rados(target: CephTarget, pool: string, args: readonly string[]): Promise<string> {
    return this.run('rados', target, ['-p', pool, ...args]);
  }
}
