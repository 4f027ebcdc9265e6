export { Resizer } from './controller.js';
export type { ResizerDeps, ResizerEventSink } from './controller.js';
export * from './decide.js';
