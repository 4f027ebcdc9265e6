// Identity service of the NFS driver.
import type { ServiceHandlers } from '../../csi/server.js';
import { DRIVER_NAME, DRIVER_VERSION } from './names.js';

export function identityHandlers(): ServiceHandlers<'Identity'> {
  return {
    GetPluginInfo: async () => ({ name: DRIVER_NAME, vendor_version: DRIVER_VERSION }),
    GetPluginCapabilities: async () => ({
      capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { volume_expansion: { type: 'ONLINE' } }],
    }),
    // Nothing local to check: each NFS server is reached per call, and its failures are per volume.
    Probe: async () => ({ ready: { value: true } }),
  };
}
