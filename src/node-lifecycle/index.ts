export { NodeLifecycleController, type NodeLifecycleDeps } from './controller.js';
export {
  decideNode,
  observeNode,
  taintsFor,
  DEFAULT_NODE_STARTUP_GRACE_MS,
  type NodeProbe,
  type NodeDecision,
  type NodeLifecycleAction,
  type HealthTiming,
} from './decide.js';
export { TaintEvictionController, type TaintEvictionDeps } from './taint-eviction-controller.js';
export {
  decideTaintEviction,
  isStrandedOnOutOfServiceNode,
  minTolerationMs,
  type EvictionDecision,
} from './taint-eviction.js';
