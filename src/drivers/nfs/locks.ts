// One operation per key (volume name, volume id or target path) at a time; a concurrent call gets
// ABORTED ("operation pending"), which the CSI spec allows and COs retry.
import { csiError, status } from '../../csi/errors.js';

export class KeyedLocks {
  private readonly held = new Set<string>();

  async with<T>(key: string, work: () => Promise<T>): Promise<T> {
    if (this.held.has(key)) throw csiError(status.ABORTED, `an operation is pending for ${key}`);
    this.held.add(key);
    try {
      return await work();
    } finally {
      this.held.delete(key);
    }
  }
}
