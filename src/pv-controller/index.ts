// The PV controller (binder): binds claims to volumes, reclaims released volumes, and keeps the
// protection finalizers, as Kubernetes' persistentvolume and pvc/pv-protection controllers do.
export { PvController, DEFAULT_RESYNC_MS } from './controller.js';
export type { PvControllerDeps } from './controller.js';
export { FsRecycler, RecycleRefusedError } from './recycler.js';
export type { FsRecyclerOptions } from './recycler.js';
export { VolumeIndex } from './volume-index.js';
export { syncClaim, syncVolume } from './decide.js';
export type { BinderView } from './decide.js';
export type { Action, Decision } from './actions.js';
