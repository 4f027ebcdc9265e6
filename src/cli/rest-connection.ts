// A component's store when it runs on its own: the ObjectStore contract over the API server of a
// Connection (a --kubeconfig, or the in-cluster configuration with its rotating token).
import type { Connection } from '../client/in-cluster.js';
import type { Logger } from '../machinery/logger.js';
import { RestStore } from '../machinery/rest-store.js';

export function connectStore(connection: Connection, logger: Logger): RestStore {
  const { server, ...rest } = connection.target;
  return RestStore.connect({ ...rest, servers: [server] }, { fetch: connection.fetch, logger });
}
