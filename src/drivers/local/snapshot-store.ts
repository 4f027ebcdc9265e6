// The local driver's snapshots on disk: `snapshots/<key>.img` (a sparse, possibly reflinked copy
// of the source's backing file) and `snapshots/<key>.json`. As with volumes, the metadata file is
// written last and removed first: "the snapshot exists" means "its metadata file exists".
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SupportedFsType } from '../../host/filesystem.js';
import type { AccessType } from '../common/capability.js';

export interface LocalSnapshot {
  key: string;
  /** The CreateSnapshot name (the idempotency key). */
  name: string;
  /** Volume key of the source. */
  sourceKey: string;
  /** Size of the source when taken: the smallest volume a restore can make. */
  sizeBytes: bigint;
  accessType: AccessType;
  fsType: SupportedFsType | '';
  createdAt: string;
}

interface StoredSnapshot extends Omit<LocalSnapshot, 'key' | 'sizeBytes'> {
  version: 1;
  sizeBytes: string;
}

const IMAGE_SUFFIX = '.img';
const META_SUFFIX = '.json';

export class SnapshotStore {
  readonly dir: string;

  constructor(options: { dataDir: string }) {
    this.dir = path.join(path.resolve(options.dataDir), 'snapshots');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
  }

  imagePath(key: string): string {
    return path.join(this.dir, key + IMAGE_SUFFIX);
  }

  /** Where a copy is written before it is renamed into place. */
  partialPath(key: string): string {
    return path.join(this.dir, `.${key}${IMAGE_SUFFIX}.partial`);
  }

  private metadataPath(key: string): string {
    return path.join(this.dir, key + META_SUFFIX);
  }

  async get(key: string): Promise<LocalSnapshot | undefined> {
    let stored: StoredSnapshot;
    try {
      stored = JSON.parse(await fs.readFile(this.metadataPath(key), 'utf8')) as StoredSnapshot;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return undefined;
      throw err;
    }
    return {
      key,
      name: stored.name,
      sourceKey: stored.sourceKey,
      sizeBytes: BigInt(stored.sizeBytes),
      accessType: stored.accessType,
      fsType: stored.fsType,
      createdAt: stored.createdAt,
    };
  }

  /** Every snapshot, ordered by key (stable pages for ListSnapshots). */
  async list(): Promise<LocalSnapshot[]> {
    const keys = (await fs.readdir(this.dir))
      .filter((name) => name.endsWith(META_SUFFIX) && !name.startsWith('.'))
      .map((name) => name.slice(0, -META_SUFFIX.length))
      .sort();
    const snapshots = await Promise.all(keys.map((key) => this.get(key)));
    return snapshots.filter((s): s is LocalSnapshot => s !== undefined);
  }

  /** Records a snapshot whose copy is complete at partialPath(key): rename into place, then metadata. */
  async commit(snapshot: LocalSnapshot): Promise<void> {
    await fs.rename(this.partialPath(snapshot.key), this.imagePath(snapshot.key));
    const stored: StoredSnapshot = {
      version: 1,
      name: snapshot.name,
      sourceKey: snapshot.sourceKey,
      sizeBytes: snapshot.sizeBytes.toString(),
      accessType: snapshot.accessType,
      fsType: snapshot.fsType,
      createdAt: snapshot.createdAt,
    };
    await fs.writeFile(this.metadataPath(snapshot.key), JSON.stringify(stored, null, 2) + '\n', {
      mode: 0o600,
    });
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.metadataPath(key), { force: true });
    await fs.rm(this.imagePath(key), { force: true });
    await fs.rm(this.partialPath(key), { force: true });
  }
}
