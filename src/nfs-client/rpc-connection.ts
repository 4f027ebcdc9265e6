// One ONC RPC client over a stream socket (TCP, or a unix socket such as rpcbind's): calls are matched
// to replies by xid, and every call has a deadline, so a hung server fails the call instead of the
// caller.
import { randomInt } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import { NfsUnavailableError, RpcError } from './errors.js';
import { RecordDecoder, encodeRecord } from './record.js';
import type { AuthSys } from './rpc-message.js';
import { decodeReply, encodeCall, peekXid } from './rpc-message.js';

export type RpcAddress = { host: string; port: number } | { path: string };

export interface RpcConnectOptions {
  connectTimeoutMs?: number;
  /** Deadline of each call. */
  callTimeoutMs?: number;
  /** Credentials; default AUTH_SYS uid 0, gid 0. `null` sends AUTH_NONE. */
  auth?: AuthSys | null;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_CALL_TIMEOUT_MS = 15_000;

export function rootAuth(): AuthSys {
  return {
    stamp: Math.floor(Date.now() / 1000) >>> 0,
    machineName: os.hostname().slice(0, 255),
    uid: 0,
    gid: 0,
    gids: [0],
  };
}

export function describeAddress(address: RpcAddress): string {
  return 'path' in address ? `unix:${address.path}` : `${address.host}:${address.port}`;
}

interface Pending {
  resolve: (body: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class RpcConnection {
  readonly endpoint: string;
  private readonly socket: net.Socket;
  private readonly callTimeoutMs: number;
  private readonly auth: AuthSys | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new RecordDecoder();
  private nextXid = randomInt(1, 0x7fff_ffff);
  private closedWith: Error | undefined;

  private constructor(socket: net.Socket, endpoint: string, options: RpcConnectOptions) {
    this.socket = socket;
    this.endpoint = endpoint;
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.auth = options.auth === null ? undefined : (options.auth ?? rootAuth());
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) =>
      this.fail(new NfsUnavailableError('connection-lost', endpoint, err.message, err)),
    );
    socket.on('close', () =>
      this.fail(new NfsUnavailableError('connection-lost', endpoint, 'connection closed')),
    );
  }

  static connect(address: RpcAddress, options: RpcConnectOptions = {}): Promise<RpcConnection> {
    const endpoint = describeAddress(address);
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket =
        'path' in address
          ? net.connect({ path: address.path })
          : net.connect({ host: address.host, port: address.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new NfsUnavailableError('timeout', endpoint, `no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new NfsUnavailableError('connect-failed', endpoint, err.message, err));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(new RpcConnection(socket, endpoint, options));
      });
    });
  }

  /** Sends one call; resolves with the procedure's XDR-encoded results. */
  call(
    program: number,
    version: number,
    procedure: number,
    args: Buffer,
    what = `${program}/${version}/${procedure}`,
  ): Promise<Buffer> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const xid = this.nextXid;
    this.nextXid = (this.nextXid + 1) >>> 0 || 1;
    const message = encodeCall({
      xid,
      program,
      version,
      procedure,
      args,
      ...(this.auth ? { auth: this.auth } : {}),
    });
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(
          new NfsUnavailableError(
            'timeout',
            this.endpoint,
            `${what}: no reply within ${this.callTimeoutMs} ms`,
          ),
        );
      }, this.callTimeoutMs);
      this.pending.set(xid, { resolve, reject, timer });
      this.socket.write(encodeRecord(message));
    });
  }

  close(): void {
    this.fail(new NfsUnavailableError('connection-lost', this.endpoint, 'connection closed by the client'));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let records: Buffer[];
    try {
      records = this.decoder.push(chunk);
    } catch (err) {
      this.fail(new NfsUnavailableError('connection-lost', this.endpoint, (err as Error).message, err));
      this.socket.destroy();
      return;
    }
    for (const record of records) {
      const xid = peekXid(record);
      const waiter = this.pending.get(xid);
      if (!waiter) continue; // a reply to a call that already timed out
      this.pending.delete(xid);
      clearTimeout(waiter.timer);
      try {
        const reply = decodeReply(record);
        if (reply.kind === 'success') waiter.resolve(reply.body);
        else if (reply.kind === 'denied') waiter.reject(new RpcError('MSG_DENIED', reply.reason));
        else waiter.reject(new RpcError(reply.status, `from ${this.endpoint}`));
      } catch (err) {
        waiter.reject(err as Error);
      }
    }
  }

  private fail(err: Error): void {
    this.closedWith ??= err;
    for (const [xid, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      this.pending.delete(xid);
      waiter.reject(err);
    }
  }
}
