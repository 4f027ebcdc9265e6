// Workload controllers: StatefulSets with volumeClaimTemplates; Deployments, ReplicaSets and Jobs.
export { StatefulSetController, STATEFULSET_COMPONENT } from './controller.js';
export type { StatefulSetControllerDeps } from './controller.js';
export { decideStatefulSet, isPodReady } from './decide.js';
export type { StatefulSetAction, StatefulSetState, StatefulSetStatus } from './decide.js';
export { buildClaims, buildPod, claimName, podName } from './identity.js';
export { AppsControllers } from './apps-controller.js';
export type { AppsControllersDeps } from './apps-controller.js';
export { decideDeployment } from './deployment-decide.js';
export { decideReplicaSet } from './replicaset-decide.js';
export { decideJob } from './job-decide.js';
