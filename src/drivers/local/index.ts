// The local CSI driver: public surface for the CLI and the node agent.
export { startLocalDriver } from './driver.js';
export type { LocalDriverHandle, LocalDriverOptions } from './driver.js';
export { LOCAL_DRIVER_USAGE, parseLocalDriverArgs, runLocalDriverCommand } from './command.js';
export type { LocalDriverArgs } from './command.js';
export { DRIVER_NAME, DRIVER_VERSION, TOPOLOGY_KEY, keyOfVolumeId, volumeId, volumeKey } from './names.js';
