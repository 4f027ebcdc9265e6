// berth's external-provisioner: CreateVolume for claims of a CSI driver's classes, DeleteVolume for
// their released volumes.
export {
  Provisioner,
  DEFAULT_CSI_CALL_TIMEOUT_MS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_WORKERS,
} from './controller.js';
export type { ProvisionerDeps, ProvisionerEventSink } from './controller.js';
export * from '../volume/provisioning-names.js';
export * from './plan.js';
export type { DriverCapabilities } from './capabilities.js';
export { csiAccessMode, decideCapabilities } from './capabilities.js';
export { secretReference, secretContents } from '../volume/secrets.js';
export type { SecretOperation, SecretTemplateContext } from '../volume/secrets.js';
export { accessibilityRequirements, flattenAllowedTopologies, nodeAffinityFor } from './topology.js';
export type { TopologyView } from './topology.js';
export { CapacityPublisher, DEFAULT_CAPACITY_NAMESPACE, DEFAULT_CAPACITY_POLL_MS } from './capacity.js';
export type { CapacityPublisherDeps } from './capacity.js';
