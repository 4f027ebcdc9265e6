// One lock table for every driver: one operation per key at a time; a concurrent call gets ABORTED
// ("operation pending"), which the CSI spec lets a plugin return and COs retry.
import { csiError, status } from '../../csi/errors.js';

export class OperationLocks {
  private readonly held = new Set<string>();
  private readonly describe: (key: string) => string;

  /** `describe` names a key in the ABORTED message (the local driver says "volume <key>"). */
  constructor(describe: (key: string) => string = (key) => key) {
    this.describe = describe;
  }

  async with<T>(key: string, work: () => Promise<T>): Promise<T> {
    if (this.held.has(key))
      throw csiError(status.ABORTED, `an operation is pending for ${this.describe(key)}`);
    this.held.add(key);
    try {
      return await work();
    } finally {
      this.held.delete(key);
    }
  }
}
