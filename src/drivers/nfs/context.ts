// Everything the NFS driver's handlers use, injected once at start.
import type { Logger } from '../../machinery/logger.js';
import type { NfsClient } from '../../nfs-client/index.js';
import type { Exec } from '../../host/exec.js';
import type { MountInfoReader } from '../../host/mountinfo.js';
import type { OperationLocks } from '../common/operation-locks.js';

/** Opens an NFS session on `server:share` (MOUNT + NFS connections); the caller closes it. */
export type ShareOpener = (server: string, share: string) => Promise<NfsClient>;

export interface NfsDriverContext {
  nodeId: string;
  openShare: ShareOpener;
  exec: Exec;
  readMountInfo: MountInfoReader;
  /** Executable used as `mount -t nfs` (same argv); default mount(8). */
  mountHelper: string;
  /** Deadline of each mount/umount child process. */
  mountTimeoutMs: number;
  locks: OperationLocks;
  /** Sizes asked for per CO volume name, to answer ALREADY_EXISTS for a different size. */
  requested: Map<string, { volumeId: string; capacityBytes: bigint }>;
  /** `server#share` of every share this controller made volumes or snapshots on (for unfiltered ListSnapshots). */
  shares: Set<string>;
  log: Logger;
}
