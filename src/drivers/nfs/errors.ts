// NFS failures as CSI status codes: an unreachable or hung server is UNAVAILABLE (the CO retries the
// same call), a refusal is PERMISSION_DENIED, and the rest are final.
import { CsiError, status } from '../../csi/errors.js';
import { MountError, NFS3ERR, NfsError, NfsUnavailableError, RpcError } from '../../nfs-client/index.js';

export function toNfsCsiError(err: unknown, what: string): CsiError {
  if (err instanceof CsiError) return err;
  const detail = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof NfsUnavailableError) return new CsiError(status.UNAVAILABLE, detail, { cause: err });
  if (err instanceof MountError) {
    if (err.status === 1 || err.status === 13) {
      return new CsiError(status.PERMISSION_DENIED, `${detail} (missing exports are refused this way too)`, {
        cause: err,
      });
    }
    return new CsiError(status.FAILED_PRECONDITION, detail, { cause: err });
  }
  if (err instanceof NfsError) {
    if (err.status === NFS3ERR.ACCES || err.status === NFS3ERR.PERM) {
      return new CsiError(status.PERMISSION_DENIED, detail, { cause: err });
    }
    if (err.status === NFS3ERR.JUKEBOX) return new CsiError(status.UNAVAILABLE, detail, { cause: err });
    return new CsiError(status.INTERNAL, detail, { cause: err });
  }
  if (err instanceof RpcError) return new CsiError(status.FAILED_PRECONDITION, detail, { cause: err });
  return new CsiError(status.INTERNAL, detail, { cause: err });
}
