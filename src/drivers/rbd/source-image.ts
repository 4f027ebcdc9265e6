// Where a volume's image is now: `csi-vol-<uuid>`, or `csi-deleted-<uuid>` once the volume was
// deleted while snapshots of it remained (the image stays until the last of them goes).
import type { CephTarget } from './ceph-cli.js';
import type { ImageInfo, ImageSpec, RbdImages } from './images.js';
import { deletedImageName, imageName } from './names.js';

export interface LocatedImage extends ImageSpec {
  info: ImageInfo;
  deleted: boolean;
}

export async function locateVolumeImage(
  images: RbdImages,
  target: CephTarget,
  pool: string,
  uuid: string,
): Promise<LocatedImage | undefined> {
  for (const [image, deleted] of [
    [imageName(uuid), false],
    [deletedImageName(uuid), true],
  ] as const) {
    const info = await images.info(target, { pool, image });
    if (info) return { pool, image, info, deleted };
  }
  return undefined;
}
