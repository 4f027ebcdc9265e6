// A node agent for the fault-injection tests: one CSI driver (usually the mock with a fault
// script) registered as not needing attach, marker files for mounts, a short CSI timeout and a
// back-off that starts at `retryBaseMs`. Retries must come from that back-off, so the periodic
// resync is a minute away.
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { CSIDriver } from '../../src/api/types.js';
import { EventRecorder } from '../../src/machinery/events.js';
import { NodeAgent } from '../../src/node/agent.js';
import type { ObjectStore } from '../../src/store/types.js';
import { markerMountTable } from './marker-mount-table.js';

export interface FaultNodeAgentOptions {
  store: ObjectStore;
  dir: string;
  node: string;
  driver: string;
  endpoint: string;
  csiTimeoutMs: number;
  retryBaseMs: number;
  /** Called with what stops the agent and flushes its events, for the test's teardown. */
  onStop: (stop: () => Promise<void>) => void;
}

export async function startFaultNodeAgent(
  o: FaultNodeAgentOptions,
): Promise<{ agent: NodeAgent; recorder: EventRecorder }> {
  await o.store.create<CSIDriver>(K.csidriver, {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'CSIDriver',
    metadata: { name: o.driver },
    spec: { attachRequired: false },
  });
  const recorder = new EventRecorder({ store: o.store, component: 'berth-node', host: o.node });
  const agent = new NodeAgent({
    store: o.store,
    nodeName: o.node,
    rootDir: join(o.dir, 'root'),
    mountInfo: markerMountTable(join(o.dir, 'root')),
    recorder,
    csiTimeoutMs: o.csiTimeoutMs,
    heartbeatMs: 0,
    retryBaseMs: o.retryBaseMs,
    retryMaxMs: 10_000,
    resyncMs: 60_000,
    drivers: [{ name: o.driver, endpoint: o.endpoint }],
  });
  await agent.start();
  o.onStop(async () => {
    await agent.stop();
    await recorder.flush();
  });
  return { agent, recorder };
}
