// The csi-snapshotter sidecar of one driver, started from the same dependencies as the other
// sidecars (sidecar-modules.ts). It is not a `berth sidecar` entry yet: that needs its RBAC rules
// in deploy/kubernetes and the sidecar RBAC test's coverage first.
import { EventRecorder } from '../machinery/events.js';
import { Snapshotter } from '../snapshot/index.js';
import type { RunningComponent } from './component.js';
import type { SidecarDeps } from './sidecar-modules.js';

export async function startSnapshotter(deps: SidecarDeps): Promise<RunningComponent> {
  const nodeName = deps.nodeName;
  const snapshotter = new Snapshotter({
    store: deps.store,
    informers: deps.informers,
    csi: deps.csi,
    driverName: deps.driverName,
    clock: deps.clock,
    log: deps.logger.child({ driver: deps.driverName }),
    // node deployment: a node-local driver's handles begin with its node's name (berth's local driver)
    ...(nodeName !== undefined ? { ownsHandle: (handle: string) => handle.startsWith(`${nodeName}/`) } : {}),
    recorder: new EventRecorder({ store: deps.store, component: 'csi-snapshotter', clock: deps.clock }),
  });
  await snapshotter.start();
  return { name: `csi-snapshotter/${deps.driverName}`, stop: () => snapshotter.stop() };
}
