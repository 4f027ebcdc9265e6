// /proc/self/mountinfo: the kernel's own list of mounts, which is the state a driver or node agent
// rebuilds itself from after a restart. Parsing is pure; reading is one injected function.
import { readFileSync } from 'node:fs';

export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** "major:minor" of the device holding the mount (for bind mounts of a device node: its filesystem's). */
  majorMinor: string;
  /** Path inside the source filesystem that is mounted here ("/" for a whole filesystem). */
  root: string;
  mountPoint: string;
  mountOptions: string[];
  optionalFields: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

export type MountInfoReader = () => Promise<MountInfoEntry[]>;

/** Mountinfo escapes space, tab, newline and backslash as three-digit octal (\040). */
export function unescapeMountPath(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** One line: `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`. */
export function parseMountInfoLine(line: string): MountInfoEntry {
  const fields = line.trim().split(' ');
  const separator = fields.indexOf('-', 6);
  if (fields.length < 10 || separator < 0 || fields.length < separator + 3) {
    throw new Error(`malformed mountinfo line: ${line}`);
  }
  const at = (index: number): string => fields[index] ?? '';
  return {
    mountId: Number(at(0)),
    parentId: Number(at(1)),
    majorMinor: at(2),
    root: unescapeMountPath(at(3)),
    mountPoint: unescapeMountPath(at(4)),
    mountOptions: at(5).split(','),
    optionalFields: fields.slice(6, separator),
    fsType: at(separator + 1),
    source: unescapeMountPath(at(separator + 2)),
    superOptions: at(separator + 3).split(','),
  };
}

export function parseMountInfo(text: string): MountInfoEntry[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(parseMountInfoLine);
}

/** procfs is generated in memory, so a synchronous read is the cheap one. */
export function procMountInfoReader(file = '/proc/self/mountinfo'): MountInfoReader {
  return async () => parseMountInfo(readFileSync(file, 'utf8'));
}

/** The topmost mount at `mountPoint` (later lines stack over earlier ones), if any. */
export function topMountAt(
  entries: readonly MountInfoEntry[],
  mountPoint: string,
): MountInfoEntry | undefined {
  let found: MountInfoEntry | undefined;
  for (const entry of entries) if (entry.mountPoint === mountPoint) found = entry;
  return found;
}

export function isReadOnly(entry: MountInfoEntry): boolean {
  return entry.mountOptions.includes('ro');
}
