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
