// `--csi-driver name=socket`: how a third-party CSI driver is handed to the node agent by flag.
import type { DriverEndpoint } from './registration.js';

/** Parses `name=/path/to/csi.sock` (or `name=unix:///path`); throws with the expected form. */
export function parseCsiDriverFlag(value: string): DriverEndpoint {
  const eq = value.indexOf('=');
  const name = eq > 0 ? value.slice(0, eq).trim() : '';
  const endpoint = eq > 0 ? value.slice(eq + 1).trim() : '';
  if (!name || !endpoint) {
    throw new Error(`--csi-driver "${value}" must look like <driver-name>=<socket path or unix:// URL>`);
  }
  return { name, endpoint };
}
