// A mock CSI driver for tests: in-memory volumes (optionally persisted to a state file so a restarted
// process remembers them), real directories for node publish, recorded calls, and queued faults.
// It follows the CSI rules a CO depends on: idempotent CreateVolume by name, ALREADY_EXISTS for an
// incompatible repeat, NOT_FOUND for unknown volumes, INVALID_ARGUMENT for missing required fields.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { CsiError, csiError, status } from '../../src/csi/errors.js';
import { serveCsi } from '../../src/csi/server.js';
import type { CsiCallContext, CsiHandlers, CsiServerHandle } from '../../src/csi/server.js';
import type {
  ControllerRpcType,
  NodeRpcType,
  PartialMessage,
  PluginCapability,
  StringMap,
  Topology,
  TopologyRequirement,
  VolumeCapability,
  VolumeContentSource,
} from '../../src/csi/types.js';
import { fromBigInt, toBigInt } from '../../src/csi/types.js';
import { FaultQueue } from './faults.js';

export interface MockDriverOptions {
  name?: string;
  nodeId?: string;
  /** Advertise and implement ControllerPublish/Unpublish (attach). Default true. */
  publishUnpublish?: boolean;
  /** The plugin's volume expansion type. Default ONLINE. */
  volumeExpansion?: 'ONLINE' | 'OFFLINE';
  /** Advertise STAGE_UNSTAGE_VOLUME. Default true. */
  stageUnstage?: boolean;
  capacityBytes?: bigint;
  maxVolumeSizeBytes?: bigint;
  /** Node topology; when set the driver advertises VOLUME_ACCESSIBILITY_CONSTRAINTS. */
  topology?: StringMap;
  /** Advertise and implement CreateSnapshot/DeleteSnapshot/ListSnapshots and clones. Default false. */
  snapshots?: boolean;
  /** Persist volumes and node state here, so a restarted driver keeps them. */
  stateFile?: string;
  /** What "die" does; in-process the server is dropped, in a child process the process exits. */
  onDie?: () => void;
}

export interface MockVolume {
  id: string;
  name: string;
  capacityBytes: string;
  parameters: StringMap;
  context: StringMap;
  accessibleTopology: StringMap[];
  publishedNodes: string[];
}

export interface MockSnapshot {
  id: string;
  name: string;
  sourceVolumeId: string;
  sizeBytes: string;
}

interface MockState {
  nextId: number;
  volumes: MockVolume[];
  snapshots: MockSnapshot[];
  staged: Record<string, string>;
  published: Record<string, string>;
}

export interface RecordedCall {
  method: string;
  request: unknown;
  /** When the call arrived (Date.now()). */
  at: number;
}

const DEFAULT_VOLUME_SIZE = 1n << 30n;
const MARKER_FILE = '.mock-volume';

export class MockDriver {
  readonly name: string;
  readonly nodeId: string;
  readonly faults = new FaultQueue();
  readonly calls: RecordedCall[] = [];
  private readonly options: MockDriverOptions;
  private state: MockState;

  constructor(options: MockDriverOptions = {}) {
    this.options = options;
    this.name = options.name ?? 'mock.csi.berth.dev';
    this.nodeId = options.nodeId ?? 'mock-node';
    this.state = this.loadState();
  }

  volumes(): MockVolume[] {
    return this.state.volumes.map((v) => ({ ...v }));
  }

  snapshots(): MockSnapshot[] {
    return this.state.snapshots.map((s) => ({ ...s }));
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  handlers(): CsiHandlers {
    const publish = this.options.publishUnpublish ?? true;
    const wrap =
      <Q, R>(method: string, work: (req: Q) => Promise<PartialMessage<R>> | PartialMessage<R>) =>
      (req: Q, ctx: CsiCallContext) =>
        this.run(method, req, ctx, async () => work(req));
    return {
      identity: {
        GetPluginInfo: wrap('GetPluginInfo', () => ({ name: this.name, vendor_version: '0.1.0' })),
        GetPluginCapabilities: wrap('GetPluginCapabilities', () => ({
          capabilities: this.pluginCapabilities(),
        })),
        Probe: wrap('Probe', () => ({ ready: { value: true } })),
      },
      controller: {
        CreateVolume: wrap('CreateVolume', (r) => this.createVolume(r)),
        DeleteVolume: wrap('DeleteVolume', (r) => this.deleteVolume(r)),
        ...(publish
          ? {
              ControllerPublishVolume: wrap('ControllerPublishVolume', (r) => this.controllerPublish(r)),
              ControllerUnpublishVolume: wrap('ControllerUnpublishVolume', (r) =>
                this.controllerUnpublish(r),
              ),
            }
          : {}),
        ValidateVolumeCapabilities: wrap('ValidateVolumeCapabilities', (r) => this.validateCapabilities(r)),
        ListVolumes: wrap('ListVolumes', (r) => this.listVolumes(r)),
        GetCapacity: wrap('GetCapacity', () => this.getCapacity()),
        ControllerGetCapabilities: wrap('ControllerGetCapabilities', () => ({
          capabilities: this.controllerCapabilities().map((type) => ({ rpc: { type } })),
        })),
        ControllerExpandVolume: wrap('ControllerExpandVolume', (r) => this.controllerExpand(r)),
        ...(this.options.snapshots
          ? {
              CreateSnapshot: wrap('CreateSnapshot', (r) => this.createSnapshot(r)),
              DeleteSnapshot: wrap('DeleteSnapshot', (r) => this.deleteSnapshot(r)),
              ListSnapshots: wrap('ListSnapshots', (r) => this.listSnapshots(r)),
            }
          : {}),
      },
      node: {
        NodeStageVolume: wrap('NodeStageVolume', (r) => this.nodeStage(r)),
        NodeUnstageVolume: wrap('NodeUnstageVolume', (r) => this.nodeUnstage(r)),
        NodePublishVolume: wrap('NodePublishVolume', (r) => this.nodePublish(r)),
        NodeUnpublishVolume: wrap('NodeUnpublishVolume', (r) => this.nodeUnpublish(r)),
        NodeGetVolumeStats: wrap('NodeGetVolumeStats', (r) => this.nodeGetVolumeStats(r)),
        NodeExpandVolume: wrap('NodeExpandVolume', (r) => this.nodeExpand(r)),
        NodeGetCapabilities: wrap('NodeGetCapabilities', () => ({
          capabilities: this.nodeCapabilities().map((type) => ({ rpc: { type } })),
        })),
        NodeGetInfo: wrap('NodeGetInfo', () => ({
          node_id: this.nodeId,
          max_volumes_per_node: '0',
          accessible_topology: this.options.topology ? { segments: this.options.topology } : null,
        })),
      },
    };
  }

  // ---------------------------------------------------------------- fault plumbing

  private async run<R>(
    method: string,
    request: unknown,
    ctx: CsiCallContext,
    work: () => Promise<R>,
  ): Promise<R> {
    this.calls.push({ method, request, at: Date.now() });
    const fault = this.faults.take(method);
    if (fault?.kind === 'error')
      throw new CsiError(fault.code, fault.message ?? `injected fault in ${method}`);
    if (fault?.kind === 'hang') return hangUntil(ctx.signal);
    if (fault?.kind === 'die' && fault.phase === 'before') return this.die(ctx);
    // A delayed call keeps working after its caller gave up, as a real driver would.
    if (fault?.kind === 'delay') await sleep(fault.ms);
    const result = await work();
    if (fault?.kind === 'die') return this.die(ctx);
    return result;
  }

  private die(ctx: CsiCallContext): Promise<never> {
    (this.options.onDie ?? (() => undefined))();
    return hangUntil(ctx.signal);
  }

  // ---------------------------------------------------------------- identity

  private pluginCapabilities(): PartialMessage<PluginCapability>[] {
    const caps: PartialMessage<PluginCapability>[] = [
      { service: { type: 'CONTROLLER_SERVICE' } },
      { volume_expansion: { type: this.options.volumeExpansion ?? 'ONLINE' } },
    ];
    if (this.options.topology) caps.push({ service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } });
    return caps;
  }

  private controllerCapabilities(): ControllerRpcType[] {
    const caps: ControllerRpcType[] = [
      'CREATE_DELETE_VOLUME',
      'LIST_VOLUMES',
      'GET_CAPACITY',
      'EXPAND_VOLUME',
    ];
    if (this.options.publishUnpublish ?? true)
      caps.push('PUBLISH_UNPUBLISH_VOLUME', 'LIST_VOLUMES_PUBLISHED_NODES');
    if (this.options.snapshots) caps.push('CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS', 'CLONE_VOLUME');
    return caps;
  }

  private nodeCapabilities(): NodeRpcType[] {
    const caps: NodeRpcType[] = ['GET_VOLUME_STATS', 'EXPAND_VOLUME'];
    if (this.options.stageUnstage ?? true) caps.push('STAGE_UNSTAGE_VOLUME');
    return caps;
  }

  // ---------------------------------------------------------------- controller

  private createVolume(req: {
    name: string;
    capacity_range: { required_bytes: string; limit_bytes: string } | null;
    volume_capabilities: VolumeCapability[];
    parameters: StringMap;
    accessibility_requirements: TopologyRequirement | null;
    volume_content_source?: VolumeContentSource | null;
  }) {
    required(req.name, 'name');
    if (req.volume_capabilities.length === 0) invalid('volume_capabilities is required');
    req.volume_capabilities.forEach(validateCapability);
    const requiredBytes = toBigInt(req.capacity_range?.required_bytes);
    const limitBytes = toBigInt(req.capacity_range?.limit_bytes);
    if (requiredBytes < 0n || limitBytes < 0n) invalid('capacity_range must not be negative');
    if (limitBytes > 0n && requiredBytes > limitBytes) {
      throw csiError(
        status.OUT_OF_RANGE,
        `required_bytes ${requiredBytes} exceeds limit_bytes ${limitBytes}`,
      );
    }
    const existing = this.state.volumes.find((v) => v.name === req.name);
    if (existing) {
      const size = BigInt(existing.capacityBytes);
      const fits = size >= requiredBytes && (limitBytes === 0n || size <= limitBytes);
      if (!fits || !sameMap(existing.parameters, req.parameters)) {
        throw csiError(
          status.ALREADY_EXISTS,
          `volume "${req.name}" exists with incompatible capacity or parameters`,
        );
      }
      return { volume: this.toCsiVolume(existing) };
    }
    this.requireContentSource(req.volume_content_source);
    let size = requiredBytes > 0n ? requiredBytes : DEFAULT_VOLUME_SIZE;
    if (limitBytes > 0n && size > limitBytes) size = limitBytes;
    const max = this.options.maxVolumeSizeBytes;
    if (max !== undefined && size > max)
      throw csiError(status.OUT_OF_RANGE, `size ${size} exceeds maximum ${max}`);
    if (size > this.availableBytes()) {
      throw csiError(status.RESOURCE_EXHAUSTED, `not enough capacity for ${size} bytes`);
    }
    const volume: MockVolume = {
      id: `mock-vol-${this.state.nextId++}`,
      name: req.name,
      capacityBytes: fromBigInt(size),
      parameters: { ...req.parameters },
      context: { 'mock.csi.berth.dev/name': req.name },
      accessibleTopology: this.pickTopology(req.accessibility_requirements),
      publishedNodes: [],
    };
    this.state.volumes.push(volume);
    this.saveState();
    return { volume: this.toCsiVolume(volume) };
  }

  private deleteVolume(req: { volume_id: string }) {
    required(req.volume_id, 'volume_id');
    const volume = this.state.volumes.find((v) => v.id === req.volume_id);
    // Deleting a volume that is already gone succeeds: the caller's goal is met.
    if (!volume) return {};
    if (volume.publishedNodes.length > 0) {
      throw csiError(
        status.FAILED_PRECONDITION,
        `volume ${volume.id} is published to ${volume.publishedNodes.join(',')}`,
      );
    }
    this.state.volumes = this.state.volumes.filter((v) => v !== volume);
    this.saveState();
    return {};
  }

  /** A restore or clone names a snapshot or volume this driver has (NOT_FOUND otherwise). */
  private requireContentSource(source: VolumeContentSource | null | undefined): void {
    if (!source) return;
    if (!this.options.snapshots) invalid('this driver does not restore or clone volumes');
    const snapshotId = source.snapshot?.snapshot_id;
    if (snapshotId !== undefined && !this.state.snapshots.some((s) => s.id === snapshotId))
      throw csiError(status.NOT_FOUND, `snapshot ${snapshotId} not found`);
    const volumeId = source.volume?.volume_id;
    if (volumeId !== undefined) this.mustFind(volumeId);
  }

  private createSnapshot(req: { name: string; source_volume_id: string }) {
    required(req.name, 'name');
    required(req.source_volume_id, 'source_volume_id');
    const existing = this.state.snapshots.find((s) => s.name === req.name);
    if (existing && existing.sourceVolumeId !== req.source_volume_id)
      throw csiError(status.ALREADY_EXISTS, `snapshot "${req.name}" exists for another volume`);
    let snapshot = existing;
    if (!snapshot) {
      const volume = this.mustFind(req.source_volume_id);
      snapshot = {
        id: `mock-snap-${this.state.nextId++}`,
        name: req.name,
        sourceVolumeId: volume.id,
        sizeBytes: volume.capacityBytes,
      };
      this.state.snapshots.push(snapshot);
      this.saveState();
    }
    return { snapshot: toCsiSnapshot(snapshot) };
  }

  private deleteSnapshot(req: { snapshot_id: string }) {
    required(req.snapshot_id, 'snapshot_id');
    this.state.snapshots = this.state.snapshots.filter((s) => s.id !== req.snapshot_id);
    this.saveState();
    return {};
  }

  private listSnapshots(req: { snapshot_id: string; source_volume_id: string }) {
    const entries = this.state.snapshots
      .filter((s) => !req.snapshot_id || s.id === req.snapshot_id)
      .filter((s) => !req.source_volume_id || s.sourceVolumeId === req.source_volume_id)
      .map((s) => ({ snapshot: toCsiSnapshot(s) }));
    return { entries, next_token: '' };
  }

  private controllerPublish(req: {
    volume_id: string;
    node_id: string;
    volume_capability: VolumeCapability | null;
    readonly: boolean;
  }) {
    required(req.volume_id, 'volume_id');
    required(req.node_id, 'node_id');
    if (!req.volume_capability) invalid('volume_capability is required');
    validateCapability(req.volume_capability);
    const volume = this.mustFind(req.volume_id);
    if (req.node_id !== this.nodeId) throw csiError(status.NOT_FOUND, `node ${req.node_id} not found`);
    const single = req.volume_capability.access_mode?.mode.startsWith('SINGLE_NODE') ?? false;
    const others = volume.publishedNodes.filter((n) => n !== req.node_id);
    if (single && others.length > 0) {
      throw csiError(
        status.FAILED_PRECONDITION,
        `volume ${volume.id} is already published to ${others.join(',')}`,
      );
    }
    if (!volume.publishedNodes.includes(req.node_id)) {
      volume.publishedNodes.push(req.node_id);
      this.saveState();
    }
    return { publish_context: { devicePath: `/dev/mock/${volume.id}`, readonly: String(req.readonly) } };
  }

  private controllerUnpublish(req: { volume_id: string; node_id: string }) {
    required(req.volume_id, 'volume_id');
    const volume = this.state.volumes.find((v) => v.id === req.volume_id);
    if (!volume) return {};
    volume.publishedNodes = req.node_id ? volume.publishedNodes.filter((n) => n !== req.node_id) : [];
    this.saveState();
    return {};
  }

  private validateCapabilities(req: {
    volume_id: string;
    volume_context: StringMap;
    volume_capabilities: VolumeCapability[];
    parameters: StringMap;
  }) {
    required(req.volume_id, 'volume_id');
    if (req.volume_capabilities.length === 0) invalid('volume_capabilities is required');
    this.mustFind(req.volume_id);
    req.volume_capabilities.forEach(validateCapability);
    return {
      confirmed: {
        volume_context: req.volume_context,
        volume_capabilities: req.volume_capabilities,
        parameters: req.parameters,
      },
    };
  }

  private listVolumes(req: { max_entries: number; starting_token: string }) {
    if (req.max_entries < 0) invalid('max_entries must not be negative');
    const start = req.starting_token === '' ? 0 : Number(req.starting_token);
    if (!Number.isInteger(start) || start < 0 || start > this.state.volumes.length) {
      throw csiError(status.ABORTED, `invalid starting_token "${req.starting_token}"`);
    }
    const end = req.max_entries > 0 ? start + req.max_entries : this.state.volumes.length;
    const page = this.state.volumes.slice(start, end);
    return {
      entries: page.map((v) => ({
        volume: this.toCsiVolume(v),
        status: { published_node_ids: v.publishedNodes },
      })),
      next_token: end < this.state.volumes.length ? String(end) : '',
    };
  }

  private getCapacity() {
    const max = this.options.maxVolumeSizeBytes;
    return {
      available_capacity: fromBigInt(this.availableBytes()),
      ...(max !== undefined ? { maximum_volume_size: { value: fromBigInt(max) } } : {}),
    };
  }

  private controllerExpand(req: {
    volume_id: string;
    capacity_range: { required_bytes: string; limit_bytes: string } | null;
    volume_capability: VolumeCapability | null;
  }) {
    required(req.volume_id, 'volume_id');
    if (!req.capacity_range) invalid('capacity_range is required');
    const volume = this.mustFind(req.volume_id);
    const wanted = toBigInt(req.capacity_range.required_bytes);
    const limit = toBigInt(req.capacity_range.limit_bytes);
    if (limit > 0n && wanted > limit)
      throw csiError(status.OUT_OF_RANGE, 'required_bytes exceeds limit_bytes');
    const current = BigInt(volume.capacityBytes);
    if (wanted > current) {
      if (wanted - current > this.availableBytes())
        throw csiError(status.OUT_OF_RANGE, 'not enough capacity');
      volume.capacityBytes = fromBigInt(wanted);
      this.saveState();
    }
    return {
      capacity_bytes: volume.capacityBytes,
      node_expansion_required: req.volume_capability?.access_type !== 'block',
    };
  }

  // ---------------------------------------------------------------- node

  private nodeStage(req: {
    volume_id: string;
    staging_target_path: string;
    volume_capability: VolumeCapability | null;
  }) {
    required(req.volume_id, 'volume_id');
    required(req.staging_target_path, 'staging_target_path');
    if (!req.volume_capability) invalid('volume_capability is required');
    validateCapability(req.volume_capability);
    if (!(this.options.stageUnstage ?? true)) throw csiError(status.UNIMPLEMENTED, 'staging is disabled');
    this.mustFind(req.volume_id);
    const already = this.state.staged[req.volume_id];
    if (already !== undefined && already !== req.staging_target_path) {
      throw csiError(status.FAILED_PRECONDITION, `volume ${req.volume_id} is staged at ${already}`);
    }
    mkdirSync(req.staging_target_path, { recursive: true });
    writeFileSync(path.join(req.staging_target_path, MARKER_FILE), req.volume_id);
    this.state.staged[req.volume_id] = req.staging_target_path;
    this.saveState();
    return {};
  }

  private nodeUnstage(req: { volume_id: string; staging_target_path: string }) {
    required(req.volume_id, 'volume_id');
    required(req.staging_target_path, 'staging_target_path');
    rmSync(path.join(req.staging_target_path, MARKER_FILE), { force: true });
    delete this.state.staged[req.volume_id];
    this.saveState();
    return {};
  }

  private nodePublish(req: {
    volume_id: string;
    staging_target_path: string;
    target_path: string;
    volume_capability: VolumeCapability | null;
    readonly: boolean;
  }) {
    required(req.volume_id, 'volume_id');
    required(req.target_path, 'target_path');
    if (!req.volume_capability) invalid('volume_capability is required');
    validateCapability(req.volume_capability);
    this.mustFind(req.volume_id);
    if (this.options.stageUnstage ?? true) {
      required(req.staging_target_path, 'staging_target_path');
      if (this.state.staged[req.volume_id] !== req.staging_target_path) {
        throw csiError(
          status.FAILED_PRECONDITION,
          `volume ${req.volume_id} is not staged at ${req.staging_target_path}`,
        );
      }
    }
    // The SP creates target_path; a mounted volume is stood in for by a directory with a marker file.
    mkdirSync(req.target_path, { recursive: true });
    writeFileSync(path.join(req.target_path, MARKER_FILE), req.volume_id);
    this.state.published[req.target_path] = req.volume_id;
    this.saveState();
    return {};
  }

  private nodeUnpublish(req: { volume_id: string; target_path: string }) {
    required(req.volume_id, 'volume_id');
    required(req.target_path, 'target_path');
    rmSync(req.target_path, { recursive: true, force: true });
    delete this.state.published[req.target_path];
    this.saveState();
    return {};
  }

  private nodeGetVolumeStats(req: { volume_id: string; volume_path: string }) {
    required(req.volume_id, 'volume_id');
    required(req.volume_path, 'volume_path');
    const volume = this.mustFind(req.volume_id);
    try {
      statSync(req.volume_path);
    } catch {
      throw csiError(status.NOT_FOUND, `volume path ${req.volume_path} does not exist`);
    }
    return {
      usage: [
        { unit: 'BYTES' as const, total: volume.capacityBytes, available: volume.capacityBytes, used: '0' },
      ],
    };
  }

  private nodeExpand(req: { volume_id: string; volume_path: string }) {
    required(req.volume_id, 'volume_id');
    required(req.volume_path, 'volume_path');
    const volume = this.mustFind(req.volume_id);
    return { capacity_bytes: volume.capacityBytes };
  }

  // ---------------------------------------------------------------- helpers

  private mustFind(volumeId: string): MockVolume {
    const volume = this.state.volumes.find((v) => v.id === volumeId);
    if (!volume) throw csiError(status.NOT_FOUND, `volume ${volumeId} not found`);
    return volume;
  }

  private availableBytes(): bigint {
    const total = this.options.capacityBytes ?? 100n << 30n;
    const used = this.state.volumes.reduce((sum, v) => sum + BigInt(v.capacityBytes), 0n);
    return total > used ? total - used : 0n;
  }

  private pickTopology(req: TopologyRequirement | null): StringMap[] {
    const chosen: Topology | undefined = req?.preferred[0] ?? req?.requisite[0];
    if (chosen) return [chosen.segments];
    return this.options.topology ? [this.options.topology] : [];
  }

  private toCsiVolume(v: MockVolume) {
    return {
      volume_id: v.id,
      capacity_bytes: v.capacityBytes,
      volume_context: v.context,
      accessible_topology: v.accessibleTopology.map((segments) => ({ segments })),
    };
  }

  private loadState(): MockState {
    const empty: MockState = { nextId: 1, volumes: [], snapshots: [], staged: {}, published: {} };
    if (!this.options.stateFile) return empty;
    try {
      return { ...empty, ...(JSON.parse(readFileSync(this.options.stateFile, 'utf8')) as MockState) };
    } catch {
      return empty;
    }
  }

  private saveState(): void {
    const file = this.options.stateFile;
    if (!file) return;
    writeFileSync(`${file}.tmp`, JSON.stringify(this.state));
    renameSync(`${file}.tmp`, file);
  }
}

function toCsiSnapshot(s: MockSnapshot) {
  return {
    snapshot_id: s.id,
    source_volume_id: s.sourceVolumeId,
    size_bytes: s.sizeBytes,
    creation_time: { seconds: '1', nanos: 0 },
    ready_to_use: true,
  };
}

function required(value: string, field: string): void {
  if (!value) invalid(`${field} is required`);
}

function invalid(message: string): never {
  throw csiError(status.INVALID_ARGUMENT, message);
}

function validateCapability(cap: VolumeCapability): void {
  if (!cap.access_mode || cap.access_mode.mode === 'UNKNOWN')
    invalid('volume capability access_mode is required');
  if (cap.access_type !== 'block' && cap.access_type !== 'mount')
    invalid('volume capability access_type is required');
}

function sameMap(a: StringMap, b: StringMap): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function hangUntil(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const stop = () => reject(csiError(status.CANCELLED, 'call cancelled by the client'));
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}

export interface StartedMockDriver {
  driver: MockDriver;
  server: CsiServerHandle;
  endpoint: string;
  socketPath: string;
  shutdown(): Promise<void>;
}

/** Runs the mock driver in this process on `socketPath`; "die" faults drop the server. */
export async function startMockDriver(
  options: MockDriverOptions & { socketPath: string; shutdownTimeoutMs?: number },
): Promise<StartedMockDriver> {
  const ref: { server?: CsiServerHandle } = {};
  const driver = new MockDriver({
    ...options,
    onDie: options.onDie ?? (() => void ref.server?.forceShutdown()),
  });
  const server = await serveCsi(options.socketPath, driver.handlers(), {
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 1_000,
  });
  ref.server = server;
  return {
    driver,
    server,
    endpoint: server.endpoint,
    socketPath: server.socketPath,
    shutdown: () => server.shutdown(),
  };
}
