// The local driver's volumes on disk: `<key>.img` (sparse backing file) and `<key>.json` (what the
// volume is). The metadata file is written last and removed first, so "the volume exists" means
// exactly "its metadata file exists"; a backing file without one is a leftover that a create reuses.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SupportedFsType } from '../../host/filesystem.js';
import type { AccessType } from '../common/capability.js';

export interface LocalVolume {
  key: string;
  /** The CreateVolume name (the idempotency key). */
  name: string;
  capacityBytes: bigint;
  accessType: AccessType;
  fsType: SupportedFsType | '';
  createdAt: string;
}

interface StoredVolume {
  version: 1;
  name: string;
  capacityBytes: string;
  accessType: AccessType;
  fsType: SupportedFsType | '';
  createdAt: string;
}

const IMAGE_SUFFIX = '.img';
const META_SUFFIX = '.json';

export class VolumeStore {
  readonly dataDir: string;
  private readonly now: () => Date;

  constructor(options: { dataDir: string; now?: () => Date }) {
    this.dataDir = path.resolve(options.dataDir);
    this.now = options.now ?? (() => new Date());
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dataDir, { recursive: true });
  }

  imagePath(key: string): string {
    return path.join(this.dataDir, key + IMAGE_SUFFIX);
  }

  private metadataPath(key: string): string {
    return path.join(this.dataDir, key + META_SUFFIX);
  }

  async get(key: string): Promise<LocalVolume | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.metadataPath(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let stored: StoredVolume;
    try {
      stored = JSON.parse(text) as StoredVolume;
    } catch {
      return undefined; // torn by a crash during create: the volume was never acknowledged
    }
    return {
      key,
      name: stored.name,
      capacityBytes: BigInt(stored.capacityBytes),
      accessType: stored.accessType,
      fsType: stored.fsType,
      createdAt: stored.createdAt,
    };
  }

  /** Every volume, ordered by key (stable pages for ListVolumes). */
  async list(): Promise<LocalVolume[]> {
    const names = await fs.readdir(this.dataDir);
    const keys = names
      .filter((name) => name.endsWith(META_SUFFIX) && !name.startsWith('.'))
      .map((name) => name.slice(0, -META_SUFFIX.length))
      .sort();
    const volumes = await Promise.all(keys.map((key) => this.get(key)));
    return volumes.filter((volume): volume is LocalVolume => volume !== undefined);
  }

  /** Creates a zeroed sparse backing file of `capacityBytes`, then its metadata. */
  async create(volume: Omit<LocalVolume, 'createdAt'>): Promise<LocalVolume> {
    const created: LocalVolume = { ...volume, createdAt: this.now().toISOString() };
    // 'w' truncates a leftover file to zero first, so old data never shows up in a new volume.
    const handle = await fs.open(this.imagePath(volume.key), 'w', 0o600);
    try {
      await handle.truncate(Number(volume.capacityBytes));
    } finally {
      await handle.close();
    }
    // Written in place, not renamed: a torn file from a crash here reads as "not created yet".
    await fs.writeFile(this.metadataPath(volume.key), serialize(created), { mode: 0o600 });
    return created;
  }

  /** Grows the backing file (never shrinks it) and records the new size. */
  async grow(volume: LocalVolume, capacityBytes: bigint): Promise<LocalVolume> {
    if (capacityBytes <= volume.capacityBytes) return volume;
    await fs.truncate(this.imagePath(volume.key), Number(capacityBytes));
    const grown = { ...volume, capacityBytes };
    await this.writeMetadata(grown);
    return grown;
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.metadataPath(key), { force: true });
    await fs.rm(this.imagePath(key), { force: true });
  }

  /** Bytes an unprivileged writer can still use in the data directory. */
  async availableBytes(): Promise<bigint> {
    const stats = await fs.statfs(this.dataDir, { bigint: true });
    return stats.bavail * stats.bsize;
  }

  /** Replaces the metadata of an existing volume atomically (temp file, then rename). */
  private async writeMetadata(volume: LocalVolume): Promise<void> {
    const temp = path.join(this.dataDir, `.${volume.key}${META_SUFFIX}.tmp`);
    await fs.writeFile(temp, serialize(volume), { mode: 0o600 });
    await fs.rename(temp, this.metadataPath(volume.key));
  }
}

function serialize(volume: LocalVolume): string {
  const stored: StoredVolume = {
    version: 1,
    name: volume.name,
    capacityBytes: volume.capacityBytes.toString(),
    accessType: volume.accessType,
    fsType: volume.fsType,
    createdAt: volume.createdAt,
  };
  return JSON.stringify(stored, null, 2) + '\n';
}
