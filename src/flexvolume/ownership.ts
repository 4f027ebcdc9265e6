// fsGroup for a freshly mounted, writable volume, as kubelet's SetVolumeOwnership does it: every file
// and directory gets the group, group read/write (directories also execute and setgid, so new files
// inherit the group). Symlinks are re-grouped but never followed.
import { promises as fs } from 'node:fs';
import path from 'node:path';

export async function applyFsGroup(dir: string, gid: number): Promise<void> {
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop() ?? dir;
    const st = await fs.lstat(current);
    await fs.lchown(current, st.uid, gid);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) {
      await fs.chmod(current, (st.mode & 0o7777) | 0o2070);
      for (const name of await fs.readdir(current)) stack.push(path.join(current, name));
    } else {
      await fs.chmod(current, (st.mode & 0o7777) | 0o060);
    }
  }
}
