// Kubelet's hostPath `type` checks (PURE over one lstat-like answer): what must be at the path,
// and what the agent may create when nothing is there yet.
export const HOST_PATH_TYPES = [
  '',
  'DirectoryOrCreate',
  'Directory',
  'FileOrCreate',
  'File',
  'Socket',
  'CharDevice',
  'BlockDevice',
] as const;
export type HostPathType = (typeof HOST_PATH_TYPES)[number];

/** What is at a path, as far as the checks care. */
export type PathKind = 'missing' | 'directory' | 'file' | 'socket' | 'char-device' | 'block-device' | 'other';

export type HostPathVerdict = { ok: true; create?: 'directory' | 'file' } | { ok: false; message: string };

const WANTED: Record<string, { kind: PathKind; noun: string; create?: 'directory' | 'file' }> = {
  DirectoryOrCreate: { kind: 'directory', noun: 'a directory', create: 'directory' },
  Directory: { kind: 'directory', noun: 'a directory' },
  FileOrCreate: { kind: 'file', noun: 'a file', create: 'file' },
  File: { kind: 'file', noun: 'a file' },
  Socket: { kind: 'socket', noun: 'a socket file' },
  CharDevice: { kind: 'char-device', noun: 'a character device' },
  BlockDevice: { kind: 'block-device', noun: 'a block device' },
};

export function checkHostPathType(type: string, path: string, found: PathKind): HostPathVerdict {
  if (type === '') {
    // No check; like the container runtime, a missing path is created as a directory.
    return found === 'missing' ? { ok: true, create: 'directory' } : { ok: true };
  }
  const want = WANTED[type];
  if (!want) return { ok: false, message: `hostPath type check failed: unknown hostPath type "${type}"` };
  if (found === 'missing' && want.create) return { ok: true, create: want.create };
  if (found !== want.kind)
    return { ok: false, message: `hostPath type check failed: ${path} is not ${want.noun}` };
  return { ok: true };
}
