// Typed CSI client over a unix socket: one channel shared by the Identity, Controller and Node stubs,
// a deadline on every call, and a logging hook that only ever sees redacted messages.
import * as grpc from '@grpc/grpc-js';
import { CsiError, toCsiError } from './errors.js';
import { loadCsiDefinitions } from './load.js';
import { observeCsiCall } from './metrics.js';
import { sanitizeMessage } from './sanitize.js';
import type {
  ControllerMethods,
  CsiServiceMethods,
  CsiServiceName,
  IdentityMethods,
  NodeMethods,
  PartialMessage,
} from './types.js';

export const DEFAULT_CSI_TIMEOUT_MS = 30_000;

export interface CsiCallLog {
  service: CsiServiceName;
  method: string;
  /** Redacted: fields marked csi_secret are replaced. */
  request: unknown;
  response?: unknown;
  error?: { code: number; codeName: string; message: string };
  durationMs: number;
}

export type CsiCallLogger = (entry: CsiCallLog) => void;

export interface CsiClientOptions {
  /** Default deadline per call. */
  timeoutMs?: number;
  logger?: CsiCallLogger;
  channelOptions?: grpc.ChannelOptions;
  /** Injectable clock, for tests of durations. */
  now?: () => number;
  /** The driver_name of this client's calls in metrics; learnt from GetPluginInfo when absent. */
  driverName?: string;
}

export interface CsiCallOptions {
  timeoutMs?: number;
}

/** `unix:///run/csi.sock`, `unix:/run/csi.sock` or a plain path -> a grpc-js target. */
export function toUnixTarget(endpoint: string): string {
  if (endpoint.startsWith('unix:')) return endpoint;
  return endpoint.startsWith('/') ? `unix://${endpoint}` : `unix:${endpoint}`;
}

/** The filesystem path of a unix endpoint in any of the accepted spellings. */
export function unixSocketPath(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return endpoint.slice('unix://'.length);
  if (endpoint.startsWith('unix:')) return endpoint.slice('unix:'.length);
  return endpoint;
}

type UnaryCallback = (err: grpc.ServiceError | null, value?: unknown) => void;
type UnaryStub = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: UnaryCallback,
) => grpc.ClientUnaryCall;

type Req<S extends CsiServiceName, M extends keyof CsiServiceMethods[S]> = CsiServiceMethods[S][M] extends [
  infer Q,
  unknown,
]
  ? Q
  : never;
type Res<S extends CsiServiceName, M extends keyof CsiServiceMethods[S]> = CsiServiceMethods[S][M] extends [
  unknown,
  infer R,
]
  ? R
  : never;

export class CsiClient {
  readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly logger: CsiCallLogger | undefined;
  private readonly now: () => number;
  private readonly stubs: Record<CsiServiceName, grpc.Client>;
  private driverName: string;

  constructor(endpoint: string, options: CsiClientOptions = {}) {
    this.endpoint = endpoint;
    this.driverName = options.driverName ?? 'unknown';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CSI_TIMEOUT_MS;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    const { clients } = loadCsiDefinitions();
    const target = toUnixTarget(endpoint);
    const credentials = grpc.credentials.createInsecure();
    // channelz (grpc-js's call statistics) is off unless asked for: nothing here reads it.
    const channelOptions = { 'grpc.enable_channelz': 0, ...options.channelOptions };
    const identity = new clients.Identity(target, credentials, channelOptions);
    const shared = { ...channelOptions, channelOverride: identity.getChannel() };
    this.stubs = {
      Identity: identity,
      Controller: new clients.Controller(target, credentials, shared),
      Node: new clients.Node(target, credentials, shared),
    };
  }

  /** Resolves once the socket accepts connections; rejects with DEADLINE_EXCEEDED otherwise. */
  async waitForReady(timeoutMs: number = this.timeoutMs): Promise<void> {
    const deadline = new Date(this.now() + timeoutMs);
    await new Promise<void>((resolve, reject) => {
      this.stubs.Identity.waitForReady(deadline, (err) => {
        if (err) reject(new CsiError(grpc.status.DEADLINE_EXCEEDED, `${this.endpoint}: ${err.message}`));
        else resolve();
      });
    });
  }

  close(): void {
    for (const stub of Object.values(this.stubs)) stub.close();
  }

  // Identity
  getPluginInfo(req: PartialMessage<IdentityMethods['GetPluginInfo'][0]> = {}, opts?: CsiCallOptions) {
    return this.call('Identity', 'GetPluginInfo', req, opts);
  }
  getPluginCapabilities(
    req: PartialMessage<IdentityMethods['GetPluginCapabilities'][0]> = {},
    opts?: CsiCallOptions,
  ) {
    return this.call('Identity', 'GetPluginCapabilities', req, opts);
  }
  probe(req: PartialMessage<IdentityMethods['Probe'][0]> = {}, opts?: CsiCallOptions) {
    return this.call('Identity', 'Probe', req, opts);
  }

  // Controller
  createVolume(req: PartialMessage<ControllerMethods['CreateVolume'][0]>, opts?: CsiCallOptions) {
    return this.call('Controller', 'CreateVolume', req, opts);
  }
  deleteVolume(req: PartialMessage<ControllerMethods['DeleteVolume'][0]>, opts?: CsiCallOptions) {
    return this.call('Controller', 'DeleteVolume', req, opts);
  }
  controllerPublishVolume(
    req: PartialMessage<ControllerMethods['ControllerPublishVolume'][0]>,
    opts?: CsiCallOptions,
  ) {
    return this.call('Controller', 'ControllerPublishVolume', req, opts);
  }
  controllerUnpublishVolume(
    req: PartialMessage<ControllerMethods['ControllerUnpublishVolume'][0]>,
    opts?: CsiCallOptions,
  ) {
    return this.call('Controller', 'ControllerUnpublishVolume', req, opts);
  }
  validateVolumeCapabilities(
    req: PartialMessage<ControllerMethods['ValidateVolumeCapabilities'][0]>,
    opts?: CsiCallOptions,
  ) {
    return this.call('Controller', 'ValidateVolumeCapabilities', req, opts);
  }
  listVolumes(req: PartialMessage<ControllerMethods['ListVolumes'][0]> = {}, opts?: CsiCallOptions) {
    return this.call('Controller', 'ListVolumes', req, opts);
  }
  getCapacity(req: PartialMessage<ControllerMethods['GetCapacity'][0]> = {}, opts?: CsiCallOptions) {
    return this.call('Controller', 'GetCapacity', req, opts);
  }
  controllerGetCapabilities(
    req: PartialMessage<ControllerMethods['ControllerGetCapabilities'][0]> = {},
    opts?: CsiCallOptions,
  ) {
    return this.call('Controller', 'ControllerGetCapabilities', req, opts);
  }
  controllerExpandVolume(
    req: PartialMessage<ControllerMethods['ControllerExpandVolume'][0]>,
    opts?: CsiCallOptions,
  ) {
    return this.call('Controller', 'ControllerExpandVolume', req, opts);
  }
  createSnapshot(req: PartialMessage<ControllerMethods['CreateSnapshot'][0]>, opts?: CsiCallOptions) {
    return this.call('Controller', 'CreateSnapshot', req, opts);
  }
  deleteSnapshot(req: PartialMessage<ControllerMethods['DeleteSnapshot'][0]>, opts?: CsiCallOptions) {
    return this.call('Controller', 'DeleteSnapshot', req, opts);
  }
  listSnapshots(req: PartialMessage<ControllerMethods['ListSnapshots'][0]> = {}, opts?: CsiCallOptions) {
    return this.call('Controller', 'ListSnapshots', req, opts);
  }

  // Node
  nodeStageVolume(req: PartialMessage<NodeMethods['NodeStageVolume'][0]>, opts?: CsiCallOptions) {
    return this.call('Node', 'NodeStageVolume', req, opts);
  }
  nodeUnstageVolume(req: PartialMessage<NodeMethods['NodeUnstageVolume'][0]>, opts?: CsiCallOptions) {
    return this.call('Node', 'NodeUnstageVolume', req, opts);
  }
  nodePublishVolume(req: PartialMessage<NodeMethods['NodePublishVolume'][0]>, opts?: CsiCallOptions) {
    return this.call('Node', 'NodePublishVolume', req, opts);
  }
  nodeUnpublishVolume(req: PartialMessage<NodeMethods['NodeUnpublishVolume'][0]>, opts?: CsiCallOptions) {
    return this.call('Node', 'NodeUnpublishVolume', req, opts);
  }
  nodeGetVolumeStats(req: PartialMessage<NodeMethods['NodeGetVolumeStats'][0]>, opts?: CsiCallOptions) {
    return this.call('Node', 'NodeGetVolumeStats', req, opts);
  }
  nodeExpandVolume(req: PartialMessage<NodeMethods['NodeExpandVolume'][0]>, opts?: CsiCallOptions) {
    return this.call('Node', 'NodeExpandVolume', req, opts);
  }
  nodeGetCapabilities(
    req: PartialMessage<NodeMethods['NodeGetCapabilities'][0]> = {},
    opts?: CsiCallOptions,
  ) {
    return this.call('Node', 'NodeGetCapabilities', req, opts);
  }
  nodeGetInfo(req: PartialMessage<NodeMethods['NodeGetInfo'][0]> = {}, opts?: CsiCallOptions) {
    return this.call('Node', 'NodeGetInfo', req, opts);
  }

  /** Generic unary call; every typed method above goes through here. Errors are CsiError. */
  call<S extends CsiServiceName, M extends keyof CsiServiceMethods[S] & string>(
    service: S,
    method: M,
    request: PartialMessage<Req<S, M>>,
    opts: CsiCallOptions = {},
  ): Promise<Res<S, M>> {
    const stub = (this.stubs[service] as unknown as Record<string, UnaryStub>)[method];
    if (!stub) return Promise.reject(new CsiError(grpc.status.UNIMPLEMENTED, `${service}.${method} unknown`));
    const started = this.now();
    const deadline = started + (opts.timeoutMs ?? this.timeoutMs); // ms since the epoch: no Date per call
    return new Promise<Res<S, M>>((resolve, reject) => {
      stub.call(this.stubs[service], request, new grpc.Metadata(), { deadline }, (err, value) => {
        const seconds = (this.now() - started) / 1000;
        if (err) {
          const error = toCsiError(err);
          observeCsiCall(this.driverName, service, method, error.codeName, seconds);
          this.log(service, method, request, undefined, error, started);
          reject(error);
          return;
        }
        if (method === 'GetPluginInfo' && this.driverName === 'unknown') {
          this.driverName = (value as { name?: string } | undefined)?.name || this.driverName;
        }
        observeCsiCall(this.driverName, service, method, 'OK', seconds);
        this.log(service, method, request, value, undefined, started);
        resolve(value as Res<S, M>);
      });
    });
  }

  private log(
    service: CsiServiceName,
    method: string,
    request: unknown,
    response: unknown,
    error: CsiError | undefined,
    started: number,
  ): void {
    if (!this.logger) return;
    const entry: CsiCallLog = {
      service,
      method,
      request: sanitizeMessage(`${method}Request`, request),
      durationMs: this.now() - started,
    };
    if (error) entry.error = { code: error.code, codeName: error.codeName, message: error.details };
    else entry.response = sanitizeMessage(`${method}Response`, response);
    try {
      this.logger(entry);
    } catch {
      // A broken logger must not turn a finished CSI call into a failure.
    }
  }
}
