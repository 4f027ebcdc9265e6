// Hand-written shapes of the CSI v1.12 messages berth uses, as @grpc/proto-loader decodes them
// (keepCase, longs as String, enums as String, defaults, oneofs). Decoded messages always carry
// scalars, maps and lists (defaults); unset message fields are null; int64 travels as a decimal string.

/** int64 on the wire: a decimal string, so values above 2^53 stay exact. */
export type Int64 = string;

export type StringMap = Record<string, string>;

/** What a sender may give: every field optional, recursively (proto3 fills in the rest). */
export type PartialMessage<T> = T extends string | number | boolean | bigint
  ? T
  : T extends readonly (infer U)[]
    ? PartialMessage<U>[]
    : T extends object
      ? { [K in keyof T]?: PartialMessage<T[K]> | undefined }
      : T;

export function toBigInt(value: Int64 | number | bigint | null | undefined): bigint {
  if (value === null || value === undefined || value === '') return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`int64 ${value} is not a safe integer`);
    return BigInt(value);
  }
  if (!/^-?\d+$/.test(value)) throw new RangeError(`int64 "${value}" is not a decimal integer`);
  return BigInt(value);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function fromBigInt(value: bigint | number): Int64 {
  const big = typeof value === 'bigint' ? value : toBigInt(value);
  if (big < INT64_MIN || big > INT64_MAX) throw new RangeError(`${big} does not fit in int64`);
  return big.toString();
}

// ---------------------------------------------------------------- shared

export type AccessModeName =
  | 'UNKNOWN'
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER';

export type BlockVolume = Record<string, never>;

export interface MountVolume {
  fs_type: string;
  mount_flags: string[];
  volume_mount_group: string;
}

export interface AccessMode {
  mode: AccessModeName;
}

/** `access_type` names the member of the block/mount oneof that is set. */
export interface VolumeCapability {
  block?: BlockVolume | null;
  mount?: MountVolume | null;
  access_type?: 'block' | 'mount';
  access_mode: AccessMode | null;
}

export interface CapacityRange {
  required_bytes: Int64;
  limit_bytes: Int64;
}

export interface Topology {
  segments: StringMap;
}

export interface TopologyRequirement {
  requisite: Topology[];
  preferred: Topology[];
}

export interface VolumeContentSource {
  snapshot?: { snapshot_id: string } | null;
  volume?: { volume_id: string } | null;
  type?: 'snapshot' | 'volume';
}

export interface Volume {
  capacity_bytes: Int64;
  volume_id: string;
  volume_context: StringMap;
  content_source: VolumeContentSource | null;
  accessible_topology: Topology[];
}

export interface VolumeCondition {
  abnormal: boolean;
  message: string;
}

// ---------------------------------------------------------------- identity

export type Empty = Record<string, never>;

export type GetPluginInfoRequest = Empty;
export interface GetPluginInfoResponse {
  name: string;
  vendor_version: string;
  manifest: StringMap;
}

export type PluginServiceType =
  | 'UNKNOWN'
  | 'CONTROLLER_SERVICE'
  | 'VOLUME_ACCESSIBILITY_CONSTRAINTS'
  | 'GROUP_CONTROLLER_SERVICE'
  | 'SNAPSHOT_METADATA_SERVICE';
export type VolumeExpansionType = 'UNKNOWN' | 'ONLINE' | 'OFFLINE';

export interface PluginCapability {
  service?: { type: PluginServiceType } | null;
  volume_expansion?: { type: VolumeExpansionType } | null;
  type?: 'service' | 'volume_expansion';
}

export type GetPluginCapabilitiesRequest = Empty;
export interface GetPluginCapabilitiesResponse {
  capabilities: PluginCapability[];
}

export type ProbeRequest = Empty;
/** `ready` null means "ready" (the field is optional in the spec). */
export interface ProbeResponse {
  ready: { value: boolean } | null;
}

// ---------------------------------------------------------------- controller

export interface CreateVolumeRequest {
  name: string;
  capacity_range: CapacityRange | null;
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
  secrets: StringMap;
  volume_content_source: VolumeContentSource | null;
  accessibility_requirements: TopologyRequirement | null;
  mutable_parameters: StringMap;
}
export interface CreateVolumeResponse {
  volume: Volume | null;
}

export interface DeleteVolumeRequest {
  volume_id: string;
  secrets: StringMap;
}
export type DeleteVolumeResponse = Empty;

export interface ControllerPublishVolumeRequest {
  volume_id: string;
  node_id: string;
  volume_capability: VolumeCapability | null;
  readonly: boolean;
  secrets: StringMap;
  volume_context: StringMap;
}
export interface ControllerPublishVolumeResponse {
  publish_context: StringMap;
}

export interface ControllerUnpublishVolumeRequest {
  volume_id: string;
  node_id: string;
  secrets: StringMap;
}
export type ControllerUnpublishVolumeResponse = Empty;

export interface ValidateVolumeCapabilitiesRequest {
  volume_id: string;
  volume_context: StringMap;
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
  secrets: StringMap;
  mutable_parameters: StringMap;
}
export interface ValidateVolumeCapabilitiesResponse {
  /** null means "not confirmed"; `message` then says why. */
  confirmed: {
    volume_context: StringMap;
    volume_capabilities: VolumeCapability[];
    parameters: StringMap;
    mutable_parameters: StringMap;
  } | null;
  message: string;
}

export interface ListVolumesRequest {
  max_entries: number;
  starting_token: string;
}
export interface ListVolumesResponse {
  entries: {
    volume: Volume | null;
    status: { published_node_ids: string[]; volume_condition: VolumeCondition | null } | null;
  }[];
  next_token: string;
}

export interface GetCapacityRequest {
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
  accessible_topology: Topology | null;
}
export interface GetCapacityResponse {
  available_capacity: Int64;
  maximum_volume_size: { value: Int64 } | null;
  minimum_volume_size: { value: Int64 } | null;
}

export type ControllerRpcType =
  | 'UNKNOWN'
  | 'CREATE_DELETE_VOLUME'
  | 'PUBLISH_UNPUBLISH_VOLUME'
  | 'LIST_VOLUMES'
  | 'GET_CAPACITY'
  | 'CREATE_DELETE_SNAPSHOT'
  | 'LIST_SNAPSHOTS'
  | 'CLONE_VOLUME'
  | 'PUBLISH_READONLY'
  | 'EXPAND_VOLUME'
  | 'LIST_VOLUMES_PUBLISHED_NODES'
  | 'VOLUME_CONDITION'
  | 'GET_VOLUME'
  | 'SINGLE_NODE_MULTI_WRITER'
  | 'MODIFY_VOLUME'
  | 'GET_SNAPSHOT';

export interface ControllerServiceCapability {
  rpc?: { type: ControllerRpcType } | null;
  type?: 'rpc';
}

export type ControllerGetCapabilitiesRequest = Empty;
export interface ControllerGetCapabilitiesResponse {
  capabilities: ControllerServiceCapability[];
}

export interface ControllerExpandVolumeRequest {
  volume_id: string;
  capacity_range: CapacityRange | null;
  secrets: StringMap;
  volume_capability: VolumeCapability | null;
}
export interface ControllerExpandVolumeResponse {
  capacity_bytes: Int64;
  node_expansion_required: boolean;
}

// ---------------------------------------------------------------- snapshots

/** google.protobuf.Timestamp as decoded: seconds as a decimal string. */
export interface Timestamp {
  seconds: Int64;
  nanos: number;
}

export interface Snapshot {
  size_bytes: Int64;
  snapshot_id: string;
  source_volume_id: string;
  creation_time: Timestamp | null;
  ready_to_use: boolean;
  group_snapshot_id: string;
}

export interface CreateSnapshotRequest {
  source_volume_id: string;
  name: string;
  secrets: StringMap;
  parameters: StringMap;
}
export interface CreateSnapshotResponse {
  snapshot: Snapshot | null;
}

export interface DeleteSnapshotRequest {
  snapshot_id: string;
  secrets: StringMap;
}
export type DeleteSnapshotResponse = Empty;

export interface ListSnapshotsRequest {
  max_entries: number;
  starting_token: string;
  source_volume_id: string;
  snapshot_id: string;
  secrets: StringMap;
}
export interface ListSnapshotsResponse {
  entries: { snapshot: Snapshot | null }[];
  next_token: string;
}

// ---------------------------------------------------------------- node

export interface NodeStageVolumeRequest {
  volume_id: string;
  publish_context: StringMap;
  staging_target_path: string;
  volume_capability: VolumeCapability | null;
  secrets: StringMap;
  volume_context: StringMap;
}
export type NodeStageVolumeResponse = Empty;

export interface NodeUnstageVolumeRequest {
  volume_id: string;
  staging_target_path: string;
}
export type NodeUnstageVolumeResponse = Empty;

export interface NodePublishVolumeRequest {
  volume_id: string;
  publish_context: StringMap;
  staging_target_path: string;
  target_path: string;
  volume_capability: VolumeCapability | null;
  readonly: boolean;
  secrets: StringMap;
  volume_context: StringMap;
}
export type NodePublishVolumeResponse = Empty;

export interface NodeUnpublishVolumeRequest {
  volume_id: string;
  target_path: string;
}
export type NodeUnpublishVolumeResponse = Empty;

export interface NodeGetVolumeStatsRequest {
  volume_id: string;
  volume_path: string;
  staging_target_path: string;
}
export interface VolumeUsage {
  available: Int64;
  total: Int64;
  used: Int64;
  unit: 'UNKNOWN' | 'BYTES' | 'INODES';
}
export interface NodeGetVolumeStatsResponse {
  usage: VolumeUsage[];
  volume_condition: VolumeCondition | null;
}

export interface NodeExpandVolumeRequest {
  volume_id: string;
  volume_path: string;
  capacity_range: CapacityRange | null;
  staging_target_path: string;
  volume_capability: VolumeCapability | null;
  secrets: StringMap;
}
export interface NodeExpandVolumeResponse {
  capacity_bytes: Int64;
}

export type NodeRpcType =
  | 'UNKNOWN'
  | 'STAGE_UNSTAGE_VOLUME'
  | 'GET_VOLUME_STATS'
  | 'EXPAND_VOLUME'
  | 'VOLUME_CONDITION'
  | 'SINGLE_NODE_MULTI_WRITER'
  | 'VOLUME_MOUNT_GROUP';

export interface NodeServiceCapability {
  rpc?: { type: NodeRpcType } | null;
  type?: 'rpc';
}

export type NodeGetCapabilitiesRequest = Empty;
export interface NodeGetCapabilitiesResponse {
  capabilities: NodeServiceCapability[];
}

export type NodeGetInfoRequest = Empty;
export interface NodeGetInfoResponse {
  node_id: string;
  max_volumes_per_node: Int64;
  accessible_topology: Topology | null;
}

// ---------------------------------------------------------------- method tables

/** Request/response pairs per service method; the client and server are typed from these. */
export interface IdentityMethods {
  GetPluginInfo: [GetPluginInfoRequest, GetPluginInfoResponse];
  GetPluginCapabilities: [GetPluginCapabilitiesRequest, GetPluginCapabilitiesResponse];
  Probe: [ProbeRequest, ProbeResponse];
}

export interface ControllerMethods {
  CreateVolume: [CreateVolumeRequest, CreateVolumeResponse];
  DeleteVolume: [DeleteVolumeRequest, DeleteVolumeResponse];
  ControllerPublishVolume: [ControllerPublishVolumeRequest, ControllerPublishVolumeResponse];
  ControllerUnpublishVolume: [ControllerUnpublishVolumeRequest, ControllerUnpublishVolumeResponse];
  ValidateVolumeCapabilities: [ValidateVolumeCapabilitiesRequest, ValidateVolumeCapabilitiesResponse];
  ListVolumes: [ListVolumesRequest, ListVolumesResponse];
  GetCapacity: [GetCapacityRequest, GetCapacityResponse];
  ControllerGetCapabilities: [ControllerGetCapabilitiesRequest, ControllerGetCapabilitiesResponse];
  ControllerExpandVolume: [ControllerExpandVolumeRequest, ControllerExpandVolumeResponse];
  CreateSnapshot: [CreateSnapshotRequest, CreateSnapshotResponse];
  DeleteSnapshot: [DeleteSnapshotRequest, DeleteSnapshotResponse];
  ListSnapshots: [ListSnapshotsRequest, ListSnapshotsResponse];
}

export interface NodeMethods {
  NodeStageVolume: [NodeStageVolumeRequest, NodeStageVolumeResponse];
  NodeUnstageVolume: [NodeUnstageVolumeRequest, NodeUnstageVolumeResponse];
  NodePublishVolume: [NodePublishVolumeRequest, NodePublishVolumeResponse];
  NodeUnpublishVolume: [NodeUnpublishVolumeRequest, NodeUnpublishVolumeResponse];
  NodeGetVolumeStats: [NodeGetVolumeStatsRequest, NodeGetVolumeStatsResponse];
  NodeExpandVolume: [NodeExpandVolumeRequest, NodeExpandVolumeResponse];
  NodeGetCapabilities: [NodeGetCapabilitiesRequest, NodeGetCapabilitiesResponse];
  NodeGetInfo: [NodeGetInfoRequest, NodeGetInfoResponse];
}

export interface CsiServiceMethods {
  Identity: IdentityMethods;
  Controller: ControllerMethods;
  Node: NodeMethods;
}

export type CsiServiceName = keyof CsiServiceMethods;
