// The local driver's volumes on disk: `<key>.img` (a sparse backing file) per volume, and one
// record log, `volumes.log`, of what each volume is. A create makes the backing file, then appends
// the volume's record; a delete appends the removal, then unlinks the file. So "the volume exists"
// means exactly "its record is in the log"; a backing file without one is a leftover that a create
// reuses (zeroed) and a delete removes. A call resolves only once its record is on disk (fdatasync,
// shared by concurrent calls), so an acknowledged CreateVolume or DeleteVolume survives a crash.
// The log is read whole at start and kept in memory: a lookup, a sidecar's retried call or a node
// call's lookup costs no file system call. Older versions kept one `<key>.json` per volume; those
// are moved into the log at start (recorded durably first, then removed).
// A backing file is created and removed through libuv's thread pool: a file system busy with other
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
      await this.importMetadataFiles();
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

  /** Creates a zeroed sparse backing file of `capacityBytes`, then records the volume. */
  async create(volume: Omit<LocalVolume, 'createdAt'>): Promise<LocalVolume> {
    // 'w' truncates a leftover file to zero first, so old data never shows up in a new volume.
    const fd = await openAsync(this.imagePath(volume.key), 'w', 0o600);
    try {
      await ftruncateAsync(fd, Number(volume.capacityBytes));
    } finally {
      closeSync(fd); // nothing to write back or journal for a new sparse file: no thread-pool trip
    }
    // The directory is synced with the record, so the new file's name is as durable as the record.
    return this.record({ ...volume, createdAt: this.now().toISOString() }, true);
  }

  /**
   * Records a volume whose backing file was already copied to imagePath(key) from a snapshot or
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

  /** Grows the backing file (never shrinks it) and records the new size. */
  async grow(volume: LocalVolume, capacityBytes: bigint): Promise<LocalVolume> {
    if (capacityBytes <= volume.capacityBytes) return volume;
    truncateSync(this.imagePath(volume.key), Number(capacityBytes));
    return this.record({ ...volume, capacityBytes }, false);
  }

  /** Records the removal, then removes the backing file (a leftover's too, with no record). */
  async delete(key: string): Promise<void> {
    if (this.volumes.has(key)) {
      await this.open().remove(key);
      this.volumes.delete(key);
    }
    try {
      await unlinkAsync(this.imagePath(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
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

  private open(): RecordLog {
    if (!this.records) throw new Error('the volume store is not initialised');
    return this.records;
  }

  /**
   * Moves `<key>.json` files of older versions into the log: all recorded in one flush, then
   * removed. A file whose key is already in the log is a copy left by a crash during a previous
   * move; one that is not JSON was torn by a crash during its create, which was never acknowledged.
   */
  private async importMetadataFiles(): Promise<void> {
    const names = readdirSync(this.dataDir);
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
