// `--csi-driver name=socket`: how a third-party CSI driver is handed to the node agent by flag.
import { csiDriverNameErrors } from '../api/validation/storage.js';
import type { DriverEndpoint } from './registration.js';

/** Parses `name=/path/to/csi.sock` (or `name=unix:///path`); throws with the expected form. */
export function parseCsiDriverFlag(value: string): DriverEndpoint {
  const eq = value.indexOf('=');
  const name = eq > 0 ? value.slice(0, eq).trim() : '';
  const endpoint = eq > 0 ? value.slice(eq + 1).trim() : '';
  if (!name || !endpoint) {
    throw new Error(`--csi-driver "${value}" must look like <driver-name>=<socket path or unix:// URL>`);
  }
  const [nameError] = csiDriverNameErrors(name);
  if (nameError) throw new Error(`--csi-driver "${value}": driver name "${name}" is invalid: ${nameError}`);
  return { name, endpoint };
}

/** Every `--csi-driver` given; one driver name twice is a mistake (which socket is meant?). */
export function parseCsiDriverFlags(values: readonly string[]): DriverEndpoint[] {
  const drivers = values.map(parseCsiDriverFlag);
  const seen = new Set<string>();
  for (const { name } of drivers) {
    if (seen.has(name)) throw new Error(`--csi-driver: driver "${name}" is given more than once`);
    seen.add(name);
  }
  return drivers;
}
