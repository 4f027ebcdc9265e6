// The CSI wire layer: load the proto, call drivers, serve drivers, classify their errors.
export { CsiClient, DEFAULT_CSI_TIMEOUT_MS, toUnixTarget, unixSocketPath } from './client.js';
export type { CsiCallLog, CsiCallLogger, CsiCallOptions, CsiClientOptions } from './client.js';
export { CsiError, classify, csiError, isRetryable, status, statusName, toCsiError } from './errors.js';
export type { CsiErrorClass } from './errors.js';
export { CSI_LOADER_OPTIONS, CSI_PACKAGE, CSI_PROTO_PATH, loadCsiDefinitions } from './load.js';
export type { CsiDefinitions, CsiGrpcService } from './load.js';
export { CsiSanitizer, REDACTED, csiSanitizer, findSecretFields, sanitizeMessage } from './sanitize.js';
export type { SecretFieldIndex } from './sanitize.js';
export { removeStaleSocket, serveCsi, serveUntilStopped } from './server.js';
export type {
  CsiCallContext,
  CsiHandler,
  CsiHandlers,
  CsiServerHandle,
  HandlersFor,
  ServeCsiOptions,
  ServerCallLog,
  ServiceHandlers,
} from './server.js';
export * from './types.js';
