// Volume sizes as the drivers decide them: a CSI capacity_range is checked, and (local, RBD) becomes whole MiB.
import { csiError, status } from '../../csi/errors.js';
import type { CapacityRange } from '../../csi/types.js';
import { toBigInt } from '../../csi/types.js';

export const MIB = 1024n * 1024n;
export const DEFAULT_VOLUME_BYTES = 1024n * MIB;

function roundUpToMiB(bytes: bigint): bigint {
  return ((bytes + MIB - 1n) / MIB) * MIB;
}

/** A capacity_range's bounds (0 = unset); INVALID_ARGUMENT if negative, OUT_OF_RANGE if required > limit. */
export function checkCapacityRange(range: CapacityRange | null | undefined): {
  required: bigint;
  limit: bigint;
} {
  const required = toBigInt(range?.required_bytes);
  const limit = toBigInt(range?.limit_bytes);
  if (required < 0n || limit < 0n)
    throw csiError(status.INVALID_ARGUMENT, 'capacity_range must not be negative');
  if (limit > 0n && required > limit) {
    throw csiError(status.OUT_OF_RANGE, `required_bytes ${required} exceeds limit_bytes ${limit}`);
  }
  return { required, limit };
}

/** Size of a new (or grown) volume: required rounded up to MiB, within limit; `fallback` when no range. */
export function decideSize(range: CapacityRange | null | undefined, fallback = DEFAULT_VOLUME_BYTES): bigint {
  const { required, limit } = checkCapacityRange(range);
  if (required === 0n && limit === 0n) return fallback;
  if (required === 0n) {
    const size = limit < fallback ? (limit / MIB) * MIB : fallback;
    if (size === 0n)
      throw csiError(status.OUT_OF_RANGE, `limit_bytes ${limit} is below the 1 MiB granularity`);
    return size;
  }
  const size = roundUpToMiB(required);
  if (limit > 0n && size > limit) {
    throw csiError(status.OUT_OF_RANGE, `no multiple of 1 MiB lies between ${required} and ${limit} bytes`);
  }
  return size;
}

/** Does an existing volume of `capacity` satisfy `range`? */
export function sizeSatisfies(capacity: bigint, range: CapacityRange | null | undefined): boolean {
  const required = toBigInt(range?.required_bytes);
  const limit = toBigInt(range?.limit_bytes);
  if (required === 0n && limit === 0n) return true;
  return capacity >= required && (limit === 0n || capacity <= limit);
}

/** NodeExpandVolume: the device, once refreshed, must be at least as large as the CO asked. */
export function requireGrownTo(id: string, size: bigint, range: CapacityRange | null | undefined): void {
  const required = toBigInt(range?.required_bytes);
  if (required > size) {
    throw csiError(status.OUT_OF_RANGE, `volume ${id} has ${size} bytes, ${required} were asked for`);
  }
}
