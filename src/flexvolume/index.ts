// FlexVolume: driver discovery, the exec call-out protocol, and the node-side volume reconciler.
export {
  DEFAULT_CALL_TIMEOUT_MS,
  FLEX_COMMANDS,
  FlexError,
  NOT_SUPPORTED,
  callDriver,
  driverStatusSchema,
  interpretCall,
  isFlexError,
  parseDriverOutput,
} from './call.js';
export type { CallResult, CallTarget, DriverStatus, FlexCommand, FlexErrorKind } from './call.js';
export { DEFAULT_CAPABILITIES, FlexDriverProber } from './discovery.js';
export type {
  DriverChange,
  FlexCapabilities,
  FlexDriver,
  FlexDriverLookup,
  FlexDriverProberOptions,
} from './discovery.js';
export { FlexVolumeHost, driverOfDeviceMountPath, driverOfPodVolumePath } from './host.js';
export type { FlexVolumeHostOptions, SecretReader } from './host.js';
export type { AttachOperations } from '../volume/flex-spec.js';
export {
  FLEX_PLUGIN_NAME_PREFIX,
  FlexPaths,
  escapedDriverName,
  parseDriverName,
  parsePluginDirName,
  parseUniqueFlexVolumeName,
  uniqueFlexVolumeName,
} from '../volume/flex-names.js';
export * from './options.js';
export { FlexVolumeReconciler } from './reconciler.js';
export type { FlexEventSink, FlexPodStatus, FlexReconcilerOptions, MountedFlexVolume } from './reconciler.js';
export {
  flexSpecFromPodVolume,
  flexSpecFromVolume,
  flexVolumeLabel,
  flexVolumesOfPod,
  inlineFlexVolumeName,
} from '../volume/flex-spec.js';
export type { FlexVolumeSpec, PodFlexVolumes, PodVolumeLookup } from '../volume/flex-spec.js';
