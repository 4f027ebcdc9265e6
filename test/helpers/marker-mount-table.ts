// STAND-IN for /proc/self/mountinfo in tests with the mock CSI driver: the mock driver does not
// mount, it leaves a `.mock-volume` marker in every directory it "mounted"; those directories are
// reported as mount points.
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function markerMountTable(root: string) {
  return async () => {
    let entries: string[] = [];
    try {
      entries = await readdir(root, { recursive: true });
    } catch {
      return [];
    }
    return entries
      .filter((e) => e.endsWith('.mock-volume'))
      .map((e) => ({ mountPoint: dirname(join(root, e)) }));
  };
}
