// What can go wrong talking NFS, sorted the way callers act on it: the server could not be reached
// or did not answer (retry later), or the server answered no (an nfsstat3 or MOUNT status).

export type NfsUnavailableReason = 'connect-failed' | 'timeout' | 'connection-lost' | 'no-port';

/** The server did not answer: refused, unreachable, hung, or dropped the connection. Retryable. */
export class NfsUnavailableError extends Error {
  readonly reason: NfsUnavailableReason;
  readonly endpoint: string;

  constructor(reason: NfsUnavailableReason, endpoint: string, detail: string, cause?: unknown) {
    super(
      `NFS server ${endpoint} unavailable (${reason}): ${detail}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'NfsUnavailableError';
    this.reason = reason;
    this.endpoint = endpoint;
  }
}

/** The RPC layer refused the call (program/version not offered, bad credentials, garbage args). */
export class RpcError extends Error {
  readonly status: string;

  constructor(status: string, detail: string) {
    super(`RPC call refused (${status}): ${detail}`);
    this.name = 'RpcError';
    this.status = status;
  }
}

export const NFS3_STATUS: Readonly<Record<number, string>> = {
  0: 'NFS3_OK',
  1: 'NFS3ERR_PERM',
  2: 'NFS3ERR_NOENT',
  5: 'NFS3ERR_IO',
  6: 'NFS3ERR_NXIO',
  13: 'NFS3ERR_ACCES',
  17: 'NFS3ERR_EXIST',
  18: 'NFS3ERR_XDEV',
  19: 'NFS3ERR_NODEV',
  20: 'NFS3ERR_NOTDIR',
  21: 'NFS3ERR_ISDIR',
  22: 'NFS3ERR_INVAL',
  27: 'NFS3ERR_FBIG',
  28: 'NFS3ERR_NOSPC',
  30: 'NFS3ERR_ROFS',
  31: 'NFS3ERR_MLINK',
  63: 'NFS3ERR_NAMETOOLONG',
  66: 'NFS3ERR_NOTEMPTY',
  69: 'NFS3ERR_DQUOT',
  70: 'NFS3ERR_STALE',
  71: 'NFS3ERR_REMOTE',
  10001: 'NFS3ERR_BADHANDLE',
  10002: 'NFS3ERR_NOT_SYNC',
  10003: 'NFS3ERR_BAD_COOKIE',
  10004: 'NFS3ERR_NOTSUPP',
  10005: 'NFS3ERR_TOOSMALL',
  10006: 'NFS3ERR_SERVERFAULT',
  10007: 'NFS3ERR_BADTYPE',
  10008: 'NFS3ERR_JUKEBOX',
};

export const NFS3ERR = {
  PERM: 1,
  NOENT: 2,
  IO: 5,
  ACCES: 13,
  EXIST: 17,
  NOTDIR: 20,
  ISDIR: 21,
  NOTEMPTY: 66,
  STALE: 70,
  JUKEBOX: 10008,
} as const;

/** The NFS server answered a procedure with an error status. */
export class NfsError extends Error {
  readonly status: number;
  readonly statusName: string;
  readonly procedure: string;
  readonly path: string;

  constructor(procedure: string, status: number, path: string) {
    const name = NFS3_STATUS[status] ?? `nfsstat3 ${status}`;
    super(`NFS ${procedure} ${path}: ${name}`);
    this.name = 'NfsError';
    this.status = status;
    this.statusName = name;
    this.procedure = procedure;
    this.path = path;
  }
}

export const MOUNT_STATUS: Readonly<Record<number, string>> = {
  0: 'MNT3_OK',
  1: 'MNT3ERR_PERM',
  2: 'MNT3ERR_NOENT',
  5: 'MNT3ERR_IO',
  13: 'MNT3ERR_ACCES',
  20: 'MNT3ERR_NOTDIR',
  22: 'MNT3ERR_INVAL',
  63: 'MNT3ERR_NAMETOOLONG',
  10004: 'MNT3ERR_NOTSUPP',
  10006: 'MNT3ERR_SERVERFAULT',
};

/** The MOUNT service refused an export: missing (NOENT) or not allowed for us (PERM/ACCES). */
export class MountError extends Error {
  readonly status: number;
  readonly statusName: string;
  readonly exportPath: string;

  constructor(status: number, exportPath: string) {
    const name = MOUNT_STATUS[status] ?? `mountstat3 ${status}`;
    const what =
      status === 2 ? 'export does not exist' : status === 1 || status === 13 ? 'permission denied' : name;
    super(`MOUNT ${exportPath}: ${what} (${name})`);
    this.name = 'MountError';
    this.status = status;
    this.statusName = name;
    this.exportPath = exportPath;
  }
}
