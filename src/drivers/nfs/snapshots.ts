// Snapshot RPCs of the NFS driver, as csi-driver-nfs keeps snapshots: a tar.gz archive of the
// volume's directory at `<share>/<snapshot name>/<source>.tar.gz`, written over NFS by the
// controller (no mount). A small record beside it (`.berth-snapshot.json`, written last) says
// the archive is complete and which volume it came from, so ListSnapshots needs no other state.
import { z } from 'zod';
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import type { Snapshot } from '../../csi/types.js';
import type { FoundObject, NfsClient } from '../../nfs-client/index.js';
import { requireField } from '../common/require-field.js';
import type { NfsDriverContext } from './context.js';
import type { NfsSnapshotRef } from './names.js';
import {
  archiveSource,
  decodeSnapshotId,
  decodeVolumeId,
  encodeSnapshotId,
  snapshotDirName,
} from './names.js';
import { snapshotPage } from '../common/paging.js';
import { withShare } from './share-session.js';
import { freshFile, readChunks, writeChunks } from './share-files.js';
import { packTreeInto } from './tree-archive.js';

export const SNAPSHOT_RECORD = '.berth-snapshot.json';
const MAX_RECORD_BYTES = 64 * 1024;

const recordSchema = z.object({
  snapshotId: z.string(),
  sourceVolumeId: z.string(),
  sizeBytes: z.string(),
  createdSeconds: z.number(),
  createdNanos: z.number(),
});
export type SnapshotRecord = z.infer<typeof recordSchema>;

export const archiveFile = (src: string) => `${src}.tar.gz`;
const partialFile = (src: string) => `${archiveFile(src)}.partial`;

type SnapshotHandlers = Pick<
  ServiceHandlers<'Controller'>,
  'CreateSnapshot' | 'DeleteSnapshot' | 'ListSnapshots'
>;

async function readAll(client: NfsClient, file: FoundObject, path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of readChunks(client, file.handle, file.attributes.size, path)) parts.push(chunk);
  return Buffer.concat(parts);
}

/** The snapshot record in directory `dir`, or undefined when there is none (or it is not ours). */
export async function readRecord(
  client: NfsClient,
  dir: Buffer,
  path: string,
): Promise<SnapshotRecord | undefined> {
  const file = await client.lookup(dir, SNAPSHOT_RECORD, path);
  if (!file || file.attributes.type !== 'reg' || file.attributes.size > BigInt(MAX_RECORD_BYTES))
    return undefined;
  try {
    const parsed = recordSchema.safeParse(JSON.parse((await readAll(client, file, path)).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function writeRecord(
  client: NfsClient,
  dir: Buffer,
  record: SnapshotRecord,
  path: string,
): Promise<void> {
  const file = await freshFile(client, dir, SNAPSHOT_RECORD, 0o644, path);
  await writeChunks(client, file.handle, [Buffer.from(JSON.stringify(record))], path);
}

function toSnapshot(record: SnapshotRecord): Snapshot {
  return {
    snapshot_id: record.snapshotId,
    source_volume_id: record.sourceVolumeId,
    size_bytes: record.sizeBytes,
    creation_time: { seconds: String(record.createdSeconds), nanos: record.createdNanos },
    ready_to_use: true,
    group_snapshot_id: '',
  };
}

/** The snapshot a ref names, with its directory, or undefined when it is not (completely) there. */
export async function findSnapshot(
  client: NfsClient,
  ref: NfsSnapshotRef,
): Promise<{ dir: FoundObject; archive: FoundObject; record: SnapshotRecord } | undefined> {
  const dir = await client.lookup(client.root, ref.dir, ref.dir);
  if (!dir || dir.attributes.type !== 'dir') return undefined;
  const record = await readRecord(client, dir.handle, ref.dir);
  const archive = await client.lookup(dir.handle, archiveFile(ref.src), `${ref.dir}/${archiveFile(ref.src)}`);
  if (!record || record.snapshotId !== encodeSnapshotId(ref) || archive?.attributes.type !== 'reg')
    return undefined;
  return { dir, archive, record };
}

/** Every complete snapshot at the root of a share. */
async function shareSnapshots(client: NfsClient): Promise<SnapshotRecord[]> {
  const out: SnapshotRecord[] = [];
  for (const entry of await client.readdir(client.root, '/')) {
    if (entry.attributes.type !== 'dir') continue;
    const record = await readRecord(client, entry.handle, entry.name);
    const ref = record && decodeSnapshotId(record.snapshotId);
    if (ref?.dir !== entry.name) continue;
    if (await client.lookup(entry.handle, archiveFile(ref.src))) out.push(record!);
  }
  return out;
}

export function snapshotHandlers(ctx: NfsDriverContext): SnapshotHandlers {
  return {
    CreateSnapshot: async (req) => {
      const name = requireField(req.name, 'name');
      const sourceId = requireField(req.source_volume_id, 'source_volume_id');
      const volume = decodeVolumeId(sourceId);
      if (!volume) throw csiError(status.NOT_FOUND, `source volume ${sourceId} does not exist`);
      if (!volume.subDir) {
        throw csiError(
          status.INVALID_ARGUMENT,
          `volume ${sourceId} is a whole share; only subdirectory volumes can be snapshotted`,
        );
      }
      const ref: NfsSnapshotRef = {
        server: volume.server,
        share: volume.share,
        dir: snapshotDirName(name),
        src: archiveSource(volume),
      };
      const snapshotId = encodeSnapshotId(ref);
      ctx.shares.add(`${volume.server}#${volume.share}`);
      return ctx.locks.with(`snapshot/${ref.dir}`, () =>
        withShare(ctx, ref, `snapshot ${name}`, async (client) => {
          const snapDir = await client.lookup(client.root, ref.dir, ref.dir);
          const earlier = snapDir && (await readRecord(client, snapDir.handle, ref.dir));
          if (earlier) {
            if (earlier.sourceVolumeId !== sourceId) {
              throw csiError(
                status.ALREADY_EXISTS,
                `snapshot ${name} exists with another source volume (${earlier.sourceVolumeId})`,
              );
            }
            return { snapshot: toSnapshot(earlier) };
          }
          const source = await client.lookupPath(volume.subDir);
          if (!source || source.attributes.type !== 'dir') {
            throw csiError(status.NOT_FOUND, `source volume ${sourceId} does not exist`);
          }
          const dir = await client.mkdir(client.root, ref.dir, 0o755, ref.dir);
          const ours = new Set([archiveFile(ref.src), partialFile(ref.src)]);
          const strangers = (await client.readdir(dir.handle, ref.dir)).filter(
            (entry) => !ours.has(entry.name),
          );
          if (strangers.length > 0) {
            throw csiError(
              status.ALREADY_EXISTS,
              `${ref.dir} on the share holds other data (${strangers[0]!.name}); it is not a snapshot of ${sourceId}`,
            );
          }
          const partialPath = `${ref.dir}/${partialFile(ref.src)}`;
          const partial = await freshFile(client, dir.handle, partialFile(ref.src), 0o644, partialPath);
          const stats = await packTreeInto(
            { client, dir: source.handle },
            { client, file: partial.handle, path: partialPath },
          );
          await client.rename(dir.handle, partialFile(ref.src), dir.handle, archiveFile(ref.src));
          const now = Date.now();
          const record: SnapshotRecord = {
            snapshotId,
            sourceVolumeId: sourceId,
            sizeBytes: stats.bytes.toString(),
            createdSeconds: Math.floor(now / 1000),
            createdNanos: (now % 1000) * 1_000_000,
          };
          await writeRecord(client, dir.handle, record, `${ref.dir}/${SNAPSHOT_RECORD}`);
          ctx.log.info('snapshot created', {
            name,
            source: sourceId,
            files: stats.files,
            bytes: stats.bytes.toString(),
          });
          return { snapshot: toSnapshot(record) };
        }),
      );
    },

    DeleteSnapshot: async (req) => {
      const id = requireField(req.snapshot_id, 'snapshot_id');
      const ref = decodeSnapshotId(id);
      if (!ref) return {}; // not a snapshot of this driver: nothing to delete
      return ctx.locks.with(`snapshot/${ref.dir}`, () =>
        withShare(ctx, ref, `deleting snapshot ${ref.dir}`, async (client) => {
          const dir = await client.lookup(client.root, ref.dir, ref.dir);
          if (!dir || dir.attributes.type !== 'dir') return {};
          // Only what a snapshot is made of goes; a directory holding anything else is left alone.
          const ours = new Set([archiveFile(ref.src), partialFile(ref.src), SNAPSHOT_RECORD]);
          const entries = await client.readdir(dir.handle, ref.dir);
          const record = await readRecord(client, dir.handle, ref.dir);
          if (entries.some((entry) => !ours.has(entry.name)) || (record && record.snapshotId !== id)) {
            throw csiError(
              status.FAILED_PRECONDITION,
              `${ref.dir} on the share is not snapshot ${id}; it is left alone`,
            );
          }
          // The record first: from then on the snapshot is gone, even if the rest fails.
          for (const name of [SNAPSHOT_RECORD, archiveFile(ref.src), partialFile(ref.src)]) {
            await client.removeAll(dir.handle, name, `${ref.dir}/${name}`);
          }
          await client.removeAll(client.root, ref.dir, ref.dir);
          ctx.log.info('snapshot deleted', { snapshotId: id });
          return {};
        }),
      );
    },

    ListSnapshots: async (req) => {
      const bySnapshot = req.snapshot_id ? decodeSnapshotId(req.snapshot_id) : undefined;
      const bySource = req.source_volume_id ? decodeVolumeId(req.source_volume_id) : undefined;
      if ((req.snapshot_id && !bySnapshot) || (req.source_volume_id && !bySource)) {
        return snapshotPage([], req);
      }
      const wanted = bySnapshot ?? bySource;
      // Without a filter: the shares this controller has put volumes or snapshots on.
      const shares = wanted ? [`${wanted.server}#${wanted.share}`] : [...ctx.shares];
      const records: SnapshotRecord[] = [];
      for (const key of shares) {
        const [server = '', share = ''] = key.split('#');
        await withShare(ctx, { server, share }, 'listing snapshots', async (client) => {
          if (bySnapshot) {
            const found = await findSnapshot(client, bySnapshot);
            if (found) records.push(found.record);
            return;
          }
          records.push(...(await shareSnapshots(client)));
        });
      }
      const entries = records
        .filter((record) => !req.source_volume_id || record.sourceVolumeId === req.source_volume_id)
        .map(toSnapshot);
      return snapshotPage(entries, req);
    },
  };
}
