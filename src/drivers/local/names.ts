// Names of the local driver: driver name, topology key, volume ids and the file names behind them.
import { createHash } from 'node:crypto';
import { LOCAL_DRIVER_NAME } from '../../volume/node-local.js';

export const DRIVER_NAME = LOCAL_DRIVER_NAME;
export const DRIVER_VERSION = '0.1.0';
export const TOPOLOGY_KEY = 'topology.local.csi.berth.io/node';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * The on-disk key of a volume name: the name itself when it is a short, safe file name, otherwise
 * "_" + a hash. Safe names never start with "_", so the two forms cannot collide.
 */
export function volumeKey(name: string): string {
  if (SAFE_NAME.test(name)) return name;
  return `_${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

export function volumeId(nodeId: string, key: string): string {
  return `${nodeId}/${key}`;
}

/** The key of a volume id of this node, or undefined when the id is not one of ours. */
export function keyOfVolumeId(nodeId: string, id: string): string | undefined {
  const prefix = `${nodeId}/`;
  if (!id.startsWith(prefix)) return undefined;
  const key = id.slice(prefix.length);
  return SAFE_NAME.test(key) || /^_[0-9a-f]{40}$/.test(key) ? key : undefined;
}

export function nodeSegments(nodeId: string): Record<string, string> {
  return { [TOPOLOGY_KEY]: nodeId };
}

/** Snapshot ids live beside volume ids: a volume key never contains "/", so the two cannot collide. */
export function snapshotId(nodeId: string, key: string): string {
  return `${nodeId}/snapshots/${key}`;
}

/** The key of a snapshot id of this node, or undefined when the id is not one of ours. */
export function keyOfSnapshotId(nodeId: string, id: string): string | undefined {
  const prefix = `${nodeId}/snapshots/`;
  if (!id.startsWith(prefix)) return undefined;
  const key = id.slice(prefix.length);
  return SAFE_NAME.test(key) || /^_[0-9a-f]{40}$/.test(key) ? key : undefined;
}
