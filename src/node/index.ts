// The berth node agent: CSI plugin registration and the stage/publish reconciler.
export { NodeAgent } from './agent.js';
export type { NodeAgentDeps } from './agent.js';
export { NodeFlexVolumes } from './flex-volumes.js';
export type { FlexAttachMode, NodeFlexVolumesDeps } from './flex-volumes.js';
export { ActualState } from './actual-state.js';
export { bindTargetOf, decideBinds } from './bind-decide.js';
export type { BindAction, FoundBind } from './bind-decide.js';
export { BindOperations, pathKind, scanBinds } from './bind-operations.js';
export { HOST_PATH_TYPES, checkHostPathType } from './host-path-type.js';
export type { HostPathType, HostPathVerdict, PathKind } from './host-path-type.js';
export {
  DEFAULT_DISCOVERY_DIR,
  LocalDiscovery,
  decideDiscovery,
  discoveredVolumeName,
  discoveryProvisionerName,
} from './discovery/index.js';
export type { DiscoveryClass } from './discovery/index.js';
export {
  CONTROLLER_MANAGED_ATTACH_ANNOTATION,
  HOSTNAME_LABEL,
  NODE_ID_ANNOTATION,
  csiNodeDriverEntry,
  nodeIdAnnotation,
  topologyLabels,
  withDriver,
  withoutDriver,
} from './csinode.js';
export { decidePod, decideVolume, isWait, volumePathsValue } from './decide.js';
export type {
  ActualPublish,
  ActualVolume,
  AttachmentState,
  MountState,
  PodAction,
  PodView,
  VolumeAction,
  VolumeView,
} from './decide.js';
export {
  NODE_VOLUMES_FINALIZER,
  VOLUME_PATHS_ANNOTATION,
  computeDesiredState,
  flexUniqueName,
  hasFinalizer,
  podNeedsFinalizer,
} from './desired-state.js';
export type {
  DesiredBind,
  DesiredState,
  DesiredStateView,
  DesiredVolume,
  PodUse,
  PodVolumeState,
} from './desired-state.js';
export { NodeObject } from './node-object.js';
export { VolumeOperationError, VolumeOperations } from './operations.js';
export type { MountTableReader } from './operations.js';
export {
  CSI_PLUGIN_DIR,
  CSI_PLUGIN_NAME,
  HOST_PATH_PLUGIN_DIR,
  LOCAL_VOLUME_PLUGIN_DIR,
  NodePaths,
  escapeQualifiedName,
  sha256Hex,
} from './paths.js';
export { PluginWatcher } from './plugin-watcher.js';
export {
  CSI_PLUGIN_TYPE,
  REGISTRATION_PROTO_PATH,
  RegistrationClient,
  highestSupportedVersion,
  serveRegistrar,
} from './registration-protocol.js';
export type {
  PluginInfo,
  RegistrarHandle,
  RegistrarOptions,
  RegistrationStatus,
} from './registration-protocol.js';
export { DriverRegistry } from './registration.js';
export type { DriverEndpoint, RegisteredDriver } from './registration.js';
export { readVolData, scanPublished, scanStaged, writeVolData } from './vol-data.js';
export type { PublishVolumeData, StageVolumeData } from './vol-data.js';
export { parseCsiDriverFlag, parseCsiDriverFlags } from './driver-flag.js';
