// Everything the RBD driver's handlers use, injected once at start, plus the lookups they share.
import { CsiError, csiError, status } from '../../csi/errors.js';
import type { Logger } from '../../machinery/logger.js';
import type { Exec } from '../../host/exec.js';
import type { Filesystems } from '../../host/filesystem.js';
import type { Mounter } from '../../host/mounter.js';
import type { OperationLocks } from '../common/operation-locks.js';
import type { CephCli, CephTarget } from './ceph-cli.js';
import { cephCsiError } from './ceph-cli.js';
import type { ClusterConfig, ClusterConfigs, MounterName } from './config.js';
import { resolveCredentials } from './credentials.js';
import type { CloneDepthLimits, Flattener } from './flatten.js';
import type { RbdImages, VolumeJournal } from './images.js';
import type { ImageMapper } from './mappers.js';
import type { VolumeRef } from './names.js';
import { parseVolumeId } from './names.js';
import type { SnapshotJournal } from './snapshot-journal.js';
import type { StagedVolumes } from './staged.js';

export interface RbdDriverContext {
  nodeId: string;
  clusters: ClusterConfigs;
  cli: CephCli;
  images: RbdImages;
  journal: VolumeJournal;
  snapJournal: SnapshotJournal;
  flattener: Flattener;
  cloneDepth: CloneDepthLimits;
  mappers: Record<MounterName, ImageMapper>;
  defaultMounter: MounterName;
  staged: StagedVolumes;
  /** Where rbd-fuse mounts go, one private directory per staged volume. */
  fuseRoot: string;
  mounter: Mounter;
  filesystems: Filesystems;
  exec: Exec;
  locks: OperationLocks;
  log: Logger;
}

/** The parts of a volume id, or NOT_FOUND: an id this driver never made names no volume. */
export function volumeRefOrNotFound(id: string): VolumeRef {
  const ref = parseVolumeId(id);
  if (!ref) throw csiError(status.NOT_FOUND, `volume ${id} is not an RBD volume of this driver`);
  return ref;
}

export function clusterOf(ctx: RbdDriverContext, clusterID: string, code: number): ClusterConfig {
  const cluster = ctx.clusters.get(clusterID);
  if (!cluster) throw csiError(code, `cluster ${clusterID} is not in the driver's cluster config`);
  return cluster;
}

/** Monitors and credentials for a call; `what` names the secret the call should have carried. */
export async function targetFor(
  cluster: ClusterConfig,
  secrets: Record<string, string> | undefined,
  what: string,
): Promise<CephTarget> {
  return { monitors: cluster.monitors, credentials: await resolveCredentials(secrets, cluster, what) };
}

/** Ceph failures become CSI statuses; CsiErrors pass through. */
export async function cephCall<T>(what: string, userID: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof CsiError) throw err;
    throw cephCsiError(err, what, userID);
  }
}
