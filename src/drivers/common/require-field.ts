// The INVALID_ARGUMENT check every driver makes on the string fields a CSI request must carry.
import { csiError, status } from '../../csi/errors.js';

export function requireField(value: string | undefined, field: string): string {
  if (!value) throw csiError(status.INVALID_ARGUMENT, `${field} is required`);
  return value;
}
