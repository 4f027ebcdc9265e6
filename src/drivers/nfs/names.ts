// The NFS driver's name and its volume ids. An id carries everything DeleteVolume needs, so the
// controller keeps no state: `<server>#<share>#<subDir>#<uuid>#<onDelete>` (the field order of
// csi-driver-nfs; uuid is the CO's volume name when subDir was given, keeping ids unique).
import { createHash } from 'node:crypto';

export const DRIVER_NAME = 'nfs.csi.berth.io';
export const DRIVER_VERSION = '0.1.0';
const SEPARATOR = '#';

export type OnDelete = 'delete' | 'retain' | 'archive';
export const ON_DELETE_VALUES: readonly OnDelete[] = ['delete', 'retain', 'archive'];

export interface NfsVolumeRef {
  server: string;
  /** Export path, always starting with "/". */
  share: string;
  /** Directory under the share, relative; "" for the share itself. */
  subDir: string;
  uuid: string;
  onDelete: OnDelete;
}

function trimSlashes(value: string): string {
  return value.replace(/^\/+|\/+$/g, '');
}

export function encodeVolumeId(volume: NfsVolumeRef): string {
  const onDelete = volume.onDelete === 'delete' ? '' : volume.onDelete;
  return [volume.server, trimSlashes(volume.share), volume.subDir, volume.uuid, onDelete].join(SEPARATOR);
}

/** The volume an id names, or undefined for an id this driver never made. */
export function decodeVolumeId(id: string): NfsVolumeRef | undefined {
  const fields = id.split(SEPARATOR);
  if (fields.length < 3 || fields.length > 5) return undefined;
  const [server = '', share = '', subDir = '', uuid = '', onDelete = ''] = fields;
  if (!server) return undefined;
  if (onDelete !== '' && onDelete !== 'retain' && onDelete !== 'archive') return undefined;
  if (subDir.split('/').includes('..') || subDir.startsWith('/')) return undefined;
  return { server, share: '/' + trimSlashes(share), subDir, uuid, onDelete: onDelete || 'delete' };
}

/** `server:/share/subdir` as mount(8) takes it; IPv6 addresses go in brackets. */
export function mountSource(server: string, share: string, subDir: string): string {
  const host = server.includes(':') && !server.startsWith('[') ? `[${server}]` : server;
  const sharePath = '/' + trimSlashes(share);
  const full = subDir ? `${sharePath === '/' ? '' : sharePath}/${trimSlashes(subDir)}` : sharePath;
  return `${host}:${full}`;
}

/** A snapshot lives on its source's share: `<share>/<snapshot dir>/<source>.tar.gz`, as csi-driver-nfs lays it out. */
export interface NfsSnapshotRef {
  server: string;
  share: string;
  /** The directory at the share's root, named after the CO's snapshot name. */
  dir: string;
  /** The source volume's uuid (or its subdirectory, encoded): the archive's base name. */
  src: string;
}

const SAFE_COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** A name that is one plain path component as it is, else a hash of it (never ambiguous: no "~" in plain names). */
export function snapshotDirName(name: string): string {
  if (SAFE_COMPONENT.test(name)) return name;
  return `snapshot~${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

/** What a source volume's archive is called: its uuid, or its subdirectory with "/" encoded. */
export function archiveSource(volume: NfsVolumeRef): string {
  return encodeURIComponent(volume.uuid || volume.subDir);
}

/** `<server>#<share>#<snapshot dir>#<src>`, the field order of csi-driver-nfs's snapshot ids. */
export function encodeSnapshotId(snapshot: NfsSnapshotRef): string {
  return [snapshot.server, trimSlashes(snapshot.share), snapshot.dir, snapshot.src].join(SEPARATOR);
}

export function decodeSnapshotId(id: string): NfsSnapshotRef | undefined {
  const fields = id.split(SEPARATOR);
  if (fields.length !== 4) return undefined;
  const [server = '', share = '', dir = '', src = ''] = fields;
  if (!server || !dir || !src || dir === '.' || dir === '..' || /[/\0]/.test(dir) || /[/\0]/.test(src)) {
    return undefined;
  }
  if (src === '.' || src === '..') return undefined;
  return { server, share: '/' + trimSlashes(share), dir, src };
}
