// The RBD CSI driver: public surface for the CLI.
export { DEFAULT_STATE_DIR, startRbdDriver } from './driver.js';
export type { RbdDriverHandle, RbdDriverOptions } from './driver.js';
export { RBD_DRIVER_USAGE, parseRbdDriverArgs, runRbdDriverCommand } from './command.js';
export type { RbdDriverArgs } from './command.js';
export { ClusterConfigs, MOUNTERS, loadClusterConfig, parseClusterConfig } from './config.js';
export type { ClusterConfig, MounterName } from './config.js';
export { DRIVER_NAME, DRIVER_VERSION, composeVolumeId, parseVolumeId } from './names.js';
