// Helpers for writing CSI drivers: async handlers in, a gRPC server on a unix socket out.
// Thrown CsiErrors become their status; anything else becomes INTERNAL; missing methods UNIMPLEMENTED.
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { toUnixTarget, unixSocketPath } from './client.js';
import { CsiError } from './errors.js';
import { loadCsiDefinitions } from './load.js';
import { sanitizeMessage } from './sanitize.js';
import type {
  ControllerMethods,
  CsiServiceMethods,
  CsiServiceName,
  IdentityMethods,
  NodeMethods,
  PartialMessage,
} from './types.js';

export interface CsiCallContext {
  /** Aborted when the caller cancels or its deadline passes. */
  signal: AbortSignal;
  metadata: grpc.Metadata;
  method: string;
}

export type CsiHandler<Q, R> = (request: Q, ctx: CsiCallContext) => Promise<PartialMessage<R>>;

export type HandlersFor<T> = {
  [M in keyof T]?: T[M] extends [infer Q, infer R] ? CsiHandler<Q, R> : never;
};

export interface CsiHandlers {
  identity: HandlersFor<IdentityMethods>;
  controller?: HandlersFor<ControllerMethods>;
  node?: HandlersFor<NodeMethods>;
}

export interface ServerCallLog {
  service: CsiServiceName;
  method: string;
  request: unknown;
  error?: { code: number; message: string };
}

export interface ServeCsiOptions {
  /** How long shutdown() waits for in-flight calls before forcing. */
  shutdownTimeoutMs?: number;
  /** Sees redacted requests. */
  logger?: (entry: ServerCallLog) => void;
}

export interface CsiServerHandle {
  endpoint: string;
  socketPath: string;
  shutdown(): Promise<void>;
  /** Drops every connection at once, as a crash would (the socket file is still removed). */
  forceShutdown(): Promise<void>;
}

/** Removes `socketPath` if it is a socket left behind by a dead server; refuses to touch anything else. */
export async function removeStaleSocket(socketPath: string): Promise<boolean> {
  let stat;
  try {
    stat = await fs.lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (!stat.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to remove it`);
  await fs.unlink(socketPath);
  return true;
}

export async function serveCsi(
  endpoint: string,
  handlers: CsiHandlers,
  options: ServeCsiOptions = {},
): Promise<CsiServerHandle> {
  const socketPath = unixSocketPath(endpoint);
  await fs.mkdir(path.dirname(socketPath), { recursive: true });
  await removeStaleSocket(socketPath);

  const { services } = loadCsiDefinitions();
  // channelz (grpc-js's call statistics) is off: nothing here reads it, and it cost about 4% of
  // bench:csi-rpc's CPU.
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  const tables: [CsiServiceName, Record<string, unknown> | undefined][] = [
    ['Identity', handlers.identity],
    ['Controller', handlers.controller],
    ['Node', handlers.node],
  ];
  for (const [service, table] of tables) {
    if (!table) continue;
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of Object.keys(services[service])) {
      const handler = table[method] as CsiHandler<unknown, unknown> | undefined;
      implementation[method] = wrapUnary(service, method, handler, options.logger);
    }
    server.addService(services[service], implementation);
  }

  // The socket is ours and each connection is handed to grpc-js: without channelz, grpc-js's
  // forceShutdown no longer knows the connections it would drop, so a forced stop drops them here.
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const connections = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(socketPath, () => {
      listener.off('error', reject);
      resolve();
    });
  });

  const dropConnections = () => {
    listener.close();
    server.forceShutdown();
    for (const socket of connections) socket.destroy();
  };
  const removeSocket = async () => {
    await removeStaleSocket(socketPath).catch(() => undefined);
  };
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5_000;
  let stopped: Promise<void> | undefined;

  return {
    endpoint: toUnixTarget(socketPath),
    socketPath,
    shutdown() {
      stopped ??= (async () => {
        listener.close();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            dropConnections();
            resolve();
          }, shutdownTimeoutMs);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        await removeSocket();
      })();
      return stopped;
    },
    forceShutdown() {
      stopped ??= (async () => {
        dropConnections();
        await removeSocket();
      })();
      return stopped;
    },
  };
}

function wrapUnary(
  service: CsiServiceName,
  method: string,
  handler: CsiHandler<unknown, unknown> | undefined,
  logger: ServeCsiOptions['logger'],
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    // Most handlers never look at the signal: its AbortController and the 'cancelled' listener are
    // made on first use (a listener per call showed in bench:csi-rpc's profile).
    let abort: AbortController | undefined;
    const log = (error?: { code: number; message: string }) => {
      if (!logger) return;
      // Redacted on first read: a logger that drops the line (debug off) never pays for it.
      let request: unknown;
      const entry: ServerCallLog = {
        service,
        method,
        get request() {
          request ??= sanitizeMessage(`${method}Request`, call.request);
          return request;
        },
      };
      if (error) entry.error = error;
      logger(entry);
    };
    if (!handler) {
      const details = `${service}.${method} is not implemented by this driver`;
      log({ code: grpc.status.UNIMPLEMENTED, message: details });
      callback({ code: grpc.status.UNIMPLEMENTED, details });
      return;
    }
    const ctx: CsiCallContext = {
      get signal() {
        if (!abort) {
          const controller = new AbortController();
          abort = controller;
          if (call.cancelled) controller.abort();
          else call.once('cancelled', () => controller.abort());
        }
        return abort.signal;
      },
      metadata: call.metadata,
      method,
    };
    const fail = (err: unknown) => {
      const failure = toStatus(err);
      log({ code: failure.code, message: failure.details });
      callback(failure);
    };
    // Called directly (no extra promise hop per call); a handler that throws before its first
    // await fails the call the same way as one that rejects.
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(handler(call.request, ctx)); // the same promise when it is one
    } catch (err) {
      fail(err);
      return;
    }
    pending.then((response) => {
      log();
      callback(null, response ?? {});
    }, fail);
  };
}

function toStatus(err: unknown): { code: number; details: string } {
  if (err instanceof CsiError) return { code: err.code, details: err.details };
  const message = err instanceof Error ? err.message : String(err);
  return { code: grpc.status.INTERNAL, details: message };
}

/** Typed view for code that wants one handler table per service. */
export type ServiceHandlers<S extends CsiServiceName> = HandlersFor<CsiServiceMethods[S]>;

/**
 * Runs a started driver until SIGINT/SIGTERM or `signal` aborts, then shuts it down: the body of
 * every `berth driver NAME` command.
 */
export async function serveUntilStopped(
  driver: { shutdown(): Promise<void> },
  signal?: AbortSignal,
): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
  });
  await driver.shutdown();
}
