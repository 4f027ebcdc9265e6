// The provisioner's decisions, free of IO: whether a claim is ours to provision (claim-plan.ts),
// the CreateVolume request for it (create-request.ts), the PersistentVolume for the driver's answer
// (volume-object.ts), what a failed call means (failure-state.ts), and whether a volume is ours to
// delete (deletion-plan.ts). controller.ts performs what these decide.
export { PlanError } from '../volume/plan-error.js';
export * from './claim-plan.js';
export * from './create-request.js';
export * from './volume-object.js';
export * from './failure-state.js';
export * from './deletion-plan.js';
