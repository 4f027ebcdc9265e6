// The local driver's volumes on disk: `<key>.img` (sparse backing file) and `<key>.json` (what the
// volume is). The metadata file is written last and removed first, so "the volume exists" means
// exactly "its metadata file exists"; a backing file without one is a leftover that a create reuses.
// The driver owns its data directory, so what it read, wrote or removed is kept in memory, and the
// names it found there at start tell which volumes it has not read yet: a sidecar's retried
// CreateVolume or DeleteVolume, a new name's lookup, or a node call's lookup costs no file system call.
// The files are small and the calls few, so they are made synchronously: a trip through libuv's
// thread pool costs several times the CPU of the call itself (bench:csi-rpc). A call still returns
// only after its write reached the file system, as before.
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  statfsSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
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
  /** Keys whose metadata file was in the directory at start and has not been read yet. */
  private readonly unread = new Set<string>();
  private removed = 0;

  constructor(options: { dataDir: string; now?: () => Date }) {
    this.dataDir = path.resolve(options.dataDir);
    this.now = options.now ?? (() => new Date());
  }

  async init(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    for (const key of metadataKeys(readdirSync(this.dataDir))) this.unread.add(key);
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
    if (!this.unread.has(key)) return undefined;
    let text: string;
    try {
      text = readFileSync(this.metadataPath(key), 'utf8');
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
    this.unread.delete(key);
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
    const keys = metadataKeys(readdirSync(this.dataDir)).sort();
    for (const key of keys) if (!this.known.has(key)) this.unread.add(key);
    const volumes = await Promise.all(keys.map((key) => this.get(key)));
    return volumes.filter((volume): volume is LocalVolume => volume !== undefined);
  }

  /** Creates a zeroed sparse backing file of `capacityBytes`, then its metadata. */
  async create(volume: Omit<LocalVolume, 'createdAt'>): Promise<LocalVolume> {
    const created: LocalVolume = { ...volume, createdAt: this.now().toISOString() };
    // 'w' truncates a leftover file to zero first, so old data never shows up in a new volume.
    const fd = openSync(this.imagePath(volume.key), 'w', 0o600);
    try {
      ftruncateSync(fd, Number(volume.capacityBytes));
    } finally {
      closeSync(fd);
    }
    // Written in place, not renamed: a torn file from a crash here reads as "not created yet".
    writeFileSync(this.metadataPath(volume.key), serialize(created), { mode: 0o600 });
    this.known.set(volume.key, created);
    return created;
  }

  /**
   * Records a volume whose backing file was already copied to imagePath(key) from a snapshot or
   * another volume: grown to `capacityBytes` (a copy is never larger), then its metadata.
   */
  async recordCopy(volume: Omit<LocalVolume, 'createdAt'>): Promise<LocalVolume> {
    const created: LocalVolume = { ...volume, createdAt: this.now().toISOString() };
    const { size } = statSync(this.imagePath(volume.key));
    if (BigInt(size) < volume.capacityBytes)
      truncateSync(this.imagePath(volume.key), Number(volume.capacityBytes));
    writeFileSync(this.metadataPath(volume.key), serialize(created), { mode: 0o600 });
    this.known.set(volume.key, created);
    return created;
  }

  /** Grows the backing file (never shrinks it) and records the new size. */
  async grow(volume: LocalVolume, capacityBytes: bigint): Promise<LocalVolume> {
    if (capacityBytes <= volume.capacityBytes) return volume;
    truncateSync(this.imagePath(volume.key), Number(capacityBytes));
    const grown = { ...volume, capacityBytes };
    this.writeMetadata(grown);
    this.known.set(volume.key, grown);
    return grown;
  }

  async delete(key: string): Promise<void> {
    this.known.delete(key);
    this.unread.delete(key);
    removeFile(this.metadataPath(key));
    removeFile(this.imagePath(key));
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
    const stats = statfsSync(this.dataDir, { bigint: true });
    return stats.bavail * stats.bsize;
  }

  /** Replaces the metadata of an existing volume atomically (temp file, then rename). */
  private writeMetadata(volume: LocalVolume): void {
    const temp = path.join(this.dataDir, `.${volume.key}${META_SUFFIX}.tmp`);
    writeFileSync(temp, serialize(volume), { mode: 0o600 });
    renameSync(temp, this.metadataPath(volume.key));
  }
}

/** Keys of the metadata files among a directory's names (dot files are temporaries). */
function metadataKeys(names: readonly string[]): string[] {
  return names
    .filter((name) => name.endsWith(META_SUFFIX) && !name.startsWith('.'))
    .map((name) => name.slice(0, -META_SUFFIX.length));
}

/** unlink, where a file already gone is success (one system call; fs.rm stats first). */
function removeFile(file: string): void {
  try {
    unlinkSync(file);
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
