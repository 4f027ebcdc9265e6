// A small NFSv3 client over ONC RPC (TCP): MOUNT v3 plus the directory procedures a CSI controller needs.
export { NfsClient, getPort, mountExport, pathNames } from './client.js';
export type { FoundObject, NfsEntry, NfsServerOptions } from './client.js';
export { MountError, NFS3ERR, NfsError, NfsUnavailableError, RpcError } from './errors.js';
export type { NfsUnavailableReason } from './errors.js';
export type { Fattr3, FileType, Sattr3 } from './nfs3-types.js';
export { PROGRAM } from './nfs3-types.js';
export { RecordDecoder, encodeRecord } from './record.js';
export { RpcConnection } from './rpc-connection.js';
export type { RpcAddress, RpcConnectOptions } from './rpc-connection.js';
export { XdrError, XdrReader, XdrWriter } from './xdr.js';
