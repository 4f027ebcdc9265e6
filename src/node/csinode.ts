// What registration writes, decided without IO: the CSINode driver entry (kubelet's
// installDriverToCSINode), the topology labels on the Node, and the legacy node-id annotation.
import type { CSINodeDriver } from '../api/types.js';
import type { NodeGetInfoResponse } from '../csi/types.js';

export const NODE_ID_ANNOTATION = 'csi.volume.kubernetes.io/nodeid';
export const CONTROLLER_MANAGED_ATTACH_ANNOTATION = 'volumes.kubernetes.io/controller-managed-attach-detach';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

export function csiNodeDriverEntry(
  name: string,
  info: Pick<NodeGetInfoResponse, 'node_id' | 'max_volumes_per_node' | 'accessible_topology'>,
): CSINodeDriver {
  const keys = Object.keys(info.accessible_topology?.segments ?? {}).sort();
  const max = Number(info.max_volumes_per_node || 0);
  return {
    name,
    nodeID: info.node_id,
    ...(keys.length > 0 ? { topologyKeys: keys } : {}),
    ...(max > 0 ? { allocatable: { count: max } } : {}),
  };
}

/** The drivers list with `entry` in place of any entry of the same name; undefined if nothing changes. */
export function withDriver(
  drivers: readonly CSINodeDriver[],
  entry: CSINodeDriver,
): CSINodeDriver[] | undefined {
  const existing = drivers.find((d) => d.name === entry.name);
  if (existing && JSON.stringify(existing) === JSON.stringify(entry)) return undefined;
  const rest = drivers.filter((d) => d.name !== entry.name);
  return [...rest, entry].sort((a, b) => a.name.localeCompare(b.name));
}

/** The drivers list without `name`; undefined if it was not there. */
export function withoutDriver(drivers: readonly CSINodeDriver[], name: string): CSINodeDriver[] | undefined {
  if (!drivers.some((d) => d.name === name)) return undefined;
  return drivers.filter((d) => d.name !== name);
}

export function topologyLabels(
  info: Pick<NodeGetInfoResponse, 'accessible_topology'>,
): Record<string, string> {
  return { ...(info.accessible_topology?.segments ?? {}) };
}

/** The legacy `csi.volume.kubernetes.io/nodeid` annotation value with one driver set or removed. */
export function nodeIdAnnotation(
  current: string | undefined,
  driver: string,
  nodeId: string | undefined,
): string {
  let map: Record<string, string> = {};
  try {
    const parsed: unknown = current ? JSON.parse(current) : {};
    if (parsed && typeof parsed === 'object') map = { ...(parsed as Record<string, string>) };
  } catch {
    map = {};
  }
  if (nodeId === undefined) delete map[driver];
  else map[driver] = nodeId;
  return JSON.stringify(Object.fromEntries(Object.entries(map).sort(([a], [b]) => a.localeCompare(b))));
}
