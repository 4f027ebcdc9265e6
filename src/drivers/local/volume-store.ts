// The local driver's volumes on disk: `<key>.img` (sparse backing file) and `<key>.json` (what the
// volume is). The metadata file is written last and removed first, so "the volume exists" means
// exactly "its metadata file exists"; a backing file without one is a leftover that a create reuses.
// The driver owns its data directory, so what it read, wrote or removed is kept in memory: a
// sidecar's retried CreateVolume or DeleteVolume, or a node call's lookup, costs no file system call.
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
  /** The snapshot or volume id the volume was created from, if any. */
  contentSource?: string;
}

interface StoredVolume {
  version: 1;
  name: string;
  capacityBytes: string;
  accessType: AccessType;
  fsType: SupportedFsType | '';
  createdAt: string;
  contentSource?: string;
}

const IMAGE_SUFFIX = '.img';
const META_SUFFIX = '.json';
const MAX_REMEMBERED_REMOVALS = 10_000;

export class VolumeStore {
  readonly dataDir: string;
  private readonly now: () => Date;
  /** key -> the volume, or null once this process removed both of its files. */
  private readonly known = new Map<string, LocalVolume | null>();
  private removed = 0;

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
    const known = this.known.get(key);
    if (known !== undefined) return known ?? undefined;
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
    const volume: LocalVolume = {
      key,
      name: stored.name,
      capacityBytes: BigInt(stored.capacityBytes),
      accessType: stored.accessType,
      fsType: stored.fsType,
      createdAt: stored.createdAt,
      ...(stored.contentSource ? { contentSource: stored.contentSource } : {}),
    };
    this.known.set(key, volume);
    return volume;
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
    this.known.set(volume.key, created);
    return created;
  }

  /**
   * Records a volume whose backing file was already copied to imagePath(key) from a snapshot or
   * another volume: grown to `capacityBytes` (a copy is never larger), then its metadata.
   */
  async recordCopy(volume: Omit<LocalVolume, 'createdAt'>): Promise<LocalVolume> {
    const created: LocalVolume = { ...volume, createdAt: this.now().toISOString() };
    const { size } = await fs.stat(this.imagePath(volume.key));
    if (BigInt(size) < volume.capacityBytes)
      await fs.truncate(this.imagePath(volume.key), Number(volume.capacityBytes));
    await fs.writeFile(this.metadataPath(volume.key), serialize(created), { mode: 0o600 });
    this.known.set(volume.key, created);
    return created;
  }

  /** Grows the backing file (never shrinks it) and records the new size. */
  async grow(volume: LocalVolume, capacityBytes: bigint): Promise<LocalVolume> {
    if (capacityBytes <= volume.capacityBytes) return volume;
    await fs.truncate(this.imagePath(volume.key), Number(capacityBytes));
    const grown = { ...volume, capacityBytes };
    await this.writeMetadata(grown);
    this.known.set(volume.key, grown);
    return grown;
  }

  async delete(key: string): Promise<void> {
    this.known.delete(key);
    await removeFile(this.metadataPath(key));
    await removeFile(this.imagePath(key));
    // Remembering removals only saves work on retries, so the memory of them is bounded.
    if (++this.removed > MAX_REMEMBERED_REMOVALS) this.forgetRemovals();
    this.known.set(key, null);
  }

  private forgetRemovals(): void {
    for (const [key, volume] of this.known) if (volume === null) this.known.delete(key);
    this.removed = 1;
  }

  /** True when this process deleted the volume and nothing has created it since. */
  isGone(key: string): boolean {
    return this.known.get(key) === null;
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

/** unlink, where a file already gone is success (one system call; fs.rm stats first). */
async function removeFile(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
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
    ...(volume.contentSource ? { contentSource: volume.contentSource } : {}),
  };
  return JSON.stringify(stored, null, 2) + '\n';
}
