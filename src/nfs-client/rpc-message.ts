// ONC RPC v2 messages (RFC 5531): encoding calls with AUTH_SYS credentials and decoding replies.
// Pure functions; the transport lives in rpc-connection.ts.
import { XdrReader, XdrWriter } from './xdr.js';

const CALL = 0;
const REPLY = 1;
const MSG_ACCEPTED = 0;
const MSG_DENIED = 1;
const RPC_VERSION = 2;
export const AUTH_NONE = 0;
export const AUTH_SYS = 1;

export const ACCEPT_STATUS = [
  'SUCCESS',
  'PROG_UNAVAIL',
  'PROG_MISMATCH',
  'PROC_UNAVAIL',
  'GARBAGE_ARGS',
  'SYSTEM_ERR',
];
const AUTH_STATUS = [
  'AUTH_OK',
  'AUTH_BADCRED',
  'AUTH_REJECTEDCRED',
  'AUTH_BADVERF',
  'AUTH_REJECTEDVERF',
  'AUTH_TOOWEAK',
  'AUTH_INVALIDRESP',
  'AUTH_FAILED',
];

export interface AuthSys {
  stamp: number;
  machineName: string;
  uid: number;
  gid: number;
  gids: readonly number[];
}

export interface RpcCall {
  xid: number;
  program: number;
  version: number;
  procedure: number;
  /** AUTH_SYS credentials; AUTH_NONE when absent. */
  auth?: AuthSys;
  /** The procedure's XDR-encoded arguments. */
  args: Buffer;
}

export function encodeAuthSys(auth: AuthSys): Buffer {
  const w = new XdrWriter();
  w.uint32(auth.stamp).string(auth.machineName, 255).uint32(auth.uid).uint32(auth.gid);
  w.uint32(auth.gids.length);
  for (const gid of auth.gids) w.uint32(gid);
  return w.toBuffer();
}

export function encodeCall(call: RpcCall): Buffer {
  const w = new XdrWriter(64 + call.args.length);
  w.uint32(call.xid).uint32(CALL).uint32(RPC_VERSION);
  w.uint32(call.program).uint32(call.version).uint32(call.procedure);
  if (call.auth) w.uint32(AUTH_SYS).opaque(encodeAuthSys(call.auth), 400);
  else w.uint32(AUTH_NONE).opaque(Buffer.alloc(0));
  w.uint32(AUTH_NONE).opaque(Buffer.alloc(0)); // verifier
  w.fixedOpaque(call.args);
  return w.toBuffer();
}

export type RpcReply =
  | { xid: number; kind: 'success'; body: Buffer }
  | { xid: number; kind: 'accept-error'; status: string; mismatch?: { low: number; high: number } }
  | { xid: number; kind: 'denied'; reason: string };

/** The xid of any message, so a transport can route a reply before decoding the rest. */
export function peekXid(message: Buffer): number {
  return new XdrReader(message).uint32();
}

export function decodeReply(message: Buffer): RpcReply {
  const r = new XdrReader(message);
  const xid = r.uint32();
  const type = r.uint32();
  if (type !== REPLY) throw new Error(`expected an RPC reply, got message type ${type}`);
  const replyStat = r.uint32();
  if (replyStat === MSG_DENIED) {
    const rejectStat = r.uint32();
    if (rejectStat === 0) {
      const low = r.uint32();
      const high = r.uint32();
      return { xid, kind: 'denied', reason: `RPC version mismatch (server supports ${low}-${high})` };
    }
    const authStat = r.uint32();
    return { xid, kind: 'denied', reason: AUTH_STATUS[authStat] ?? `auth status ${authStat}` };
  }
  if (replyStat !== MSG_ACCEPTED) throw new Error(`invalid reply_stat ${replyStat}`);
  r.uint32(); // verifier flavor
  r.opaque(400); // verifier body
  const acceptStat = r.uint32();
  if (acceptStat === 0) return { xid, kind: 'success', body: r.rest() };
  const statusName = ACCEPT_STATUS[acceptStat] ?? `accept status ${acceptStat}`;
  if (acceptStat === 2)
    return { xid, kind: 'accept-error', status: statusName, mismatch: { low: r.uint32(), high: r.uint32() } };
  return { xid, kind: 'accept-error', status: statusName };
}

/** A successful reply to `xid` carrying `body`; used by tests that play a server. */
export function encodeSuccessReply(xid: number, body: Buffer): Buffer {
  const w = new XdrWriter(32 + body.length);
  w.uint32(xid).uint32(REPLY).uint32(MSG_ACCEPTED).uint32(AUTH_NONE).opaque(Buffer.alloc(0)).uint32(0);
  w.fixedOpaque(body);
  return w.toBuffer();
}

export interface DecodedCall {
  xid: number;
  program: number;
  version: number;
  procedure: number;
  credFlavor: number;
  credentials: Buffer;
  args: Buffer;
}

/** Decodes a call message; used by tests that play a server. */
export function decodeCall(message: Buffer): DecodedCall {
  const r = new XdrReader(message);
  const xid = r.uint32();
  if (r.uint32() !== CALL) throw new Error('not an RPC call');
  if (r.uint32() !== RPC_VERSION) throw new Error('not RPC version 2');
  const program = r.uint32();
  const version = r.uint32();
  const procedure = r.uint32();
  const credFlavor = r.uint32();
  const credentials = r.opaque(400);
  r.uint32();
  r.opaque(400);
  return { xid, program, version, procedure, credFlavor, credentials, args: r.rest() };
}
