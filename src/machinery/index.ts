// The machinery every controller is built from, in one import.
export * from './clock.js';
export * from './logger.js';
export * from './rate-limiter.js';
export * from './workqueue.js';
export * from './controller.js';
export * from './informer.js';
export * from './events.js';
export * from './leader-election.js';
export * from './indexed-cache.js';
export * from './item-backoff.js';
export * from './event-ttl.js';
export * from './shared-cache.js';
export * from './settled-resync.js';
export * from './indexes.js';
export * from './rest-store.js';
