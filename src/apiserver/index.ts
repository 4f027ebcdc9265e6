// The API server's public surface.
export { startApiServer, BUILTIN_NAMESPACES, type ApiServer, type ApiServerOptions } from './server.js';
export { ensureCredentials, KUBECONFIG_FILE, TOKEN_FILE, type Credentials } from './credentials.js';
export { admitCreate, withDefaultStorageClass, withProtectionFinalizer } from './admission.js';
export { AdmittedStore, BERTH_FIELD_MANAGER } from './admitted-store.js';
