// The local driver's volumes on disk: one record log, `volumes.log`, of what each volume is, and a
// sparse backing file `<key>.img` per volume that has been used. "The volume exists" means exactly
// "its record is in the log". CreateVolume only appends the record: the backing file is made at the
// volume's first use (NodeStageVolume, a snapshot or clone of it), as the CSI spec allows, so a
// create costs one shared fdatasync and no file creation or directory sync. A delete appends the
// removal, then unlinks the file if there is one. A backing file without a record is a leftover (of
// a delete or a copy cut short by a crash) that a create or delete of its key removes. A call
// resolves only once its record is on disk (fdatasync, shared by concurrent calls), so an
// acknowledged CreateVolume or DeleteVolume survives a crash. The log is read whole at start and
// kept in memory, and which backing files exist is learned once from the directory: a lookup, a
// sidecar's retried call or a create or delete of a never-used volume costs no file system call.
// Older versions kept one `<key>.json` per volume; those are moved into the log at start.
// Backing files are made and removed through libuv's thread pool: a file system busy with other
// work's journal commits holds such a call for tens of milliseconds now and then, and a synchronous
// call would stop every other RPC of the driver meanwhile (bench:csi-rpc).
import {
  closeSync,
  fsync,
  ftruncate,
  open,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  statfsSync,
  truncateSync,
  unlink,
  unlinkSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SupportedFsType } from '../../host/filesystem.js';
import { isSupportedFsType } from '../../host/filesystem.js';
import type { Logger } from '../../machinery/logger.js';
import type { AccessType } from '../common/capability.js';
import { RecordLog } from '../common/record-log.js';

const fsyncAsync = promisify(fsync);
const openAsync = promisify(open);
const ftruncateAsync = promisify(ftruncate);
const unlinkAsync = promisify(unlink);

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

/** A volume's record (and, before the log, its `<key>.json` file). */
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
const LEGACY_META_SUFFIX = '.json';
export const VOLUME_LOG = 'volumes.log';
const MAX_REMEMBERED_REMOVALS = 10_000;

export class VolumeStore {
  readonly dataDir: string;
  private readonly now: () => Date;
  private readonly log: Logger | undefined;
  private records: RecordLog | undefined;
  private readonly volumes = new Map<string, LocalVolume>();
  /** Keys whose backing file exists: learned from the directory at start, then kept up to date. */
  private readonly backed = new Set<string>();
  /** Keys this process deleted (bounded: remembering them only saves work on retries). */
  private readonly removed = new Set<string>();

  constructor(options: { dataDir: string; now?: () => Date; log?: Logger }) {
    this.dataDir = path.resolve(options.dataDir);
    this.now = options.now ?? (() => new Date());
    this.log = options.log;
  }

  /** Reads the log (refusing a damaged one), then moves older per-volume files into it. */
  async init(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    const { log, records } = RecordLog.open({
      file: path.join(this.dataDir, VOLUME_LOG),
      warn: (message, fields) => this.log?.warn(message, fields),
    });
    this.records = log;
    try {
      for (const [key, value] of records) this.volumes.set(key, decodeVolume(key, value, log.file));
      const names = readdirSync(this.dataDir);
      for (const name of names) {
        if (name.endsWith(IMAGE_SUFFIX) && !name.startsWith('.'))
          this.backed.add(name.slice(0, -IMAGE_SUFFIX.length));
      }
      await this.importMetadataFiles(names);
    } catch (err) {
      await log.close();
      throw err;
    }
  }

  /** Waits for calls in flight, then closes the log. */
  async close(): Promise<void> {
    await this.records?.close();
  }

  imagePath(key: string): string {
    return path.join(this.dataDir, key + IMAGE_SUFFIX);
  }

  async get(key: string): Promise<LocalVolume | undefined> {
    return this.volumes.get(key);
  }

  /** Every volume, ordered by key (stable pages for ListVolumes). */
  async list(): Promise<LocalVolume[]> {
    return [...this.volumes.keys()].sort().map((key) => this.volumes.get(key)!);
  }

  /**
   * Records a new volume; its backing file is made at first use (backingFile). A leftover file of
   * the key is removed first, with the directory synced in the record's flush, so that old data
   * never shows up in the new volume, not even after a crash.
   */
  async create(volume: Omit<LocalVolume, 'createdAt'>): Promise<LocalVolume> {
    const leftover = this.backed.has(volume.key);
    if (leftover) await this.removeBackingFile(volume.key);
    return this.record({ ...volume, createdAt: this.now().toISOString() }, leftover);
  }

  /** Whether the volume's backing file has been made (a volume never used has none). */
  hasBackingFile(key: string): boolean {
    return this.backed.has(key);
  }

  /**
   * The volume's backing file, made on first use: a zeroed sparse file of the volume's recorded
   * size, its name made durable before it is handed out (data written to the volume must not lose
   * its file in a crash). The caller holds the volume's lock.
   */
  async backingFile(key: string): Promise<string> {
    const file = this.imagePath(key);
    if (this.backed.has(key)) return file;
    const volume = this.volumes.get(key);
    if (!volume) throw new Error(`volume ${key} does not exist (deleted meanwhile?)`);
    // 'w' truncates a file nobody recorded, so old data never shows up in the volume.
    const fd = await openAsync(file, 'w', 0o600);
    try {
      await ftruncateAsync(fd, Number(volume.capacityBytes));
    } finally {
      closeSync(fd); // nothing to write back or journal for a new sparse file: no thread-pool trip
    }
    this.backed.add(key);
    await this.syncDirectory();
    return file;
  }

  /**
   * Where a new volume's copy (restore or clone) is written; from now on a create or delete of the
   * key removes whatever is there, so a copy cut short is not left behind.
   */
  copyTarget(key: string): string {
    this.backed.add(key);
    return this.imagePath(key);
  }

  /**
   * Records a volume whose backing file was already copied to copyTarget(key) from a snapshot or
   * another volume: grown to `capacityBytes` (a copy is never larger) and flushed, then recorded.
   */
  async recordCopy(volume: Omit<LocalVolume, 'createdAt'>): Promise<LocalVolume> {
    const image = this.imagePath(volume.key);
    const { size } = statSync(image);
    if (BigInt(size) < volume.capacityBytes) truncateSync(image, Number(volume.capacityBytes));
    // the copy's data must be on disk before the volume is acknowledged (cp does not flush)
    const fd = openSync(image, 'r');
    try {
      await fsyncAsync(fd);
    } finally {
      closeSync(fd);
    }
    return this.record({ ...volume, createdAt: this.now().toISOString() }, true);
  }

  /** Grows the backing file if there is one (never shrinks it) and records the new size. */
  async grow(volume: LocalVolume, capacityBytes: bigint): Promise<LocalVolume> {
    if (capacityBytes <= volume.capacityBytes) return volume;
    if (this.backed.has(volume.key)) truncateSync(this.imagePath(volume.key), Number(capacityBytes));
    return this.record({ ...volume, capacityBytes }, false);
  }

  /** Records the removal, then removes the backing file if there is one (a leftover's too). */
  async delete(key: string): Promise<void> {
    if (this.volumes.has(key)) {
      await this.open().remove(key);
      this.volumes.delete(key);
    }
    if (this.backed.has(key)) await this.removeBackingFile(key);
    if (this.removed.size >= MAX_REMEMBERED_REMOVALS) this.removed.clear();
    this.removed.add(key);
  }

  /** True when this process deleted the volume and nothing has created it since. */
  isGone(key: string): boolean {
    return this.removed.has(key) && !this.volumes.has(key);
  }

  /** Bytes an unprivileged writer can still use in the data directory. */
  async availableBytes(): Promise<bigint> {
    const stats = statfsSync(this.dataDir, { bigint: true });
    return stats.bavail * stats.bsize;
  }

  private async record(volume: LocalVolume, syncDirectory: boolean): Promise<LocalVolume> {
    await this.open().put(volume.key, toStored(volume), { syncDirectory });
    this.volumes.set(volume.key, volume);
    this.removed.delete(volume.key);
    return volume;
  }

  private async removeBackingFile(key: string): Promise<void> {
    try {
      await unlinkAsync(this.imagePath(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.backed.delete(key);
  }

  private async syncDirectory(): Promise<void> {
    const fd = await openAsync(this.dataDir, 'r');
    try {
      await fsyncAsync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private open(): RecordLog {
    if (!this.records) throw new Error('the volume store is not initialised');
    return this.records;
  }

  /**
   * Moves `<key>.json` files of older versions into the log: all recorded in one flush, then
   * removed. A file whose key is already in the log is a copy left by a crash during a previous
   * move; one that is not JSON was torn by a crash during its create, which was never acknowledged.
   */
  private async importMetadataFiles(names: string[]): Promise<void> {
    const files = names.filter((name) => name.endsWith(LEGACY_META_SUFFIX) && !name.startsWith('.'));
    const temporaries = names.filter((name) => name.startsWith('.') && name.endsWith('.json.tmp'));
    if (files.length === 0 && temporaries.length === 0) return;
    const imports: Promise<LocalVolume>[] = [];
    for (const name of files) {
      const key = name.slice(0, -LEGACY_META_SUFFIX.length);
      if (this.volumes.has(key)) continue;
      const file = path.join(this.dataDir, name);
      let stored: unknown;
      try {
        stored = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        if (err instanceof SyntaxError) continue;
        throw err;
      }
      imports.push(this.record(decodeVolume(key, stored, file), false));
    }
    const moved = await Promise.all(imports);
    for (const name of [...files, ...temporaries]) removeFile(path.join(this.dataDir, name));
    this.log?.info('moved volume metadata files into the volume log', {
      volumes: moved.length,
      files: files.length,
    });
  }
}

/** unlink, where a file already gone is success (one system call; fs.rm stats first). */
function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function toStored(volume: LocalVolume): StoredVolume {
  return {
    version: 1,
    name: volume.name,
    capacityBytes: volume.capacityBytes.toString(),
    accessType: volume.accessType,
    fsType: volume.fsType,
    createdAt: volume.createdAt,
    ...(volume.contentSource ? { contentSource: volume.contentSource } : {}),
  };
}

/** The volume a record describes; throws (refusing to start) for one this version cannot read. */
function decodeVolume(key: string, value: unknown, where: string): LocalVolume {
  const stored = value as Partial<StoredVolume> | null;
  const valid =
    typeof stored === 'object' &&
    stored !== null &&
    stored.version === 1 &&
    typeof stored.name === 'string' &&
    typeof stored.capacityBytes === 'string' &&
    /^\d+$/.test(stored.capacityBytes) &&
    (stored.accessType === 'mount' || stored.accessType === 'block') &&
    (stored.fsType === '' || isSupportedFsType(stored.fsType ?? '')) &&
    typeof stored.createdAt === 'string' &&
    (stored.contentSource === undefined || typeof stored.contentSource === 'string');
  if (!valid) {
    throw new Error(
      `${where}: the record of volume ${key} is not one this version can read; refusing to start`,
    );
  }
  return {
    key,
    name: stored.name!,
    capacityBytes: BigInt(stored.capacityBytes!),
    accessType: stored.accessType!,
    fsType: stored.fsType!,
    createdAt: stored.createdAt!,
    ...(stored.contentSource ? { contentSource: stored.contentSource } : {}),
  };
}
