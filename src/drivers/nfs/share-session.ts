// One NFS session on a volume's share for the length of some work; failures become CSI statuses.
import type { NfsClient } from '../../nfs-client/index.js';
import type { NfsDriverContext } from './context.js';
import { toNfsCsiError } from './errors.js';
import type { NfsVolumeRef } from './names.js';

export async function withShare<T>(
  ctx: NfsDriverContext,
  ref: Pick<NfsVolumeRef, 'server' | 'share'>,
  what: string,
  work: (client: NfsClient) => Promise<T>,
): Promise<T> {
  let client: NfsClient | undefined;
  try {
    client = await ctx.openShare(ref.server, ref.share);
    return await work(client);
  } catch (err) {
    throw toNfsCsiError(err, `${what} on ${ref.server}:${ref.share}`);
  } finally {
    client?.close();
  }
}
