// Conversions between a content's status (the driver's numbers) and a snapshot's status (what a
// user reads), shared by the snapshot controller's decisions. Pure.
import { quantityFromBytes } from '../api/quantity.js';
import type { VolumeSnapshotContent, VolumeSnapshotStatus } from '../api/snapshot-types.js';

/** RFC 3339 (seconds) of a content's creationTime in nanoseconds. */
export function creationTimeText(nanos: number | undefined): string | undefined {
  if (nanos === undefined || !Number.isFinite(nanos) || nanos <= 0) return undefined;
  return new Date(Math.floor(nanos / 1e6)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The snapshot status a bound content implies (the controller copies, never invents). */
export function snapshotStatusFrom(
  content: VolumeSnapshotContent,
  current: VolumeSnapshotStatus | undefined,
): VolumeSnapshotStatus {
  const status: VolumeSnapshotStatus = {
    ...current,
    boundVolumeSnapshotContentName: content.metadata.name ?? '',
    readyToUse: content.status?.readyToUse ?? false,
  };
  const created = creationTimeText(content.status?.creationTime);
  if (created) status.creationTime = created;
  const bytes = content.status?.restoreSize;
  if (typeof bytes === 'number' && bytes >= 0)
    status.restoreSize = quantityFromBytes(BigInt(bytes)).toString();
  if (content.status?.error) status.error = content.status.error;
  else delete status.error;
  return status;
}
