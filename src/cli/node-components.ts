// The per-node half of an embedded berth: for each node name, a node agent with its own
// kubelet-style root directory, the built-in local CSI driver serving on that node's plugin
// socket, and a provisioner and resizer for it in node-deployment mode (local volumes are created on the
// node the claim was scheduled to). Several nodes can share one host, each in its own root.
// FlexVolume drivers are found under each node's <rootDir>/volume-plugins; those that attach are
// attached by the attach/detach controller through the node's FlexVolume host (see components.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { CSIDriver } from '../api/types.js';
import { CsiClient } from '../csi/client.js';
import { DRIVER_NAME as LOCAL_DRIVER, startLocalDriver } from '../drivers/local/index.js';
import { EventRecorder } from '../machinery/events.js';
import { type DriverEndpoint, NodeAgent } from '../node/index.js';
import { sidecarStarters } from './sidecar-modules.js';
import type { ComponentContext, NodeSpec, RunningComponent } from './component.js';

/**
 * The CSIDriver object of the local driver: node-local, so nothing to attach; it publishes its
 * free space per node (storageCapacity), so the scheduler only picks nodes with room. A driver
 * object stored by an older berth gets the flag.
 */
async function ensureLocalCsiDriver(deps: ComponentContext): Promise<void> {
  const spec = { attachRequired: false, podInfoOnMount: false, storageCapacity: true };
  const driver: CSIDriver = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'CSIDriver',
    metadata: { name: LOCAL_DRIVER },
    spec: { ...spec, volumeLifecycleModes: ['Persistent'] },
  };
  try {
    await deps.store.create(K.csidriver, driver);
  } catch (e) {
    if (!isStatusError(e, 'AlreadyExists')) throw e;
    const stored = await deps.store.get<CSIDriver>(K.csidriver, undefined, LOCAL_DRIVER);
    if (stored.spec.storageCapacity !== true)
      await deps.store.update(K.csidriver, { ...stored, spec: { ...stored.spec, storageCapacity: true } });
  }
}

/** How the nodes run beside their control plane. */
export interface NodeOptions {
  /**
   * Who attaches attachable flex volumes: 'controller' (the attach/detach controller in this
   * process, through the agent's FlexVolume host; default) or 'node' (the agent itself, for a node
   * whose control plane runs elsewhere).
   */
  flexAttach?: 'node' | 'controller';
  /**
   * Run the built-in local driver and its node-local sidecars on each node (as root; default true).
   * Off, the agent only calls drivers registered through plugins_registry or --csi-driver, as a kubelet.
   */
  localDriver?: boolean;
}

async function startNode(
  deps: ComponentContext,
  node: NodeSpec,
  withLocalDriver: boolean,
  started: RunningComponent[],
  thirdParty: readonly DriverEndpoint[],
  options: NodeOptions,
): Promise<NodeAgent> {
  const log = deps.logger.child({ node: node.name });
  const drivers: DriverEndpoint[] = [...thirdParty];
  if (withLocalDriver) {
    const socketDir = join(node.rootDir, 'plugins', LOCAL_DRIVER);
    await mkdir(socketDir, { recursive: true });
    const endpoint = `unix://${join(socketDir, 'csi.sock')}`;
    const driver = await startLocalDriver({
      endpoint,
      nodeId: node.name,
      dataDir: join(node.rootDir, 'local-volumes'),
      log: log.child({ component: 'local-driver' }),
    });
    started.push({ name: `local-driver/${node.name}`, stop: () => driver.shutdown() });
    drivers.push({ name: LOCAL_DRIVER, endpoint });
    const csi = new CsiClient(endpoint, { driverName: LOCAL_DRIVER });
    const sidecarDeps = {
      ...deps,
      csi,
      driverName: LOCAL_DRIVER,
      nodeName: node.name,
      logger: log,
      tuning: { enableCapacity: true },
    };
    const sidecars: RunningComponent[] = [];
    for (const name of ['provisioner', 'resizer', 'snapshotter'] as const)
      sidecars.push(await sidecarStarters[name](sidecarDeps));
    started.push({
      name: `provisioner/${node.name}`,
      stop: async () => {
        for (const sidecar of sidecars.reverse()) await sidecar.stop();
        csi.close();
      },
    });
  }
  const agent = new NodeAgent({
    store: deps.store,
    informers: deps.informers,
    nodeName: node.name,
    rootDir: node.rootDir,
    clock: deps.clock,
    log: log.child({ component: 'node-agent' }),
    recorder: new EventRecorder({
      store: deps.store,
      component: 'berth-node',
      host: node.name,
      clock: deps.clock,
    }),
    drivers,
    flexAttach: options.flexAttach ?? 'controller',
  });
  await agent.start();
  started.push({ name: `node-agent/${node.name}`, stop: () => agent.stop() });
  return agent;
}

/**
 * Starts every node, appending to `started` as it goes (so a failure part-way leaves the caller
 * able to stop what did start). The local driver runs only as root: it needs loop devices and mounts.
 * Returns the agents by node name: their FlexVolume hosts attach for the attach/detach controller.
 */
export async function startNodes(
  deps: ComponentContext,
  nodes: readonly NodeSpec[],
  started: RunningComponent[],
  thirdParty: readonly DriverEndpoint[] = [],
  options: NodeOptions = {},
): Promise<ReadonlyMap<string, NodeAgent>> {
  const wanted = (options.localDriver ?? true) && nodes.length > 0;
  const asRoot = process.getuid?.() === 0;
  if (wanted && !asRoot) {
    deps.logger.warn('not running as root: the local CSI driver (loop devices, mounts) is not started');
  }
  const withLocalDriver = wanted && asRoot;
  if (withLocalDriver) await ensureLocalCsiDriver(deps);
  const agents = new Map<string, NodeAgent>();
  for (const node of nodes)
    agents.set(node.name, await startNode(deps, node, withLocalDriver, started, thirdParty, options));
  return agents;
}
