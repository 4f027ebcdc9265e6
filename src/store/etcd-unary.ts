// etcd's KV Range and Txn as plain gRPC unary calls on one HTTP/2 connection (node:http2), the
// calls every read and write of the store makes. The generic gRPC client's layers (interceptors,
// retry buffering, call tracking, reflection-based codecs) cost about 210 us of CPU per
// transaction against about 90 us for the call itself; watches, compaction and status keep
// using it. No transaction is retried: one whose answer was lost may have committed, and only
// the caller can decide again. A connection that fails is dropped and the next call opens one to
// the next endpoint, as is one whose peer never spoke HTTP/2 within a call's deadline (a hung
// process, a black-holed address: TCP accepts, nothing answers); a read that found such a peer,
// or none, is tried at the next endpoint.
import http2 from 'node:http2';
import type { EtcdTls } from './etcd-types.js';
import {
  decodeRangeResponse,
  decodeTxnResponse,
  encodeRangeRequest,
  encodeTxnRequest,
  type KvRangeRequest,
  type KvRangeResponse,
  type KvTxnRequest,
  type KvTxnResponse,
} from './etcd-wire.js';

export interface EtcdUnaryOptions {
  endpoints: readonly string[];
  tls?: EtcdTls | undefined;
  /** Deadline of one call. */
  timeoutMs: number;
}

/** An etcd call that failed: gRPC's status code and message (e.g. "...has been compacted"). */
export class EtcdCallError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** Largest answer accepted (a whole-prefix list of many objects is the large one). */
const MAX_ANSWER_BYTES = 1 << 30;

function grpcMessage(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** One HTTP/2 connection to one endpoint, and the calls waiting on it. */
interface Connection {
  session: http2.ClientHttp2Session;
  /** Set once the connection is up: before, no call on it can have reached etcd. */
  connected: boolean;
  /** Set once the peer sent its HTTP/2 settings: it speaks, so a call's silence is the call's. */
  heard: boolean;
  /** A PING is out to learn whether the peer still answers at all. */
  probing: boolean;
  inflight: number;
}

export class EtcdUnaryClient {
  private readonly options: EtcdUnaryOptions;
  private connection: Connection | undefined;
  private endpoint = 0;
  private closed = false;

  constructor(options: EtcdUnaryOptions) {
    if (options.endpoints.length === 0) throw new Error('no etcd endpoints given');
    this.options = options;
  }

  async range(req: KvRangeRequest): Promise<KvRangeResponse> {
    return decodeRangeResponse(await this.call('/etcdserverpb.KV/Range', encodeRangeRequest(req), true));
  }

  async txn(req: KvTxnRequest): Promise<KvTxnResponse> {
    return decodeTxnResponse(await this.call('/etcdserverpb.KV/Txn', encodeTxnRequest(req), false));
  }

  close(): void {
    this.closed = true;
    this.connection?.session.close();
    this.connection = undefined;
  }

  private connect(): Connection {
    const current = this.connection;
    if (current && !current.session.closed && !current.session.destroyed) return current;
    const url = new URL(this.options.endpoints[this.endpoint % this.options.endpoints.length]!);
    const tls = this.options.tls;
    const session = http2.connect(`${tls ? 'https' : 'http'}://${url.host}`, {
      ...(tls
        ? {
            ca: tls.caPem,
            ...(tls.certPem ? { cert: tls.certPem } : {}),
            ...(tls.keyPem ? { key: tls.keyPem } : {}),
            ALPNProtocols: ['h2'],
          }
        : {}),
      settings: { initialWindowSize: 4 << 20 },
    });
    const connection: Connection = { session, connected: false, heard: false, probing: false, inflight: 0 };
    const drop = (): void => this.drop(connection);
    session.on('error', drop);
    session.on('goaway', drop);
    session.on('close', drop);
    session.on('connect', () => {
      connection.connected = true;
      session.setLocalWindowSize(16 << 20);
    });
    session.on('remoteSettings', () => {
      connection.heard = true;
    });
    session.unref();
    this.connection = connection;
    return connection;
  }

  /** Forgets a connection (at once, so that the next call opens one to the next endpoint). */
  private drop(connection: Connection): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.endpoint++;
  }

  /** Drops a connection and closes it: its calls fail, the next call goes to the next endpoint. */
  private abandon(connection: Connection): void {
    this.drop(connection);
    connection.session.destroy();
  }

  /**
   * After a call's deadline passed on a connection: a PING its peer does not answer within a
   * deadline either abandons the connection, whose calls would otherwise all wait out their
   * deadlines on it until the operating system gives up on the socket (many minutes).
   */
  private probe(connection: Connection): void {
    const { session } = connection;
    if (connection.probing || session.destroyed) return;
    connection.probing = true;
    const timer = setTimeout(() => this.abandon(connection), this.options.timeoutMs);
    timer.unref();
    const sent = session.ping((err) => {
      clearTimeout(timer);
      connection.probing = false;
      if (err) this.abandon(connection);
    });
    if (!sent) {
      clearTimeout(timer);
      connection.probing = false;
    }
  }

  /**
   * One call; a call that failed because its endpoint could not be reached at all (so it never
   * left this process), or a read (`idempotent`) whose endpoint never answered a word, goes to
   * the next endpoint, once per endpoint.
   */
  private async call(path: string, message: Buffer, idempotent: boolean): Promise<Buffer> {
    for (let tried = 1; ; tried++) {
      if (this.closed) throw new EtcdCallError(1, 'the etcd client is closed');
      const connection = this.connect();
      try {
        return await this.callOn(connection, path, message);
      } catch (err) {
        const elsewhere = !connection.connected || (idempotent && !connection.heard);
        if (!elsewhere || tried >= this.options.endpoints.length) throw err;
      }
    }
  }

  private callOn(connection: Connection, path: string, message: Buffer): Promise<Buffer> {
    const { session } = connection;
    const timeoutMs = this.options.timeoutMs;
    // the connection keeps the process alive only while calls are waiting on it
    if (connection.inflight++ === 0) session.ref();
    return new Promise<Buffer>((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${timeoutMs}m`,
      });
      const chunks: Buffer[] = [];
      let received = 0;
      let status: string | undefined;
      let statusMessage = '';
      let settled = false;
      const finish = (err: Error | undefined, body?: Buffer): void => {
        if (settled) return;
        settled = true;
        if (--connection.inflight === 0 && !session.destroyed) session.unref();
        if (err) reject(err);
        else resolve(body!);
      };
      const takeStatus = (headers: http2.IncomingHttpHeaders): void => {
        if (headers['grpc-status'] !== undefined) {
          status = String(headers['grpc-status']);
          statusMessage = grpcMessage(headers['grpc-message']);
        }
      };
      stream.setTimeout(timeoutMs, () => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        // the peer never spoke at all (not etcd, or hung): the next call goes elsewhere; else
        // ask whether it still answers at all (a partition or a dead host keeps TCP silent)
        if (!connection.heard) this.abandon(connection);
        else this.probe(connection);
        finish(new EtcdCallError(4, `deadline of ${timeoutMs} ms exceeded`));
      });
      stream.on('response', (headers) => {
        const httpStatus = headers[':status'];
        if (httpStatus !== 200) finish(new EtcdCallError(14, `etcd answered HTTP ${String(httpStatus)}`));
        takeStatus(headers);
      });
      stream.on('trailers', takeStatus);
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_ANSWER_BYTES) {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          finish(new EtcdCallError(8, `etcd answer larger than ${MAX_ANSWER_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', (err: Error) => finish(new EtcdCallError(14, err.message)));
      stream.on('close', () => {
        if (status === undefined)
          return finish(new EtcdCallError(14, 'etcd closed the call without a status'));
        if (status !== '0')
          return finish(new EtcdCallError(Number(status), statusMessage || `gRPC ${status}`));
        try {
          finish(undefined, unframe(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
        } catch (err) {
          finish(err as Error);
        }
      });
      const frame = Buffer.allocUnsafe(5 + message.length);
      frame.writeUInt8(0, 0);
      frame.writeUInt32BE(message.length, 1);
      message.copy(frame, 5);
      stream.end(frame);
    });
  }
}

/** The one message of a unary answer: a 5-byte prefix (not compressed, length) and the message. */
function unframe(body: Buffer): Buffer {
  if (body.length < 5) throw new EtcdCallError(13, 'etcd answer without a message');
  if (body[0] !== 0) throw new EtcdCallError(12, 'etcd answer is compressed');
  const length = body.readUInt32BE(1);
  if (length !== body.length - 5) throw new EtcdCallError(13, 'etcd answer of the wrong length');
  return body.subarray(5);
}
