// The local CSI driver (local.csi.berth.io): volumes are sparse files on this node, served through
// loop devices, formatted on first stage, and grown online. One process runs the identity,
// controller and node services for its own node.
import type { Logger } from '../../machinery/logger.js';
import { silentLogger } from '../../machinery/logger.js';
import type { Exec } from '../../host/exec.js';
import { systemExec } from '../../host/exec.js';
import { FileCopies } from '../../host/file-copy.js';
import { Filesystems } from '../../host/filesystem.js';
import { LoopDevices } from '../../host/loop.js';
import type { Mounter } from '../../host/mounter.js';
import { SystemMounter } from '../../host/mounter.js';
import { OperationLocks } from '../common/operation-locks.js';
import type { DriverHandle } from '../common/serve-driver.js';
import { serveDriver } from '../common/serve-driver.js';
import type { LocalDriverContext } from './context.js';
import { controllerHandlers } from './controller.js';
import { identityHandlers } from './identity.js';
import { nodeHandlers } from './node.js';
import { SnapshotStore } from './snapshot-store.js';
import { VolumeStore } from './volume-store.js';

export interface LocalDriverOptions {
  /** `unix:///path/csi.sock` or a plain socket path. */
  endpoint: string;
  nodeId: string;
  /** Where backing files and their metadata live. */
  dataDir: string;
  exec?: Exec;
  mounter?: Mounter;
  loops?: LoopDevices;
  filesystems?: Filesystems;
  log?: Logger;
}

export type LocalDriverHandle = DriverHandle;

export async function startLocalDriver(options: LocalDriverOptions): Promise<LocalDriverHandle> {
  if (!options.nodeId) throw new Error('local driver: nodeId is required');
  const exec = options.exec ?? systemExec();
  const log = (options.log ?? silentLogger).child({ driver: 'local', node: options.nodeId });
  const store = new VolumeStore({ dataDir: options.dataDir, log });
  await store.init();
  try {
    return await serveLocalDriver(options, store, log, exec);
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function serveLocalDriver(
  options: LocalDriverOptions,
  store: VolumeStore,
  log: Logger,
  exec: Exec,
): Promise<LocalDriverHandle> {
  const snapshots = new SnapshotStore({ dataDir: options.dataDir });
  await snapshots.init();
  const ctx: LocalDriverContext = {
    nodeId: options.nodeId,
    store,
    snapshots,
    copies: new FileCopies({ exec }),
    loops: options.loops ?? new LoopDevices({ exec }),
    mounter: options.mounter ?? new SystemMounter({ exec }),
    filesystems: options.filesystems ?? new Filesystems({ exec }),
    locks: new OperationLocks((key) => `volume ${key}`),
    log,
  };
  const driver = await serveDriver(
    options.endpoint,
    { identity: identityHandlers(ctx), controller: controllerHandlers(ctx), node: nodeHandlers(ctx) },
    log,
  );
  log.info('local driver serving', { endpoint: driver.endpoint, dataDir: store.dataDir });
  return {
    ...driver,
    async shutdown() {
      await driver.shutdown();
      await store.close();
    },
  };
}
