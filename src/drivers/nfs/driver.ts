// The NFS CSI driver (nfs.csi.berth.io): volumes are directories on NFS exports. One process serves
// identity, controller and node; the controller talks NFSv3 itself, the node mounts with mount(8)
// or the configured mount helper.
import type { Logger } from '../../machinery/logger.js';
import { silentLogger } from '../../machinery/logger.js';
import type { RpcAddress } from '../../nfs-client/index.js';
import { NfsClient } from '../../nfs-client/index.js';
import type { Exec } from '../../host/exec.js';
import { systemExec } from '../../host/exec.js';
import type { MountInfoReader } from '../../host/mountinfo.js';
import { procMountInfoReader } from '../../host/mountinfo.js';
import { OperationLocks } from '../common/operation-locks.js';
import type { DriverHandle } from '../common/serve-driver.js';
import { serveDriver } from '../common/serve-driver.js';
import type { NfsDriverContext, ShareOpener } from './context.js';
import { controllerHandlers } from './controller.js';
import { identityHandlers } from './identity.js';
import { nodeHandlers } from './node.js';

export const DEFAULT_MOUNT_TIMEOUT_MS = 110_000;

export interface NfsDriverOptions {
  /** `unix:///path/csi.sock` or a plain socket path. */
  endpoint: string;
  nodeId: string;
  /** Executable used instead of `mount -t nfs`, with the same argv. */
  mountHelper?: string;
  mountTimeoutMs?: number;
  /** Fixed server ports; asked from the portmapper (TCP 111 on the server) when absent. */
  nfsPort?: number;
  mountPort?: number;
  portmapper?: RpcAddress;
  connectTimeoutMs?: number;
  callTimeoutMs?: number;
  /** Replaces the NFS client connection (tests). */
  openShare?: ShareOpener;
  exec?: Exec;
  readMountInfo?: MountInfoReader;
  log?: Logger;
}

export type NfsDriverHandle = DriverHandle;

export function defaultShareOpener(options: NfsDriverOptions): ShareOpener {
  return (server, share) =>
    NfsClient.connect(
      {
        host: server,
        ...(options.nfsPort !== undefined ? { nfsPort: options.nfsPort } : {}),
        ...(options.mountPort !== undefined ? { mountPort: options.mountPort } : {}),
        ...(options.portmapper !== undefined ? { portmapper: options.portmapper } : {}),
        ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
        ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
      },
      share,
    );
}

export async function startNfsDriver(options: NfsDriverOptions): Promise<NfsDriverHandle> {
  if (!options.nodeId) throw new Error('nfs driver: nodeId is required');
  const log = (options.log ?? silentLogger).child({ driver: 'nfs', node: options.nodeId });
  const ctx: NfsDriverContext = {
    nodeId: options.nodeId,
    openShare: options.openShare ?? defaultShareOpener(options),
    exec: options.exec ?? systemExec(),
    readMountInfo: options.readMountInfo ?? procMountInfoReader(),
    mountHelper: options.mountHelper ?? 'mount',
    mountTimeoutMs: options.mountTimeoutMs ?? DEFAULT_MOUNT_TIMEOUT_MS,
    locks: new OperationLocks(),
    requested: new Map(),
    shares: new Set(),
    log,
  };
  const driver = await serveDriver(
    options.endpoint,
    { identity: identityHandlers(), controller: controllerHandlers(ctx), node: nodeHandlers(ctx) },
    log,
  );
  log.info('nfs driver serving', { endpoint: driver.endpoint, mountHelper: ctx.mountHelper });
  return driver;
}
