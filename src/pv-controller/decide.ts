// The binder's decisions, Kubernetes' syncClaim and syncVolume state machines as pure functions:
// objects and a read-only view in, actions out. No IO and no clock: `now` is passed in.
// Kubernetes' rules are followed step for step (see the PV controller's syncUnboundClaim,
// syncBoundClaim, syncVolume, bind, reclaimVolume and the protection controllers), with two
// berth choices: a claim being deleted is never bound, and protection finalizers are installed by
// the same writes that bind (for objects created without admission).
// The claim machine is in claim-sync.ts, the volume machine in volume-sync.ts, what both use in
// decide-common.ts.
export type { BinderView, SyncVolumeOptions } from './decide-common.js';
export { bindActions, unbindActions } from './decide-common.js';
export { isDelayBinding, syncClaim } from './claim-sync.js';
export { isRecyclable, recycledActions, recycleFailedActions, syncVolume } from './volume-sync.js';
