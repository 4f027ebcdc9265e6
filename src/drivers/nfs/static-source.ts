// Static NFS volumes: PVs with `spec.csi` (volumeAttributes server/share/subDir) or in-tree `spec.nfs`.
// The node agent maps an in-tree source to this driver's volume context with these helpers.
import type { NFSVolumeSource } from '../../api/types.js';
import { encodeVolumeId } from './names.js';

/** volume_context for NodePublishVolume from an in-tree `spec.nfs` source. */
export function nfsSourceToVolumeContext(
  source: Pick<NFSVolumeSource, 'server' | 'path'>,
): Record<string, string> {
  return { server: source.server, share: source.path || '/' };
}

/** A stable volume handle for an in-tree `spec.nfs` source (never deleted by this driver: retain). */
export function nfsSourceToVolumeHandle(source: Pick<NFSVolumeSource, 'server' | 'path'>): string {
  return encodeVolumeId({
    server: source.server,
    share: source.path || '/',
    subDir: '',
    uuid: '',
    onDelete: 'retain',
  });
}

/** The value of `key` in a volume context, matched case-insensitively (subDir, subdir...). */
export function contextValue(context: Readonly<Record<string, string>>, key: string): string | undefined {
  const lower = key.toLowerCase();
  for (const [name, value] of Object.entries(context)) if (name.toLowerCase() === lower) return value;
  return undefined;
}
