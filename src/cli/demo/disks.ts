// The demo's "disks": one small sparse file per node, on a loop device, formatted ext4 and
// mounted where examples/demo/02-local-pvs.yaml expects it. Everything made here is undone by
// removeDisks, device by device (loop devices are shared machine-wide).
import { mkdir, rm, rmdir, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Exec } from '../../host/index.js';

export const DEMO_DISK_ROOT = '/var/lib/berth-demo/disks';

export interface DemoDisk {
  node: string;
  backingFile: string;
  device: string;
  mountPoint: string;
}

export async function createDisks(
  exec: Exec,
  workDir: string,
  nodes: readonly string[],
): Promise<DemoDisk[]> {
  const disks: DemoDisk[] = [];
  try {
    for (const node of nodes) {
      const backingFile = join(workDir, `${node}-disk1.img`);
      await writeFile(backingFile, '');
      await truncate(backingFile, 64 * 1024 * 1024); // sparse: takes no space until written
      const { stdout } = await exec.run('losetup', ['-f', '--show', backingFile]);
      const device = stdout.trim();
      const mountPoint = join(DEMO_DISK_ROOT, node, 'disk1');
      disks.push({ node, backingFile, device, mountPoint: '' });
      await exec.run('mkfs.ext4', ['-q', '-F', device]);
      await mkdir(mountPoint, { recursive: true });
      await exec.run('mount', [device, mountPoint]);
      disks[disks.length - 1] = { node, backingFile, device, mountPoint };
    }
    return disks;
  } catch (err) {
    await removeDisks(exec, disks);
    throw err;
  }
}

export async function removeDisks(exec: Exec, disks: readonly DemoDisk[]): Promise<void> {
  for (const disk of disks) {
    if (disk.mountPoint) {
      await exec.run('umount', [disk.mountPoint]).catch(() => undefined);
      await rmdir(disk.mountPoint).catch(() => undefined);
      await rmdir(dirname(disk.mountPoint)).catch(() => undefined);
    }
    await exec.run('losetup', ['-d', disk.device]).catch(() => undefined);
    await rm(disk.backingFile, { force: true });
  }
  await rmdir(DEMO_DISK_ROOT).catch(() => undefined);
  await rmdir(dirname(DEMO_DISK_ROOT)).catch(() => undefined);
}
