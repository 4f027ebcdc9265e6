// Small files of /proc read whole, synchronously: the kernel makes them in memory on each read.
import { closeSync, openSync, readSync } from 'node:fs';

/** Reused by readProcFile: reads are synchronous, so one read uses it at a time. */
let buffer = Buffer.alloc(16 * 1024);

/**
 * Open, read into a reused buffer until the end, close: about two thirds of what readFileSync
 * costs, which stats the file first (proc files say size 0) and reads into a new 64 KiB buffer
 * each time. The local driver reads /proc/partitions on every DeleteVolume.
 */
export function readProcFile(file: string): string {
  const fd = openSync(file, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const larger = Buffer.alloc(buffer.length * 2);
        buffer.copy(larger);
        buffer = larger;
      }
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) return buffer.toString('latin1', 0, length);
      length += n;
    }
  } finally {
    closeSync(fd);
  }
}
