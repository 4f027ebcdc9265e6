// CSI driver registration on this node: what kubelet's csi plugin does in RegisterPlugin.
// A driver is reached through its endpoint; we ask it who it is (GetPluginInfo, capabilities,
// Probe, NodeGetInfo, NodeGetCapabilities), then publish the answer in the CSINode object and the
// Node's topology labels. Deregistration drops the driver from CSINode.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { CSINode, CSINodeDriver } from '../api/types.js';
import { CsiClient } from '../csi/client.js';
import type { NodeRpcType, PluginServiceType } from '../csi/types.js';
import type { Logger } from '../machinery/logger.js';
import type { ObjectStore } from '../store/types.js';
import { csiNodeDriverEntry, topologyLabels, withDriver, withoutDriver } from './csinode.js';
import type { NodeObject } from './node-object.js';

export interface DriverEndpoint {
  /** The driver name; checked against GetPluginInfo when given. */
  name: string;
  /** The CSI socket: a path or unix:// URL. */
  endpoint: string;
}

export interface RegisteredDriver {
  name: string;
  endpoint: string;
  client: CsiClient;
  vendorVersion: string;
  nodeId: string;
  maxVolumes: number;
  topology: Record<string, string>;
  pluginCapabilities: PluginServiceType[];
  nodeCapabilities: NodeRpcType[];
  /** NodeGetCapabilities has STAGE_UNSTAGE_VOLUME: the agent calls NodeStage/NodeUnstage. */
  stageUnstage: boolean;
}

export interface DriverRegistryDeps {
  store: ObjectStore;
  node: NodeObject;
  csiTimeoutMs: number;
  log: Logger;
  /** Told after a driver was registered or removed (the reconciler re-checks waiting volumes). */
  onChange?: (driver: string) => void;
}

const MAX_CONFLICT_RETRIES = 8;

export class DriverRegistry {
  private readonly deps: DriverRegistryDeps;
  private readonly drivers = new Map<string, RegisteredDriver>();

  constructor(deps: DriverRegistryDeps) {
    this.deps = deps;
  }

  get(name: string): RegisteredDriver | undefined {
    return this.drivers.get(name);
  }

  list(): RegisteredDriver[] {
    return [...this.drivers.values()];
  }

  /** Registers (or re-registers) a driver; on any failure nothing is kept and the error is thrown. */
  async register(target: DriverEndpoint): Promise<RegisteredDriver> {
    const client = new CsiClient(target.endpoint, { timeoutMs: this.deps.csiTimeoutMs });
    let registered: RegisteredDriver;
    try {
      registered = await this.probe(target, client);
      await this.publish(registered);
    } catch (err) {
      client.close();
      throw err;
    }
    const previous = this.drivers.get(registered.name);
    this.drivers.set(registered.name, registered);
    if (previous && previous.client !== registered.client) previous.client.close();
    this.deps.log.info('CSI driver registered', {
      driver: registered.name,
      endpoint: registered.endpoint,
      nodeId: registered.nodeId,
      stageUnstage: registered.stageUnstage,
    });
    this.deps.onChange?.(registered.name);
    return registered;
  }

  /** Removes a driver; with `endpoint`, only if it is still the one registered (a newer one stays). */
  async unregister(name: string, endpoint?: string): Promise<void> {
    const current = this.drivers.get(name);
    if (!current || (endpoint !== undefined && current.endpoint !== endpoint)) return;
    this.drivers.delete(name);
    current.client.close();
    await this.updateCsiNode((drivers) => withoutDriver(drivers, name));
    await this.deps.node.setDriverNodeId(name, undefined);
    this.deps.log.info('CSI driver deregistered', { driver: name });
    this.deps.onChange?.(name);
  }

  closeAll(): void {
    for (const d of this.drivers.values()) d.client.close();
    this.drivers.clear();
  }

  private async probe(target: DriverEndpoint, client: CsiClient): Promise<RegisteredDriver> {
    const info = await client.getPluginInfo();
    if (target.name && info.name !== target.name) {
      throw new Error(`driver at ${target.endpoint} is "${info.name}", expected "${target.name}"`);
    }
    const pluginCaps = await client.getPluginCapabilities();
    const probe = await client.probe();
    if (probe.ready && !probe.ready.value) throw new Error(`driver ${info.name} is not ready (Probe)`);
    const nodeInfo = await client.nodeGetInfo();
    if (!nodeInfo.node_id) throw new Error(`driver ${info.name} returned an empty node_id`);
    const nodeCaps = await client.nodeGetCapabilities();
    const nodeCapabilities = nodeCaps.capabilities.flatMap((c) => (c.rpc ? [c.rpc.type] : []));
    return {
      name: info.name,
      endpoint: target.endpoint,
      client,
      vendorVersion: info.vendor_version,
      nodeId: nodeInfo.node_id,
      maxVolumes: Number(nodeInfo.max_volumes_per_node || 0),
      topology: topologyLabels(nodeInfo),
      pluginCapabilities: pluginCaps.capabilities.flatMap((c) => (c.service ? [c.service.type] : [])),
      nodeCapabilities,
      stageUnstage: nodeCapabilities.includes('STAGE_UNSTAGE_VOLUME'),
    };
  }

  private async publish(d: RegisteredDriver): Promise<void> {
    const entry = csiNodeDriverEntry(d.name, {
      node_id: d.nodeId,
      max_volumes_per_node: String(d.maxVolumes),
      accessible_topology: Object.keys(d.topology).length > 0 ? { segments: d.topology } : null,
    });
    await this.deps.node.addLabels(d.topology);
    await this.deps.node.setDriverNodeId(d.name, d.nodeId);
    await this.updateCsiNode((drivers) => withDriver(drivers, entry));
  }

  /** Read-modify-write of CSINode.spec.drivers with compare-and-swap retries. */
  private async updateCsiNode(
    change: (drivers: readonly CSINodeDriver[]) => CSINodeDriver[] | undefined,
  ): Promise<void> {
    const name = this.deps.node.nodeName;
    for (let attempt = 0; ; attempt++) {
      let current: CSINode | undefined;
      try {
        current = await this.deps.store.get<CSINode>(K.csinode, undefined, name);
      } catch (err) {
        if (!isStatusError(err, 'NotFound')) throw err;
      }
      const drivers = change(current?.spec.drivers ?? []);
      if (!drivers) return;
      try {
        if (current) {
          await this.deps.store.update<CSINode>(K.csinode, {
            ...current,
            spec: { ...current.spec, drivers },
          });
        } else {
          if (attempt >= MAX_CONFLICT_RETRIES) throw new Error(`CSINode ${name} cannot be created`);
          await this.deps.node.ensureCsiNode();
          continue;
        }
        return;
      } catch (err) {
        if (!isStatusError(err, 'Conflict') || attempt >= MAX_CONFLICT_RETRIES) throw err;
      }
    }
  }
}
