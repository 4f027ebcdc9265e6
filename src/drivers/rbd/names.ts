// Names of the RBD driver: driver name, image and journal names, and volume ids that carry the
// cluster, the pool and the volume's uuid, so any later call finds the image without a lookup.
import { createHash } from 'node:crypto';

export const DRIVER_NAME = 'rbd.csi.berth.io';
export const DRIVER_VERSION = '0.1.0';

export const IMAGE_PREFIX = 'csi-vol-';
/** The pool-wide journal object: request name key -> volume uuid. */
export const JOURNAL_DIRECTORY = 'csi.volumes.default';
/** Per-volume journal object, `csi.volume.<uuid>`, holding the request name key. */
export const JOURNAL_VOLUME_PREFIX = 'csi.volume.';
export const JOURNAL_NAME_KEY = 'csi.volname';
export const JOURNAL_IMAGE_KEY = 'csi.imagename';

const VERSION = '0001';
export const MAX_VOLUME_ID_LENGTH = 128;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface VolumeRef {
  clusterID: string;
  pool: string;
  uuid: string;
}

export function imageName(uuid: string): string {
  return `${IMAGE_PREFIX}${uuid}`;
}

/** The journal key of a request name: the name when it is plain, else "_" + a hash (never ambiguous). */
export function nameKey(name: string): string {
  if (SAFE_NAME.test(name)) return name;
  return `_${createHash('sha256').update(name).digest('hex')}`;
}

export function journalDirectoryKey(key: string): string {
  return `${JOURNAL_VOLUME_PREFIX}${key}`;
}

export function journalVolumeObject(uuid: string): string {
  return `${JOURNAL_VOLUME_PREFIX}${uuid}`;
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/** `0001-<len>-<clusterID>-<len>-<pool>-<uuid>`, lengths as 4 hex digits. */
export function composeVolumeId(ref: VolumeRef): string {
  return [VERSION, hex4(ref.clusterID.length), ref.clusterID, hex4(ref.pool.length), ref.pool, ref.uuid].join(
    '-',
  );
}

/** The parts of a volume id of this driver, or undefined for anything else. */
export function parseVolumeId(id: string): VolumeRef | undefined {
  if (id.length > MAX_VOLUME_ID_LENGTH || !id.startsWith(`${VERSION}-`)) return undefined;
  let at = VERSION.length + 1;
  const field = (): string | undefined => {
    const lengthHex = id.slice(at, at + 4);
    if (!/^[0-9a-f]{4}$/.test(lengthHex) || id[at + 4] !== '-') return undefined;
    const length = parseInt(lengthHex, 16);
    const value = id.slice(at + 5, at + 5 + length);
    if (value.length !== length || id[at + 5 + length] !== '-') return undefined;
    at += 5 + length + 1;
    return value;
  };
  const clusterID = field();
  const pool = clusterID === undefined ? undefined : field();
  const uuid = id.slice(at);
  if (!clusterID || !pool || !UUID.test(uuid)) return undefined;
  return { clusterID, pool, uuid };
}

/** A short file name for per-volume node state. */
export function stateKey(volumeId: string): string {
  return createHash('sha256').update(volumeId).digest('hex').slice(0, 32);
}

/** The protected snapshot on the source image that a VolumeSnapshot is, `csi-snap-<uuid>`. */
export const SNAPSHOT_PREFIX = 'csi-snap-';
/** A source image's snapshot that a volume clone was made from, `csi-clone-<new volume uuid>`. */
export const CLONE_SNAPSHOT_PREFIX = 'csi-clone-';
/** A deleted volume's image, kept (renamed) while snapshots of it remain. */
export const DELETED_IMAGE_PREFIX = 'csi-deleted-';
/** The pool-wide snapshot journal: request name key -> the snapshot's record (JSON). */
export const SNAP_JOURNAL_DIRECTORY = 'csi.snaps.default';
/** Per-snapshot journal object, `csi.snap.<uuid>`, holding the request name key. */
export const SNAP_JOURNAL_PREFIX = 'csi.snap.';
export const SNAP_JOURNAL_NAME_KEY = 'csi.snapname';

export function snapshotName(uuid: string): string {
  return `${SNAPSHOT_PREFIX}${uuid}`;
}

export function cloneSnapshotName(uuid: string): string {
  return `${CLONE_SNAPSHOT_PREFIX}${uuid}`;
}

export function deletedImageName(uuid: string): string {
  return `${DELETED_IMAGE_PREFIX}${uuid}`;
}
