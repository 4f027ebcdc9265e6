// Node-side NFS mounts. Each mount and umount runs as its own child process with a deadline, so a
// hung server costs one call its timeout and never blocks other volumes. Mount points are checked in
// mountinfo without touching the mounted path itself (a stat on a dead NFS mount can hang).
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { csiError, status } from '../../csi/errors.js';
import { ExecError } from '../../host/exec.js';
import type { MountInfoEntry } from '../../host/mountinfo.js';
import { topMountAt } from '../../host/mountinfo.js';
import type { NfsDriverContext } from './context.js';

/** The path mountinfo shows for `target`: its parent resolved (local, safe), the last name as given. */
export function mountPointKey(target: string): string {
  const resolved = path.resolve(target);
  try {
    return path.join(realpathSync(path.dirname(resolved)), path.basename(resolved));
  } catch {
    return resolved;
  }
}

export async function mountAt(ctx: NfsDriverContext, target: string): Promise<MountInfoEntry | undefined> {
  return topMountAt(await ctx.readMountInfo(), mountPointKey(target));
}

/** mount(8) arguments for an NFS mount; the helper gets the very same argv. */
export function mountArgs(source: string, target: string, options: readonly string[]): string[] {
  return ['-t', 'nfs', ...(options.length > 0 ? ['-o', options.join(',')] : []), source, target];
}

/** Mount options in order, without duplicates; `ro` added for read-only publishes. */
export function mountOptionsFor(
  flags: readonly string[],
  contextOptions: string,
  readonly: boolean,
): string[] {
  const all = [...flags, ...contextOptions.split(',')]
    .map((option) => option.trim())
    .filter((option) => option !== '');
  if (readonly) all.push('ro');
  return [...new Set(all)];
}

export async function mountNfs(
  ctx: NfsDriverContext,
  source: string,
  target: string,
  options: readonly string[],
): Promise<void> {
  try {
    await ctx.exec.run(ctx.mountHelper, mountArgs(source, target, options), {
      timeoutMs: ctx.mountTimeoutMs,
    });
  } catch (err) {
    if (err instanceof ExecError && err.timedOut) {
      throw csiError(
        status.DEADLINE_EXCEEDED,
        `mounting ${source} at ${target} timed out after ${ctx.mountTimeoutMs} ms`,
      );
    }
    const message = err instanceof ExecError ? err.stderr.trim() || err.message : String(err);
    if (/permission denied|access denied/i.test(message)) {
      throw csiError(status.PERMISSION_DENIED, `mounting ${source}: ${message}`);
    }
    if (/invalid argument/i.test(message))
      throw csiError(status.INVALID_ARGUMENT, `mounting ${source}: ${message}`);
    throw csiError(status.INTERNAL, `mounting ${source} at ${target}: ${message}`);
  }
}

/** Unmounts `target`; a stale handle or a hung server gets a forced, lazy unmount instead. */
export async function unmountNfs(ctx: NfsDriverContext, target: string): Promise<void> {
  const key = mountPointKey(target);
  for (let attempt = 0; attempt < 8; attempt++) {
    if (!topMountAt(await ctx.readMountInfo(), key)) return;
    try {
      await ctx.exec.run('umount', [key], { timeoutMs: ctx.mountTimeoutMs });
    } catch (err) {
      if (!(err instanceof ExecError)) throw err;
      if (/not mounted/.test(err.stderr)) return;
      if (!err.timedOut && !/stale/i.test(err.stderr)) {
        throw csiError(status.INTERNAL, `unmounting ${target}: ${err.stderr.trim() || err.message}`);
      }
      ctx.log.warn('forcing a lazy unmount', {
        target,
        reason: err.timedOut ? 'timeout' : 'stale file handle',
      });
      await ctx.exec.run('umount', ['-f', '-l', key], { timeoutMs: ctx.mountTimeoutMs });
    }
  }
  throw csiError(status.INTERNAL, `${target} is still mounted after 8 unmounts`);
}
