// CreateVolume from a snapshot (unpack its archive) or from another volume (copy its tree), over
// NFS. The new directory is filled under a temporary name and renamed into place when complete,
// so an existing volume directory always means a finished restore: a retry never copies over
// what a workload has written since, and a crash mid-copy leaves nothing that looks done.
import { csiError, status } from '../../csi/errors.js';
import type { VolumeContentSource } from '../../csi/types.js';
import type { NfsClient } from '../../nfs-client/index.js';
import type { NfsDriverContext } from './context.js';
import type { NfsSnapshotRef, NfsVolumeRef } from './names.js';
import { decodeSnapshotId, decodeVolumeId } from './names.js';
import { archiveName } from './params.js';
import { withShare } from './share-session.js';
import { archiveFile, findSnapshot } from './snapshots.js';
import { archiveChunks, copyTree, unpackTree } from './tree-archive.js';

export type NfsContentSource =
  | { kind: 'snapshot'; ref: NfsSnapshotRef; sizeBytes: bigint; contentSource: VolumeContentSource }
  | { kind: 'volume'; ref: NfsVolumeRef; contentSource: VolumeContentSource };

/** What the content source names, or NOT_FOUND. */
export async function resolveContentSource(
  ctx: NfsDriverContext,
  source: VolumeContentSource | null | undefined,
): Promise<NfsContentSource | undefined> {
  if (source?.snapshot) {
    const id = source.snapshot.snapshot_id;
    if (!id) throw csiError(status.INVALID_ARGUMENT, 'snapshot_id is required');
    const ref = decodeSnapshotId(id);
    const found =
      ref &&
      (await withShare(ctx, ref, `looking up snapshot ${ref.dir}`, (client) => findSnapshot(client, ref)));
    if (!ref || !found) throw csiError(status.NOT_FOUND, `source snapshot ${id} does not exist`);
    return {
      kind: 'snapshot',
      ref,
      sizeBytes: BigInt(found.record.sizeBytes),
      contentSource: { snapshot: { snapshot_id: id } },
    };
  }
  if (source?.volume) {
    const id = source.volume.volume_id;
    if (!id) throw csiError(status.INVALID_ARGUMENT, 'volume_id is required');
    const ref = decodeVolumeId(id);
    const dir =
      ref?.subDir &&
      (await withShare(ctx, ref, `looking up ${ref.subDir}`, (client) => client.lookupPath(ref.subDir)));
    if (!ref || !dir || dir.attributes.type !== 'dir')
      throw csiError(status.NOT_FOUND, `source volume ${id} does not exist`);
    return { kind: 'volume', ref, contentSource: { volume: { volume_id: id } } };
  }
  return undefined;
}

/**
 * Makes `target.subDir` on its share as a copy of the source; true when it was made now, false
 * when it was already there (a finished earlier call).
 */
export async function populateVolume(
  ctx: NfsDriverContext,
  target: Pick<NfsVolumeRef, 'server' | 'share' | 'subDir'>,
  mode: number,
  source: NfsContentSource,
): Promise<boolean> {
  return withShare(ctx, target, `filling ${target.subDir}`, async (client) => {
    if (await client.lookupPath(target.subDir)) return false;
    const { parent, name } = archiveName(target.subDir);
    const parentDir = await client.mkdirAll(parent, 0o777);
    const temporary = `.${name}.populating`;
    await client.removeAll(parentDir.handle, temporary); // left by a call that died mid-copy
    const dir = await client.mkdir(parentDir.handle, temporary, mode);
    await client.setattr(dir.handle, { mode }, temporary);
    const stats = await fill(ctx, source, { client, dir: dir.handle });
    await client.rename(parentDir.handle, temporary, parentDir.handle, name);
    ctx.log.info('volume filled from its source', {
      subDir: target.subDir,
      files: stats.files,
      bytes: stats.bytes.toString(),
    });
    return true;
  });
}

function fill(ctx: NfsDriverContext, source: NfsContentSource, target: { client: NfsClient; dir: Buffer }) {
  if (source.kind === 'volume') {
    const { ref } = source;
    return withShare(ctx, ref, `copying ${ref.subDir}`, async (client) => {
      const dir = await client.lookupPath(ref.subDir);
      if (!dir) throw csiError(status.NOT_FOUND, `source volume ${ref.subDir} is gone`);
      return copyTree({ client, dir: dir.handle }, target);
    });
  }
  const { ref } = source;
  return withShare(ctx, ref, `unpacking snapshot ${ref.dir}`, async (client) => {
    const found = await findSnapshot(client, ref);
    if (!found) throw csiError(status.NOT_FOUND, `source snapshot ${ref.dir} is gone`);
    const path = `${ref.dir}/${archiveFile(ref.src)}`;
    return unpackTree(
      archiveChunks(client, found.archive.handle, found.archive.attributes.size, path),
      target,
    );
  });
}
