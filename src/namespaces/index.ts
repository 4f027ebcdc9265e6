export { NamespaceController, type NamespaceControllerDeps } from './controller.js';
export {
  decideNamespace,
  isBeingEmptied,
  type NamespaceAction,
  type NamespaceCondition,
  type NamespaceContent,
  type NamespaceDecision,
} from './decide.js';
