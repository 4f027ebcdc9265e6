// The RBD CSI driver (rbd.csi.berth.io): images in a Ceph pool, mapped on the node with krbd,
// rbd-nbd or rbd-fuse + a loop device. One process runs the identity, controller and node services.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../machinery/logger.js';
import { silentLogger } from '../../machinery/logger.js';
import type { Exec } from '../../host/exec.js';
import { systemExec } from '../../host/exec.js';
import { Filesystems } from '../../host/filesystem.js';
import { LoopDevices } from '../../host/loop.js';
import type { Mounter } from '../../host/mounter.js';
import { SystemMounter } from '../../host/mounter.js';
import { OperationLocks } from '../common/operation-locks.js';
import type { DriverHandle } from '../common/serve-driver.js';
import { serveDriver } from '../common/serve-driver.js';
import { CLIENT_CONF, CephCli } from './ceph-cli.js';
import type { ClusterConfigs, MounterName } from './config.js';
import { loadClusterConfig } from './config.js';
import type { RbdDriverContext } from './context.js';
import { controllerHandlers } from './controller.js';
import { KeyFiles } from './credentials.js';
import { identityHandlers } from './identity.js';
import type { CloneDepthLimits } from './flatten.js';
import { DEFAULT_HARD_CLONE_DEPTH, DEFAULT_SOFT_CLONE_DEPTH, Flattener } from './flatten.js';
import { RbdImages, VolumeJournal } from './images.js';
import { SnapshotJournal } from './snapshot-journal.js';
import { FuseMapper, KernelMapper } from './mappers.js';
import { nodeHandlers } from './node.js';
import { StagedVolumes } from './staged.js';

export const DEFAULT_STATE_DIR = '/var/lib/berth/rbd';

export interface RbdDriverOptions {
  /** `unix:///path/csi.sock` or a plain socket path. */
  endpoint: string;
  nodeId: string;
  /** The cluster config file (clusterID -> monitors); or `clusters` directly. */
  configFile?: string;
  clusters?: ClusterConfigs;
  /** Node state (staged volumes, rbd-fuse mounts, short-lived key files). */
  stateDir?: string;
  /** Mapper when neither the class nor the cluster config names one. Default krbd. */
  defaultMounter?: MounterName;
  /** Clone chain depths at which a new clone is flattened in the background (soft) or before use (hard). */
  cloneDepth?: CloneDepthLimits;
  /** Timeout of each ceph command. */
  cephTimeoutMs?: number;
  exec?: Exec;
  mounter?: Mounter;
  log?: Logger;
}

export type RbdDriverHandle = DriverHandle;

export async function startRbdDriver(options: RbdDriverOptions): Promise<RbdDriverHandle> {
  if (!options.nodeId) throw new Error('rbd driver: nodeId is required');
  const clusters =
    options.clusters ?? (options.configFile ? await loadClusterConfig(options.configFile) : undefined);
  if (!clusters) throw new Error('rbd driver: a cluster config file is required');
  const exec = options.exec ?? systemExec();
  const log = (options.log ?? silentLogger).child({ driver: 'rbd', node: options.nodeId });
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const confPath = path.join(stateDir, 'ceph.conf');
  await fs.writeFile(confPath, CLIENT_CONF, { mode: 0o600 });
  const keyFiles = new KeyFiles(path.join(stateDir, 'keys'));
  await keyFiles.init();
  const staged = new StagedVolumes(path.join(stateDir, 'staged'));
  await staged.init();
  const fuseRoot = path.join(stateDir, 'fuse');
  await fs.mkdir(fuseRoot, { recursive: true, mode: 0o700 });

  const cli = new CephCli({
    exec,
    keyFiles,
    confPath,
    ...(options.cephTimeoutMs === undefined ? {} : { timeoutMs: options.cephTimeoutMs }),
  });
  const mounter = options.mounter ?? new SystemMounter({ exec });
  const loops = new LoopDevices({ exec });
  const images = new RbdImages(cli);
  const cloneDepth = options.cloneDepth ?? { soft: DEFAULT_SOFT_CLONE_DEPTH, hard: DEFAULT_HARD_CLONE_DEPTH };
  if (!(cloneDepth.soft >= 1 && cloneDepth.hard >= cloneDepth.soft)) {
    throw new Error('rbd driver: clone depth limits need 1 <= soft <= hard');
  }
  const ctx: RbdDriverContext = {
    nodeId: options.nodeId,
    clusters,
    cli,
    images,
    journal: new VolumeJournal(cli),
    snapJournal: new SnapshotJournal(cli),
    flattener: new Flattener(images, log),
    cloneDepth,
    mappers: {
      krbd: new KernelMapper({ cli, exec, name: 'krbd' }),
      'rbd-nbd': new KernelMapper({ cli, exec, name: 'rbd-nbd' }),
      'rbd-fuse': new FuseMapper({ cli, loops, mounter }),
    },
    defaultMounter: options.defaultMounter ?? 'krbd',
    staged,
    fuseRoot,
    mounter,
    filesystems: new Filesystems({ exec }),
    exec,
    locks: new OperationLocks(),
    log,
  };
  const driver = await serveDriver(
    options.endpoint,
    { identity: identityHandlers(ctx), controller: controllerHandlers(ctx), node: nodeHandlers(ctx) },
    log,
  );
  log.info('rbd driver serving', { endpoint: driver.endpoint, clusters: clusters.ids() });
  return {
    ...driver,
    // A flatten in flight holds its image open: stopping waits for it, so nothing is left mid-copy.
    shutdown: async () => {
      await driver.shutdown();
      await ctx.flattener.idle();
    },
  };
}
