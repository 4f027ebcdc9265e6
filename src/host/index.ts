// Node-side mount utilities shared by the local driver and the node agent.
export {
  deviceSizeBytes,
  deviceView,
  isDeviceBindOf,
  isFilesystemMountOf,
  majorMinorOf,
  mountPointsUsing,
} from './device-mounts.js';
export type { DeviceView } from './device-mounts.js';
export { DEFAULT_EXEC_TIMEOUT_MS, ExecError, systemExec } from './exec.js';
export type { Exec, ExecOptions, ExecResult, SystemExecOptions } from './exec.js';
export { FileCopies } from './file-copy.js';
export { Filesystems, SUPPORTED_FS_TYPES, isSupportedFsType } from './filesystem.js';
export type { SupportedFsType } from './filesystem.js';
export { LoopDevices, cleanBackingFile, parseLosetupAssociations } from './loop.js';
export type { LoopDevice, LoopDevicesOptions } from './loop.js';
export {
  isReadOnly,
  parseMountInfo,
  parseMountInfoLine,
  procMountInfoReader,
  topMountAt,
  unescapeMountPath,
} from './mountinfo.js';
export type { MountInfoEntry, MountInfoReader } from './mountinfo.js';
export { SystemMounter, canonicalPath } from './mounter.js';
export type { MountOptions, Mounter, SystemMounterOptions } from './mounter.js';
