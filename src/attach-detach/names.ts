// Names the attach/detach protocol derives, as Kubernetes derives them.
import { createHash } from 'node:crypto';

/** VolumeAttachment name: csi-<sha256(volumeHandle + driver + nodeName)>. */
export function attachmentName(volumeHandle: string, driver: string, nodeName: string): string {
  return `csi-${createHash('sha256')
    .update(volumeHandle + driver + nodeName)
    .digest('hex')}`;
}

/** The unique volume name kubelet reports in node.status.volumesInUse. */
export function uniqueVolumeName(driver: string, volumeHandle: string): string {
  return `kubernetes.io/csi/${driver}^${volumeHandle}`;
}

/** external-attacher's finalizer suffix: anything but [a-zA-Z0-9-] becomes '-'; a trailing '-' gets an 'X'. */
export function sanitizeDriverName(driver: string): string {
  const s = driver.replace(/[^a-zA-Z0-9-]/g, '-');
  return s.endsWith('-') ? `${s}X` : s;
}

export function attacherFinalizer(driver: string): string {
  return `external-attacher/${sanitizeDriverName(driver)}`;
}

export const nodeIdAnnotation = 'csi.alpha.kubernetes.io/node-id';
