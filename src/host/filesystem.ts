// Filesystems on block devices: probe (blkid), create (mkfs) and grow online (resize2fs, xfs_growfs).
import { promises as fs } from 'node:fs';
import type { Exec } from './exec.js';

export const SUPPORTED_FS_TYPES = ['ext4', 'ext3', 'xfs'] as const;
export type SupportedFsType = (typeof SUPPORTED_FS_TYPES)[number];

export function isSupportedFsType(value: string): value is SupportedFsType {
  return (SUPPORTED_FS_TYPES as readonly string[]).includes(value);
}

export class Filesystems {
  private readonly exec: Exec;

  constructor(options: { exec: Exec }) {
    this.exec = options.exec;
  }

  /** The filesystem type on `device`, or undefined when blkid finds none (exit code 2). */
  async probe(device: string): Promise<string | undefined> {
    const { stdout, exitCode } = await this.exec.run('blkid', ['-p', '-o', 'value', '-s', 'TYPE', device], {
      okExitCodes: [2],
    });
    if (exitCode === 2) return undefined;
    return stdout.trim() || undefined;
  }

  /** True when the first `bytes` of `device` are all zero: a device nothing was ever written to there. */
  async startsZeroed(device: string, bytes = 1024 * 1024): Promise<boolean> {
    const handle = await fs.open(device, 'r');
    try {
      // A regular file with no blocks allocated is all hole, so all zeros: no need to read it.
      const stat = await handle.stat();
      if (stat.isFile() && stat.blocks === 0) return true;
      const buffer = Buffer.alloc(bytes);
      const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
      return buffer.subarray(0, bytesRead).equals(Buffer.alloc(bytesRead));
    } finally {
      await handle.close();
    }
  }

  async format(device: string, fsType: SupportedFsType): Promise<void> {
    if (fsType === 'xfs') {
      await this.exec.run('mkfs.xfs', ['-q', '-f', device]);
      return;
    }
    // The backing file is sparse and fresh: discarding it again only costs time.
    await this.exec.run(`mkfs.${fsType}`, ['-q', '-F', '-E', 'nodiscard', device]);
  }

  /** Size of an ext2/3/4 filesystem from its superblock (dumpe2fs -h). */
  async extSizeBytes(device: string): Promise<bigint> {
    const { stdout } = await this.exec.run('dumpe2fs', ['-h', device]);
    const field = (name: string) => {
      const match = new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(stdout);
      if (!match?.[1]) throw new Error(`dumpe2fs -h ${device} shows no "${name}"`);
      return BigInt(match[1]);
    };
    return field('Block count') * field('Block size');
  }

  /** Size of the data section of the xfs filesystem mounted at `mountPoint` (xfs_info). */
  async xfsSizeBytes(mountPoint: string): Promise<bigint> {
    const { stdout } = await this.exec.run('xfs_info', [mountPoint]);
    const match = /^data\s+=\s*bsize=(\d+)\s+blocks=(\d+)/m.exec(stdout);
    if (!match?.[1] || !match[2]) throw new Error(`xfs_info ${mountPoint} shows no data section size`);
    return BigInt(match[1]) * BigInt(match[2]);
  }

  /** Grows an unmounted ext filesystem: resize2fs wants a freshly checked filesystem first. */
  async growExtOffline(device: string): Promise<void> {
    await this.exec.run('e2fsck', ['-f', '-p', device], { okExitCodes: [1] });
    await this.exec.run('resize2fs', [device]);
  }

  /** Grows the filesystem to fill its (already grown) device; xfs grows through its mount point. */
  async grow(device: string, fsType: string, mountPoint: string): Promise<void> {
    if (fsType === 'xfs') {
      await this.exec.run('xfs_growfs', [mountPoint]);
      return;
    }
    if (fsType === 'ext4' || fsType === 'ext3' || fsType === 'ext2') {
      await this.exec.run('resize2fs', [device]);
      return;
    }
    throw new Error(`growing ${fsType} is not supported`);
  }
}
