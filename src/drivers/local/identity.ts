// Identity service of the local driver.
import { promises as fs, constants } from 'node:fs';
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import type { LocalDriverContext } from './context.js';
import { DRIVER_NAME, DRIVER_VERSION } from './names.js';

export function identityHandlers(ctx: LocalDriverContext): ServiceHandlers<'Identity'> {
  return {
    GetPluginInfo: async () => ({ name: DRIVER_NAME, vendor_version: DRIVER_VERSION }),
    GetPluginCapabilities: async () => ({
      capabilities: [
        { service: { type: 'CONTROLLER_SERVICE' } },
        { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } },
        { volume_expansion: { type: 'ONLINE' } },
      ],
    }),
    Probe: async () => {
      try {
        await fs.access(ctx.store.dataDir, constants.R_OK | constants.W_OK);
      } catch (err) {
        throw csiError(status.FAILED_PRECONDITION, `data directory is not usable: ${(err as Error).message}`);
      }
      return { ready: { value: true } };
    },
  };
}
