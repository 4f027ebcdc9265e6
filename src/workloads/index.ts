// Workload controllers: StatefulSets with volumeClaimTemplates.
export { StatefulSetController, STATEFULSET_COMPONENT } from './controller.js';
export type { StatefulSetControllerDeps } from './controller.js';
export { decideStatefulSet, isPodReady } from './decide.js';
export type { StatefulSetAction, StatefulSetState, StatefulSetStatus } from './decide.js';
export { buildClaims, buildPod, claimName, podName } from './identity.js';
