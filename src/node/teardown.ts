// Taking a node down without its agent (`berth down`): the volumes found on disk (vol_data.json
// and the mount table, as the agent reconstructs them at start) are unpublished and unstaged by
// the agent's own decision (decideVolume with nothing desired) and operations, through the
// node's drivers. Nothing is written to the store: the pods keep their claims, and a later start
// sets their volumes up again.
import { promises as fs } from 'node:fs';
import { CsiClient } from '../csi/client.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import type { Logger } from '../machinery/logger.js';
import { procMountInfoReader } from '../host/index.js';
import type { ObjectStore } from '../store/types.js';
import { ActualState } from './actual-state.js';
import { decideVolume } from './decide.js';
import { NodeObject } from './node-object.js';
import { VolumeOperations, type MountTableReader } from './operations.js';
import { NodePaths } from './paths.js';
import type { DriverEndpoint, RegisteredDriver } from './registration.js';

export interface NodeTeardownDeps {
  store: ObjectStore;
  nodeName: string;
  rootDir: string;
  /** The drivers serving this node (their sockets must be up). */
  drivers: readonly DriverEndpoint[];
  log: Logger;
  clock?: Clock;
  mountTable?: MountTableReader;
  csiTimeoutMs?: number;
}

export interface NodeTeardownReport {
  unpublished: number;
  unstaged: number;
  /** What could not be torn down, each with why. */
  left: string[];
}

async function connect(endpoint: DriverEndpoint, timeoutMs: number): Promise<RegisteredDriver> {
  const client = new CsiClient(endpoint.endpoint, { timeoutMs });
  try {
    const info = await client.getPluginInfo();
    const caps = await client.nodeGetCapabilities();
    const nodeCapabilities = caps.capabilities.flatMap((c) => (c.rpc ? [c.rpc.type] : []));
    return {
      name: info.name,
      endpoint: endpoint.endpoint,
      client,
      vendorVersion: info.vendor_version,
      nodeId: '',
      maxVolumes: 0,
      topology: {},
      pluginCapabilities: [],
      nodeCapabilities,
      stageUnstage: nodeCapabilities.includes('STAGE_UNSTAGE_VOLUME'),
    };
  } catch (err) {
    client.close();
    throw err;
  }
}

export async function tearDownNode(deps: NodeTeardownDeps): Promise<NodeTeardownReport> {
  const report: NodeTeardownReport = { unpublished: 0, unstaged: 0, left: [] };
  const rootDir = await fs.realpath(deps.rootDir).catch(() => undefined);
  if (rootDir === undefined) return report;
  const paths = new NodePaths(rootDir);
  const mountTable = deps.mountTable ?? procMountInfoReader();
  const clock = deps.clock ?? systemClock;
  const actual = new ActualState();
  const mounted = new Set((await mountTable()).map((m) => m.mountPoint));
  const volumes = await actual.reconstruct(paths, mounted);
  if (volumes.length === 0) return report;

  const drivers = new Map<string, RegisteredDriver>();
  for (const endpoint of deps.drivers) {
    try {
      const driver = await connect(endpoint, deps.csiTimeoutMs ?? 60_000);
      drivers.set(driver.name, driver);
    } catch (err) {
      deps.log.warn('driver not reachable', { endpoint: endpoint.endpoint, err });
    }
  }
  const ops = new VolumeOperations({
    store: deps.store,
    nodeName: deps.nodeName,
    paths,
    actual,
    node: new NodeObject({
      store: deps.store,
      nodeName: deps.nodeName,
      clock,
      log: deps.log,
      heartbeatMs: 0,
    }),
    mountTable,
    clock,
  });
  const signal = new AbortController().signal;
  try {
    for (const volume of volumes) {
      const driver = drivers.get(volume.driver);
      const actions = decideVolume({
        desired: undefined,
        actual: volume,
        driver: driver ? { stageUnstage: driver.stageUnstage } : undefined,
        attachment: undefined,
        reportedInUse: false,
      });
      try {
        for (const action of actions) {
          if (action.kind === 'WaitForDriver') throw new Error(action.message);
          if (action.kind === 'Unpublish' && driver) {
            await ops.unpublish(volume, action.podUID, action.targetPath, driver, signal);
            report.unpublished++;
          } else if (action.kind === 'Unstage' && driver) {
            await ops.unstage(volume, driver, signal);
            report.unstaged++;
          }
        }
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        report.left.push(`volume ${volume.specName || volume.volumeHandle} (${volume.driver}): ${why}`);
      }
    }
  } finally {
    for (const d of drivers.values()) d.client.close();
  }
  return report;
}
