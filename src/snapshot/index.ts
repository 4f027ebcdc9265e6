export { SnapshotController } from './controller.js';
export type { SnapshotControllerDeps } from './controller.js';
export { Snapshotter } from './snapshotter.js';
export type { SnapshotterDeps } from './snapshotter.js';
