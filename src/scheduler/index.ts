// The scheduler: places pods on nodes with Kubernetes' volume topology rules (VolumeBinding).
export { Scheduler } from './controller.js';
export type { SchedulerDeps } from './controller.js';
export { decideSchedule } from './decide.js';
export type { ScheduleDecision, VolumeAction } from './decide.js';
export { viewOf } from './view.js';
export type { SchedulerView, StorageCapacity, ViewObjects } from './view.js';
export * from './reasons.js';
