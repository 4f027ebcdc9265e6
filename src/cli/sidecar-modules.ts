// The controller-side sidecars of one CSI driver (provisioner, attacher, resizer, snapshotter), each
// started from the same dependencies: `berth up` composes them in-process on its own store, `berth
// sidecar NAME` runs one as its own process against any API server. A new sidecar is one more
// entry in `sidecarStarters`.
import { Attacher } from '../attach-detach/attacher.js';
import type { CsiClient } from '../csi/client.js';
import type { Clock } from '../machinery/clock.js';
import { EventRecorder } from '../machinery/events.js';
import type { Logger } from '../machinery/logger.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import { CapacityPublisher } from '../provisioner/capacity.js';
import { Provisioner } from '../provisioner/controller.js';
import { Resizer } from '../resizer/index.js';
import { Snapshotter } from '../snapshot/index.js';
import type { ObjectStore } from '../store/types.js';
import type { RunningComponent } from './component.js';

/** The upstream sidecars' tuning flags, as each controller takes them; absent = the controller's default. */
export interface SidecarTuning {
  /** --timeout: deadline of each driver call. */
  timeoutMs?: number;
  /** --worker-threads */
  workers?: number;
  /** --retry-interval-start / --retry-interval-max: per-object back-off. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** --enable-capacity: publish CSIStorageCapacity objects from the driver's GetCapacity. */
  enableCapacity?: boolean;
  /** --capacity-poll-interval */
  capacityPollIntervalMs?: number;
  /** Where the capacity objects go (upstream: the provisioner pod's namespace, POD_NAMESPACE). */
  capacityNamespace?: string;
}

export interface SidecarDeps {
  store: ObjectStore;
  informers: SharedInformerCache;
  clock: Clock;
  logger: Logger;
  csi: CsiClient;
  driverName: string;
  /** Node-deployment mode (--node-deployment): only claims and volumes of this node. */
  nodeName?: string;
  tuning?: SidecarTuning;
}

export type SidecarStarter = (deps: SidecarDeps) => Promise<RunningComponent>;

function recorder(deps: SidecarDeps, component: string): EventRecorder {
  return new EventRecorder({ store: deps.store, component, clock: deps.clock });
}

function common(deps: SidecarDeps, component: string) {
  const t = deps.tuning ?? {};
  return {
    store: deps.store,
    informers: deps.informers,
    csi: deps.csi,
    driverName: deps.driverName,
    clock: deps.clock,
    log: deps.logger.child({ driver: deps.driverName, component }),
    ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}),
    ...(t.workers !== undefined ? { workers: t.workers } : {}),
  };
}

function backoff(deps: SidecarDeps) {
  const t = deps.tuning ?? {};
  return {
    ...(t.retryBaseMs !== undefined ? { retryBaseMs: t.retryBaseMs } : {}),
    ...(t.retryMaxMs !== undefined ? { retryMaxMs: t.retryMaxMs } : {}),
  };
}

/** The provisioner's capacity publishing, when --enable-capacity asks for it. */
async function startCapacity(deps: SidecarDeps): Promise<CapacityPublisher | undefined> {
  const t = deps.tuning ?? {};
  if (!t.enableCapacity) return undefined;
  const publisher = new CapacityPublisher({
    store: deps.store,
    informers: deps.informers,
    csi: deps.csi,
    driverName: deps.driverName,
    clock: deps.clock,
    log: deps.logger.child({ driver: deps.driverName, component: 'csi-provisioner' }),
    ...node(deps),
    ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}),
    ...(t.capacityPollIntervalMs !== undefined ? { pollIntervalMs: t.capacityPollIntervalMs } : {}),
    ...(t.capacityNamespace !== undefined ? { namespace: t.capacityNamespace } : {}),
  });
  await publisher.start();
  return publisher;
}

const node = (deps: SidecarDeps) => (deps.nodeName !== undefined ? { nodeName: deps.nodeName } : {});

export const sidecarStarters = {
  provisioner: async (deps: SidecarDeps): Promise<RunningComponent> => {
    const provisioner = new Provisioner({
      ...common(deps, 'csi-provisioner'),
      ...backoff(deps),
      ...node(deps),
      // events name the provisioner, and in node deployment its node, as upstream
      recorder: recorder(
        deps,
        deps.nodeName === undefined ? deps.driverName : `${deps.driverName}_${deps.nodeName}`,
      ),
    });
    await provisioner.start();
    const capacity = await startCapacity(deps);
    return {
      name: `csi-provisioner/${deps.driverName}`,
      stop: async () => {
        await capacity?.stop();
        await provisioner.stop();
      },
    };
  },
  attacher: async (deps: SidecarDeps): Promise<RunningComponent> => {
    // the attacher's back-off is its work queue's own
    const attacher = new Attacher({
      ...common(deps, 'csi-attacher'),
      recorder: recorder(deps, 'csi-attacher'),
    });
    await attacher.start();
    return { name: `csi-attacher/${deps.driverName}`, stop: () => attacher.stop() };
  },
  resizer: async (deps: SidecarDeps): Promise<RunningComponent> => {
    const resizer = new Resizer({
      ...common(deps, 'csi-resizer'),
      ...backoff(deps),
      ...node(deps),
      recorder: recorder(deps, 'external-resizer'),
    });
    await resizer.start();
    return { name: `csi-resizer/${deps.driverName}`, stop: () => resizer.stop() };
  },
  snapshotter: async (deps: SidecarDeps): Promise<RunningComponent> => {
    const nodeName = deps.nodeName;
    const snapshotter = new Snapshotter({
      ...common(deps, 'csi-snapshotter'),
      ...backoff(deps),
      // node deployment: a node-local driver's handles begin with its node's name (berth's local driver)
      ...(nodeName !== undefined
        ? { ownsHandle: (handle: string) => handle.startsWith(`${nodeName}/`) }
        : {}),
      recorder: recorder(deps, 'csi-snapshotter'),
    });
    await snapshotter.start();
    return { name: `csi-snapshotter/${deps.driverName}`, stop: () => snapshotter.stop() };
  },
} satisfies Record<string, SidecarStarter>;

export type SidecarName = keyof typeof sidecarStarters;
export const SIDECAR_NAMES = Object.keys(sidecarStarters) as SidecarName[];
