// One operation per volume (or request name) at a time; a second concurrent call gets ABORTED
// ("operation pending"), which the CSI spec lets a plugin return and COs retry.
import { csiError, status } from '../../csi/errors.js';

export class OperationLocks {
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
