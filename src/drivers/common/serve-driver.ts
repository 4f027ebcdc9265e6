// Every driver serves its handlers the same way: on a CSI socket, each call logged (failures as
// warnings), with a handle that only knows where it listens and how to stop.
import type { CsiHandlers } from '../../csi/server.js';
import { serveCsi } from '../../csi/server.js';
import type { Logger } from '../../machinery/logger.js';

export interface DriverHandle {
  endpoint: string;
  socketPath: string;
  shutdown(): Promise<void>;
}

export async function serveDriver(
  endpoint: string,
  handlers: CsiHandlers,
  log: Logger,
): Promise<DriverHandle> {
  const server = await serveCsi(endpoint, handlers, {
    // Requests arrive redacted (secrets are CSI secret fields), so logging them leaks no key.
    logger: (entry) => {
      if (entry.error) log.warn(`${entry.method} failed`, { request: entry.request, error: entry.error });
      // A getter: the request is redacted only when the logger writes debug lines at all.
      else
        log.debug(entry.method, {
          get request() {
            return entry.request;
          },
        });
    },
  });
  return { endpoint: server.endpoint, socketPath: server.socketPath, shutdown: () => server.shutdown() };
}
