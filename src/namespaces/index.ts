export { NamespaceController, type NamespaceControllerDeps } from './controller.js';
export {
  decideNamespace,
  isBeingEmptied,
  namespaceConditions,
  type NamespaceAction,
  type NamespaceCondition,
  type NamespaceContent,
  type NamespaceDecision,
} from './decide.js';
