// A volume's directory tree as a tar.gz stream and back, over the NFS client (as csi-driver-nfs
// archives a volume for a snapshot, but without mounting the share): regular files, directories
// and symlinks, with their modes; other node types (fifos, sockets, devices) are left out.
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import type { Pack } from 'tar-stream';
import type { NfsClient } from '../../nfs-client/index.js';
import { NFS3ERR, NfsError } from '../../nfs-client/index.js';
import { freshFile, readChunks, writeChunks } from './share-files.js';

export interface TreeStats {
  files: number;
  /** Bytes of file data (the size a snapshot reports). */
  bytes: bigint;
}

const MODE_BITS = 0o7777;

/** Every entry under `dir`, parents before children; `prefix` is the path inside the tree. */
async function* walk(
  client: NfsClient,
  dir: Buffer,
  prefix: string,
): AsyncGenerator<{ path: string; entry: Awaited<ReturnType<NfsClient['readdir']>>[number] }> {
  const entries = await client.readdir(dir, prefix || '.');
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    yield { path, entry };
    if (entry.attributes.type === 'dir') yield* walk(client, entry.handle, path);
  }
}

async function addEntries(client: NfsClient, dir: Buffer, archive: Pack, stats: TreeStats): Promise<void> {
  for await (const { path, entry } of walk(client, dir, '')) {
    const { attributes } = entry;
    const common = {
      mode: attributes.mode & MODE_BITS,
      uid: attributes.uid,
      gid: attributes.gid,
      mtime: new Date(attributes.mtime.seconds * 1000),
    };
    if (attributes.type === 'dir') {
      archive.entry({ ...common, name: `${path}/`, type: 'directory' });
    } else if (attributes.type === 'lnk') {
      const linkname = await client.readlink(entry.handle, path);
      archive.entry({ ...common, name: path, type: 'symlink', linkname });
    } else if (attributes.type === 'reg') {
      await new Promise<void>((resolve, reject) => {
        const sink = archive.entry({ ...common, name: path, size: Number(attributes.size) }, (err) =>
          err ? reject(err) : resolve(),
        );
        void (async () => {
          for await (const chunk of readChunks(client, entry.handle, attributes.size, path)) {
            if (!sink.write(chunk)) await once(sink, 'drain');
          }
          sink.end(undefined);
        })().catch((err: unknown) => {
          const error = err instanceof Error ? err : new Error(String(err));
          sink.destroy(error);
          reject(error);
        });
      });
      stats.files++;
      stats.bytes += attributes.size;
    }
  }
}

/**
 * Archives the tree under `dir` into the (new, empty) file `target` as tar.gz; returns what it holds.
 */
export async function packTreeInto(
  source: { client: NfsClient; dir: Buffer },
  target: { client: NfsClient; file: Buffer; path: string },
): Promise<TreeStats> {
  const archive = pack();
  const gzipped = Readable.from(archive).pipe(createGzip());
  const upload = writeChunks(target.client, target.file, gzipped, target.path);
  upload.catch(() => undefined); // awaited below, after the entries
  const stats: TreeStats = { files: 0, bytes: 0n };
  try {
    await addEntries(source.client, source.dir, archive, stats);
    archive.finalize();
  } catch (err) {
    archive.destroy(err as Error);
    gzipped.destroy(err as Error);
    throw err;
  }
  await upload;
  return stats;
}

/** Names in an archive must stay inside the tree: relative, no "..", no empty parts. */
export function safeEntryPath(name: string): string[] | undefined {
  const parts = name
    .replace(/^\.\/+/, '')
    .split('/')
    .filter((part) => part !== '' && part !== '.');
  if (name.startsWith('/') || parts.length === 0 || parts.includes('..')) return undefined;
  return parts;
}

/** Directories made or found while unpacking, by path inside the tree. */
class TreeDirs {
  private readonly handles = new Map<string, Buffer>();
  private readonly client: NfsClient;

  constructor(client: NfsClient, root: Buffer) {
    this.client = client;
    this.handles.set('', root);
  }

  async ensure(parts: readonly string[], mode = 0o777): Promise<Buffer> {
    let current = this.handles.get('')!;
    for (let i = 0; i < parts.length; i++) {
      const key = parts.slice(0, i + 1).join('/');
      const known = this.handles.get(key);
      if (known) {
        current = known;
        continue;
      }
      const made = await this.client.mkdir(current, parts[i]!, mode, key);
      this.handles.set(key, made.handle);
      current = made.handle;
    }
    return current;
  }
}

/** Unpacks a tar.gz byte stream into the directory `dir` (entries replace what is there). */
export async function unpackTree(
  archiveBytes: AsyncIterable<Buffer>,
  target: { client: NfsClient; dir: Buffer },
): Promise<TreeStats> {
  const { client } = target;
  const dirs = new TreeDirs(client, target.dir);
  const stats: TreeStats = { files: 0, bytes: 0n };
  const entries = Readable.from(archiveBytes).pipe(createGunzip()).pipe(extract());
  for await (const entry of entries) {
    const { header } = entry;
    const parts = safeEntryPath(header.name);
    if (!parts) {
      entry.resume();
      throw new Error(
        `the archive holds an entry outside the volume: ${JSON.stringify(header.name.slice(0, 200))}`,
      );
    }
    const path = parts.join('/');
    const mode = (header.mode ?? 0o644) & MODE_BITS;
    if (header.type === 'directory') {
      const handle = await dirs.ensure(parts, mode);
      await client.setattr(handle, { mode }, path);
      entry.resume();
      continue;
    }
    const parent = await dirs.ensure(parts.slice(0, -1));
    const name = parts[parts.length - 1]!;
    if (header.type === 'symlink') {
      await client.removeAll(parent, name, path);
      await client.symlink(parent, name, header.linkname ?? '', path);
      entry.resume();
    } else if (header.type === 'file' || header.type === 'contiguous-file') {
      const file = await freshFile(client, parent, name, mode, path);
      stats.bytes += await writeChunks(client, file.handle, entry as AsyncIterable<Uint8Array>, path);
      stats.files++;
    } else {
      entry.resume(); // node types a volume snapshot does not carry
    }
  }
  return stats;
}

/** Copies the tree under `source.dir` into `target.dir` (a volume clone), file by file. */
export async function copyTree(
  source: { client: NfsClient; dir: Buffer },
  target: { client: NfsClient; dir: Buffer },
): Promise<TreeStats> {
  const dirs = new TreeDirs(target.client, target.dir);
  const stats: TreeStats = { files: 0, bytes: 0n };
  for await (const { path, entry } of walk(source.client, source.dir, '')) {
    const parts = path.split('/');
    const mode = entry.attributes.mode & MODE_BITS;
    const type = entry.attributes.type;
    if (type === 'dir') {
      await target.client.setattr(await dirs.ensure(parts, mode), { mode }, path);
      continue;
    }
    const parent = await dirs.ensure(parts.slice(0, -1));
    const name = parts[parts.length - 1]!;
    if (type === 'lnk') {
      const linkTarget = await source.client.readlink(entry.handle, path);
      await target.client.removeAll(parent, name, path).catch((err: unknown) => {
        if (!(err instanceof NfsError && err.status === NFS3ERR.NOENT)) throw err;
      });
      await target.client.symlink(parent, name, linkTarget, path);
    } else if (type === 'reg') {
      const file = await freshFile(target.client, parent, name, mode, path);
      const chunks = readChunks(source.client, entry.handle, entry.attributes.size, path);
      stats.bytes += await writeChunks(target.client, file.handle, chunks, path);
      stats.files++;
    }
  }
  return stats;
}

/** The bytes of an archive file on the share, as a stream. */
export function archiveChunks(
  client: NfsClient,
  file: Buffer,
  size: bigint,
  path: string,
): AsyncIterable<Buffer> {
  return readChunks(client, file, size, path);
}
