// Local disk discovery (local-static-provisioner's job, run inside the node agent).
export { DEFAULT_DISCOVERY_DIR, resolveDiscoveryClass } from './config.js';
export type { DiscoveryClass, ResolvedDiscoveryClass } from './config.js';
export {
  PROVISIONED_BY_ANNOTATION,
  decideDiscovery,
  discoveredVolume,
  discoveredVolumeName,
  discoveryProvisionerName,
  roundDownCapacity,
} from './decide.js';
export type { DiscoveredDisk, DiscoveryAction, DiscoveryView } from './decide.js';
export { LocalDiscovery } from './discovery.js';
export type { LocalDiscoveryDeps } from './discovery.js';
export { scanClass } from './scan.js';
export { scrubDisk } from './scrub.js';
export type { ScrubRequest } from './scrub.js';
