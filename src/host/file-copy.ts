// Point-in-time copies of backing files: a sparse copy that shares blocks (reflink) where the
// host filesystem can, and a filesystem freeze around it so a mounted filesystem is consistent.
import type { Exec } from './exec.js';

export class FileCopies {
  private readonly exec: Exec;

  constructor(options: { exec: Exec }) {
    this.exec = options.exec;
  }

  /** Copies `source` to `target`: reflinked when the filesystem supports it, holes kept as holes. */
  async copySparse(source: string, target: string): Promise<void> {
    await this.exec.run('cp', ['--reflink=auto', '--sparse=always', '--', source, target]);
  }

  /**
   * Runs `work` with the filesystem mounted at `mountPoint` frozen (fsfreeze -f: dirty data is
   * flushed and writers wait), then thaws it, also when `work` fails.
   */
  async whileFrozen<T>(mountPoint: string, work: () => Promise<T>): Promise<T> {
    await this.exec.run('fsfreeze', ['--freeze', mountPoint]);
    try {
      return await work();
    } finally {
      await this.exec.run('fsfreeze', ['--unfreeze', mountPoint]);
    }
  }
}
