// Local disk discovery decisions (PURE): disks found on this node + the PVs that exist -> PVs to
// create and released volumes to scrub and delete. The PV name is a hash of path, node and class,
// so a disk keeps its PV name across rescans, restarts and reclaim cycles.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { PersistentVolume, VolumeMode } from '../../api/types.js';
import type { ResolvedDiscoveryClass } from './config.js';

export const PROVISIONED_BY_ANNOTATION = 'pv.kubernetes.io/provisioned-by';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** The provisioner name discovery writes on its PVs (local-static-provisioner's useNodeNameOnly form). */
export function discoveryProvisionerName(nodeName: string): string {
  return `local-volume-provisioner-${nodeName}`;
}

/** local-pv-<first 8 hex of sha256(path + node + class)>. */
export function discoveredVolumeName(diskPath: string, nodeName: string, className: string): string {
  const hex = createHash('sha256')
    .update(diskPath + nodeName + className)
    .digest('hex');
  return `local-pv-${hex.slice(0, 8)}`;
}

const KI = 1024;
const MI = KI * KI;
const GI = MI * KI;

/** Rounds down to Gi from 10 Gi up, to Mi from 10 Mi up, else to Ki: capacity never overstated. */
export function roundDownCapacity(bytes: number): string {
  if (bytes >= 10 * GI) return `${Math.floor(bytes / GI)}Gi`;
  if (bytes >= 10 * MI) return `${Math.floor(bytes / MI)}Mi`;
  return `${Math.floor(bytes / KI)}Ki`;
}

export interface DiscoveredDisk {
  className: string;
  /** Absolute path of the entry under the class's hostDir. */
  path: string;
  capacityBytes: number;
  volumeMode: VolumeMode;
}

export interface DiscoveryView {
  nodeName: string;
  classes: readonly ResolvedDiscoveryClass[];
  disks: readonly DiscoveredDisk[];
  volumes: readonly PersistentVolume[];
  /** PV names whose disks are being scrubbed right now. */
  cleaning: ReadonlySet<string>;
}

export type DiscoveryAction =
  | { kind: 'Create'; volume: PersistentVolume }
  | {
      kind: 'Reclaim';
      pvName: string;
      uid: string | undefined;
      path: string;
      hostDir: string;
      volumeMode: VolumeMode;
    };

export function discoveredVolume(disk: DiscoveredDisk, cls: ResolvedDiscoveryClass, nodeName: string) {
  const volume: PersistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: discoveredVolumeName(disk.path, nodeName, cls.className),
      annotations: { [PROVISIONED_BY_ANNOTATION]: discoveryProvisionerName(nodeName) },
    },
    spec: {
      capacity: { storage: roundDownCapacity(disk.capacityBytes) },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: cls.reclaimPolicy,
      storageClassName: cls.className,
      volumeMode: disk.volumeMode,
      local: { path: disk.path },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [nodeName] }] },
          ],
        },
      },
    },
  };
  return volume;
}

function isInside(dir: string, p: string): boolean {
  return path.dirname(p) === dir;
}

export function decideDiscovery(view: DiscoveryView): DiscoveryAction[] {
  const actions: DiscoveryAction[] = [];
  const byName = new Map(view.volumes.map((v) => [v.metadata.name ?? '', v]));
  const provisioner = discoveryProvisionerName(view.nodeName);

  for (const pv of view.volumes) {
    const name = pv.metadata.name ?? '';
    if (pv.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] !== provisioner) continue;
    if (pv.status?.phase !== 'Released' || pv.spec.persistentVolumeReclaimPolicy !== 'Delete') continue;
    if (view.cleaning.has(name) || !pv.spec.local) continue;
    const diskPath = pv.spec.local.path;
    // only disks of a class still configured, and only directly under its hostDir
    const cls = view.classes.find(
      (c) => c.className === pv.spec.storageClassName && isInside(c.hostDir, diskPath),
    );
    if (!cls) continue;
    actions.push({
      kind: 'Reclaim',
      pvName: name,
      uid: pv.metadata.uid,
      path: diskPath,
      hostDir: cls.hostDir,
      volumeMode: pv.spec.volumeMode ?? 'Filesystem',
    });
  }

  for (const disk of view.disks) {
    const cls = view.classes.find((c) => c.className === disk.className);
    if (!cls) continue;
    const name = discoveredVolumeName(disk.path, view.nodeName, cls.className);
    if (byName.has(name) || view.cleaning.has(name)) continue;
    actions.push({ kind: 'Create', volume: discoveredVolume(disk, cls, view.nodeName) });
  }
  return actions;
}
