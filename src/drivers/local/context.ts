// Everything the local driver's handlers use, injected once at start.
import type { Logger } from '../../machinery/logger.js';
import type { FileCopies } from '../../host/file-copy.js';
import type { Filesystems } from '../../host/filesystem.js';
import type { LoopDevices } from '../../host/loop.js';
import type { Mounter } from '../../host/mounter.js';
import type { OperationLocks } from '../common/operation-locks.js';
import type { SnapshotStore } from './snapshot-store.js';
import type { VolumeStore } from './volume-store.js';

export interface LocalDriverContext {
  nodeId: string;
  store: VolumeStore;
  snapshots: SnapshotStore;
  copies: FileCopies;
  loops: LoopDevices;
  mounter: Mounter;
  filesystems: Filesystems;
  locks: OperationLocks;
  log: Logger;
}
