// The NFS CSI driver: public surface for the CLI and the node agent.
export { DEFAULT_MOUNT_TIMEOUT_MS, defaultShareOpener, startNfsDriver } from './driver.js';
export type { NfsDriverHandle, NfsDriverOptions } from './driver.js';
export { NFS_DRIVER_USAGE, parseNfsDriverArgs, runNfsDriverCommand } from './command.js';
export { DRIVER_NAME, DRIVER_VERSION, decodeVolumeId, encodeVolumeId, mountSource } from './names.js';
export type { NfsVolumeRef, OnDelete } from './names.js';
export { planVolume } from './params.js';
export type { NfsVolumePlan } from './params.js';
export { contextValue, nfsSourceToVolumeContext, nfsSourceToVolumeHandle } from './static-source.js';
