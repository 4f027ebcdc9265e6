// The kubelet plugin-registration protocol (pluginregistration.Registration over a unix socket):
// a client for the node agent's watcher, and a small server that plays node-driver-registrar
// for drivers berth runs itself (and for tests).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { toUnixTarget } from '../csi/client.js';
import { removeStaleSocket } from '../csi/server.js';

export const REGISTRATION_PROTO_PATH = path.resolve(
  import.meta.dirname,
  '..',
  '..',
  'proto',
  'pluginregistration.proto',
);

export const CSI_PLUGIN_TYPE = 'CSIPlugin';

export interface PluginInfo {
  type: string;
  name: string;
  endpoint: string;
  supported_versions: string[];
}

export interface RegistrationStatus {
  plugin_registered: boolean;
  error: string;
}

let cached: grpc.ServiceClientConstructor | undefined;

function registrationService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const definition = protoLoader.loadSync(REGISTRATION_PROTO_PATH, {
    keepCase: true,
    defaults: true,
    longs: String,
    enums: String,
  });
  const pkg = grpc.loadPackageDefinition(definition)['pluginregistration'] as grpc.GrpcObject;
  cached = pkg['Registration'] as grpc.ServiceClientConstructor;
  return cached;
}

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, value?: unknown) => void,
) => void;

/** The node agent's side: ask a registration socket what it is, then tell it how that went. */
export class RegistrationClient {
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;

  constructor(socketPath: string, timeoutMs = 10_000) {
    const Ctor = registrationService();
    this.client = new Ctor(toUnixTarget(socketPath), grpc.credentials.createInsecure());
    this.timeoutMs = timeoutMs;
  }

  getInfo(): Promise<PluginInfo> {
    return this.call('GetInfo', {}) as Promise<PluginInfo>;
  }

  async notifyRegistrationStatus(status: RegistrationStatus): Promise<void> {
    await this.call('NotifyRegistrationStatus', status);
  }

  close(): void {
    this.client.close();
  }

  private call(method: string, request: unknown): Promise<unknown> {
    const stub = (this.client as unknown as Record<string, Unary>)[method];
    if (!stub) return Promise.reject(new Error(`pluginregistration.Registration/${method} unknown`));
    const deadline = new Date(Date.now() + this.timeoutMs);
    return new Promise((resolve, reject) => {
      stub.call(this.client, request, new grpc.Metadata(), { deadline }, (err, value) => {
        if (err) reject(err);
        else resolve(value);
      });
    });
  }
}

export interface RegistrarOptions {
  /** The registration socket, normally <rootDir>/plugins_registry/<driver>-reg.sock. */
  socketPath: string;
  driverName: string;
  /** The driver's CSI socket path, as the node agent will dial it. */
  endpoint: string;
  supportedVersions?: string[];
  /** Called with every NotifyRegistrationStatus the node agent sends. */
  onStatus?: (status: RegistrationStatus) => void;
}

export interface RegistrarHandle {
  socketPath: string;
  /** Every status the node agent reported, oldest first. */
  statuses: RegistrationStatus[];
  shutdown(): Promise<void>;
}

/**
 * Serves pluginregistration.Registration for one CSI driver (what node-driver-registrar does).
 * Removing the socket (shutdown) is how the node agent learns the driver went away.
 */
export async function serveRegistrar(options: RegistrarOptions): Promise<RegistrarHandle> {
  await fs.mkdir(path.dirname(options.socketPath), { recursive: true });
  await removeStaleSocket(options.socketPath);
  const statuses: RegistrationStatus[] = [];
  const server = new grpc.Server();
  const info: PluginInfo = {
    type: CSI_PLUGIN_TYPE,
    name: options.driverName,
    endpoint: options.endpoint,
    supported_versions: options.supportedVersions ?? ['1.0.0'],
  };
  server.addService(registrationService().service, {
    GetInfo: (_call: unknown, cb: grpc.sendUnaryData<PluginInfo>) => cb(null, info),
    NotifyRegistrationStatus: (
      call: grpc.ServerUnaryCall<RegistrationStatus, object>,
      cb: grpc.sendUnaryData<object>,
    ) => {
      statuses.push(call.request);
      try {
        options.onStatus?.(call.request);
      } catch {
        // a throwing observer must not fail the RPC
      }
      cb(null, {});
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(toUnixTarget(options.socketPath), grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    );
  });
  return {
    socketPath: options.socketPath,
    statuses,
    shutdown: async () => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await fs.rm(options.socketPath, { force: true });
    },
  };
}

/**
 * Kubelet's rule: ignore versions with major > 1; the highest remaining must be 1.x.
 * Returns the highest 1.x version, or an error message.
 */
export function highestSupportedVersion(
  versions: readonly string[],
): { version: string } | { error: string } {
  if (versions.length === 0) return { error: 'plugin reported no supported versions' };
  let best: [number, number, number] | undefined;
  let bestText = '';
  for (const text of versions) {
    const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text.trim());
    if (!m) continue;
    const v: [number, number, number] = [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
    if (v[0] > 1) continue;
    if (
      !best ||
      v[0] > best[0] ||
      (v[0] === best[0] && (v[1] > best[1] || (v[1] === best[1] && v[2] > best[2])))
    ) {
      best = v;
      bestText = text;
    }
  }
  if (!best || best[0] !== 1) {
    return {
      error: `highest supported version reported by driver is ${bestText || versions.join(',')}, must be v1.x`,
    };
  }
  return { version: bestText };
}
