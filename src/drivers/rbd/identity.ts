// Identity service of the RBD driver.
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import type { RbdDriverContext } from './context.js';
import { DRIVER_NAME, DRIVER_VERSION } from './names.js';

export function identityHandlers(ctx: RbdDriverContext): ServiceHandlers<'Identity'> {
  return {
    GetPluginInfo: async () => ({ name: DRIVER_NAME, vendor_version: DRIVER_VERSION }),
    GetPluginCapabilities: async () => ({
      capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { volume_expansion: { type: 'ONLINE' } }],
    }),
    Probe: async () => {
      try {
        await ctx.exec.run('rbd', ['--version'], { timeoutMs: 10_000 });
      } catch (err) {
        throw csiError(status.FAILED_PRECONDITION, `the rbd command is missing: ${(err as Error).message}`);
      }
      return { ready: { value: true } };
    },
  };
}
