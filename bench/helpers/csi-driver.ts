// The smallest CSI driver a provisioning benchmark needs: identity and CreateVolume/DeleteVolume
// over a real unix socket, volumes kept in memory (idempotent by name, capacity accounted), so the
// figures measure berth's controllers and the gRPC path, not a backend.
import { csiError, status } from '../../src/csi/errors.js';
import { serveCsi } from '../../src/csi/server.js';
import type { CsiServerHandle } from '../../src/csi/server.js';
import { fromBigInt, toBigInt } from '../../src/csi/types.js';

export interface BenchDriver {
  endpoint: string;
  /** Volumes the driver holds now. */
  volumeCount(): number;
  shutdown(): Promise<void>;
}

const DEFAULT_SIZE = 1n << 30n;

export async function startBenchDriver(
  name: string,
  socketPath: string,
  capacityBytes: bigint,
): Promise<BenchDriver> {
  const volumes = new Map<string, { id: string; bytes: bigint }>();
  const ids = new Map<string, string>();
  let used = 0n;
  let nextId = 1;
  const server: CsiServerHandle = await serveCsi(
    socketPath,
    {
      identity: {
        GetPluginInfo: async () => ({ name, vendor_version: '0.1.0' }),
        GetPluginCapabilities: async () => ({ capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }] }),
        Probe: async () => ({ ready: { value: true } }),
      },
      controller: {
        ControllerGetCapabilities: async () => ({
          capabilities: [{ rpc: { type: 'CREATE_DELETE_VOLUME' } }],
        }),
        CreateVolume: async (req) => {
          if (!req.name) throw csiError(status.INVALID_ARGUMENT, 'name is required');
          const size = toBigInt(req.capacity_range?.required_bytes) || DEFAULT_SIZE;
          let volume = volumes.get(req.name);
          if (!volume) {
            if (used + size > capacityBytes) {
              throw csiError(status.RESOURCE_EXHAUSTED, `not enough capacity for ${size} bytes`);
            }
            volume = { id: `bench-vol-${nextId++}`, bytes: size };
            volumes.set(req.name, volume);
            ids.set(volume.id, req.name);
            used += size;
          }
          return { volume: { volume_id: volume.id, capacity_bytes: fromBigInt(volume.bytes) } };
        },
        DeleteVolume: async (req) => {
          const volumeName = ids.get(req.volume_id);
          const volume = volumeName === undefined ? undefined : volumes.get(volumeName);
          if (volumeName !== undefined && volume) {
            volumes.delete(volumeName);
            ids.delete(req.volume_id);
            used -= volume.bytes;
          }
          return {};
        },
      },
    },
    { shutdownTimeoutMs: 1_000 },
  );
  return {
    endpoint: server.endpoint,
    volumeCount: () => volumes.size,
    shutdown: () => server.shutdown(),
  };
}
