// The background components: the control plane's controllers (one set, for `berth up` and for
// `berth controller-manager`) and, in embedded mode, the node agents. Each is started with the
// same dependencies and returns something that stops it.
import { kinds } from '../api/kinds.js';
import { AttachDetachController } from '../attach-detach/controller.js';
import { EventExpiry } from '../machinery/event-ttl.js';
import { EventRecorder } from '../machinery/events.js';
import { PvController } from '../pv-controller/controller.js';
import { FsRecycler } from '../pv-controller/recycler.js';
import { Scheduler } from '../scheduler/controller.js';
import { NamespaceController } from '../namespaces/index.js';
import { NodeLifecycleController, TaintEvictionController } from '../node-lifecycle/index.js';
import { StatefulSetController } from '../workloads/controller.js';
import { AppsControllers } from '../workloads/apps-controller.js';
import { CsiClient } from '../csi/client.js';
import type { DriverEndpoint, NodeAgent } from '../node/index.js';
import { sidecarStarters } from './sidecar-modules.js';
import { SnapshotController } from '../snapshot/index.js';
import type { ComponentContext, ComponentDeps, RunningComponent } from './component.js';
import { startNodes } from './node-components.js';
import type { Logger } from '../machinery/logger.js';
import { SharedInformerCache } from '../machinery/shared-cache.js';
import { GarbageCollector } from '../store/gc.js';

/** Starts a controller (its caches synced) and names it for the stop at the end. */
async function started(
  name: string,
  controller: { start(): Promise<void>; stop(): Promise<void> },
): Promise<RunningComponent> {
  await controller.start();
  return { name, stop: () => controller.stop() };
}

/**
 * Started after the controllers: a kind they keep an informer of reaches the collector through
 * that informer, the others through watches of its own.
 */
function startGarbageCollector(deps: ComponentContext): RunningComponent {
  const log = deps.logger.child({ component: 'garbage-collector' });
  const gc = new GarbageCollector({
    store: deps.store,
    kinds,
    changesFrom: (kind) => deps.informers.existing(kind),
    onError: (err) => log.warn('garbage collection pass failed', { err }),
  });
  gc.start();
  return { name: 'garbage-collector', stop: () => gc.stop() };
}

function startEventExpiry(deps: ComponentDeps): RunningComponent {
  const expiry = new EventExpiry({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.eventTtlMs !== undefined ? { ttlMs: deps.eventTtlMs } : {}),
  });
  expiry.start();
  return { name: 'event-ttl', stop: () => expiry.stop() };
}

async function startPvController(deps: ComponentContext): Promise<RunningComponent> {
  const controller = new PvController({
    store: deps.store,
    informers: deps.informers,
    clock: deps.clock,
    log: deps.logger.child({ component: 'persistentvolume-controller' }),
    // several binds in flight let the store's group commit share one fsync between them
    workers: 32,
    // as Kubernetes' hostPath recycler, scrub only under /tmp
    recycler: new FsRecycler({ allowedRoots: ['/tmp'] }),
  });
  return started('persistentvolume-controller', controller);
}

/**
 * VolumeAttachments for CSI volumes. Flex volumes of nodes whose agent runs in this process are
 * attached through that agent's FlexVolume host; without agents here, the node agents attach them.
 */
async function startAttachDetach(
  deps: ComponentContext,
  agents: ReadonlyMap<string, NodeAgent> | undefined,
): Promise<RunningComponent> {
  const controller = new AttachDetachController({
    store: deps.store,
    informers: deps.informers,
    ...(agents ? { flexAttacher: (nodeName: string) => agents.get(nodeName)?.flexHost } : {}),
    recorder: new EventRecorder({
      store: deps.store,
      component: 'attachdetach-controller',
      clock: deps.clock,
    }),
    log: deps.logger.child({ component: 'attachdetach-controller' }),
    ...(deps.maxWaitForUnmountMs !== undefined ? { maxWaitForUnmountMs: deps.maxWaitForUnmountMs } : {}),
  });
  return started('attachdetach-controller', controller);
}

/**
 * Marks nodes whose heartbeat stopped Unknown and taints them unreachable; evicts the pods that do
 * not tolerate a node's NoExecute taints (for long).
 */
async function startNodeLifecycle(deps: ComponentContext): Promise<RunningComponent> {
  const controller = new NodeLifecycleController({
    store: deps.store,
    informers: deps.informers,
    clock: deps.clock,
    log: deps.logger,
    ...(deps.nodeMonitorGracePeriodMs !== undefined ? { gracePeriodMs: deps.nodeMonitorGracePeriodMs } : {}),
  });
  const eviction = new TaintEvictionController({
    store: deps.store,
    informers: deps.informers,
    clock: deps.clock,
    log: deps.logger,
    recorder: recorderFor(deps, 'taint-eviction-controller'),
  });
  await controller.start();
  await eviction.start();
  return {
    name: 'node-lifecycle-controller',
    stop: async () => {
      await eviction.stop();
      await controller.stop();
    },
  };
}

/** Empties namespaces being deleted, then lets them go. */
async function startNamespaceController(deps: ComponentContext): Promise<RunningComponent> {
  const controller = new NamespaceController({
    store: deps.store,
    informers: deps.informers,
    clock: deps.clock,
    log: deps.logger,
  });
  return started('namespace-controller', controller);
}

function recorderFor(deps: ComponentDeps, component: string): EventRecorder {
  return new EventRecorder({ store: deps.store, component, clock: deps.clock });
}

async function startScheduler(deps: ComponentContext): Promise<RunningComponent> {
  const scheduler = new Scheduler({
    store: deps.store,
    informers: deps.informers,
    clock: deps.clock,
    log: deps.logger.child({ component: 'scheduler' }),
    recorder: recorderFor(deps, 'default-scheduler'),
  });
  return started('scheduler', scheduler);
}

async function startStatefulSets(deps: ComponentContext): Promise<RunningComponent> {
  const controller = new StatefulSetController({
    store: deps.store,
    informers: deps.informers,
    clock: deps.clock,
    log: deps.logger.child({ component: 'statefulset-controller' }),
    recorder: recorderFor(deps, 'statefulset-controller'),
  });
  return started('statefulset-controller', controller);
}

/** Deployments, ReplicaSets and Jobs (each recording events as its upstream controller). */
async function startAppsControllers(deps: ComponentContext): Promise<RunningComponent> {
  const controllers = new AppsControllers({
    store: deps.store,
    informers: deps.informers,
    clock: deps.clock,
    log: deps.logger,
  });
  return started('apps-controllers', controllers);
}

async function startSnapshotController(deps: ComponentContext): Promise<RunningComponent> {
  const controller = new SnapshotController({
    store: deps.store,
    informers: deps.informers,
    clock: deps.clock,
    log: deps.logger,
    recorder: recorderFor(deps, 'snapshot-controller'),
  });
  return started('snapshot-controller', controller);
}

/** The controller-side sidecars of a third-party driver: provisioner, resizer, attacher, snapshotter. */
async function startSidecars(deps: ComponentContext, driver: DriverEndpoint): Promise<RunningComponent> {
  const csi = new CsiClient(driver.endpoint, { driverName: driver.name });
  const sidecarDeps = { ...deps, csi, driverName: driver.name };
  const started: RunningComponent[] = [];
  try {
    for (const name of ['provisioner', 'resizer', 'attacher', 'snapshotter'] as const)
      started.push(await sidecarStarters[name](sidecarDeps));
  } catch (err) {
    await stopComponents(started, deps.logger);
    csi.close();
    throw err;
  }
  return {
    name: `sidecars/${driver.name}`,
    stop: async () => {
      await stopComponents(started, deps.logger);
      csi.close();
    },
  };
}

/** The process's one list+watch per kind; stopped after every component that reads it. */
function startInformerCache(deps: ComponentDeps): ComponentContext {
  const informers = new SharedInformerCache({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'informers' }),
  });
  return { ...deps, informers };
}

/**
 * The control plane's controllers, built here for every mode: `berth up` runs them beside its node
 * agents (whose FlexVolume hosts `agents` will hold), `berth controller-manager` alone over the
 * REST API while it leads. Appends to `started` as it goes.
 */
async function startControlPlane(
  deps: ComponentContext,
  started: RunningComponent[],
  agents?: ReadonlyMap<string, NodeAgent>,
): Promise<void> {
  started.push(startEventExpiry(deps));
  started.push(await startPvController(deps));
  started.push(await startScheduler(deps));
  started.push(await startNodeLifecycle(deps));
  started.push(await startNamespaceController(deps));
  started.push(await startStatefulSets(deps));
  started.push(await startSnapshotController(deps));
  started.push(await startAppsControllers(deps));
  for (const driver of deps.csiDrivers ?? []) started.push(await startSidecars(deps, driver));
  started.push(await startAttachDetach(deps, agents));
  started.push(startGarbageCollector(deps));
}

/** Runs `start` with this process's informer cache; on failure stops what it had started. */
async function startWithInformers(
  componentDeps: ComponentDeps,
  start: (deps: ComponentContext, started: RunningComponent[]) => Promise<void>,
): Promise<RunningComponent[]> {
  const deps = startInformerCache(componentDeps);
  const started: RunningComponent[] = [{ name: 'informers', stop: () => deps.informers.stop() }];
  try {
    await start(deps, started);
    return started;
  } catch (err) {
    await stopComponents(started, deps.logger);
    throw err;
  }
}

/** Every background component of an embedded berth; the caller stops them with stopComponents. */
export function startControllers(componentDeps: ComponentDeps): Promise<RunningComponent[]> {
  return startWithInformers(componentDeps, async (deps, started) => {
    const agents = new Map<string, NodeAgent>();
    await startControlPlane(deps, started, agents);
    const nodeAgents = await startNodes(deps, deps.nodes ?? [], started, deps.csiDrivers ?? []);
    for (const [name, agent] of nodeAgents) agents.set(name, agent);
  });
}

/** The controllers alone (`berth controller-manager`); the caller stops them with stopComponents. */
export function startControllerManager(componentDeps: ComponentDeps): Promise<RunningComponent[]> {
  return startWithInformers(componentDeps, (deps, started) => startControlPlane(deps, started));
}

/** Stops components in reverse start order; one failing to stop does not keep the others running. */
export async function stopComponents(components: readonly RunningComponent[], logger: Logger): Promise<void> {
  for (const component of [...components].reverse()) {
    try {
      await component.stop();
    } catch (err) {
      logger.error('component did not stop cleanly', { component: component.name, err });
    }
  }
}
