// RBD image operations and the pool's volume journal, both over the ceph CLI.
import type { CephCli, CephTarget } from './ceph-cli.js';
import { commandError, isNotFound, isPoolMissing } from './ceph-cli.js';
import {
  JOURNAL_DIRECTORY,
  JOURNAL_IMAGE_KEY,
  JOURNAL_NAME_KEY,
  imageName,
  journalDirectoryKey,
  journalVolumeObject,
} from './names.js';

/**
 * `rados getomapval` without an output file prints a hex dump:
 * `value (9 bytes) :` then `00000000  31 32 33 34 2d 61 62 63  64   |1234-abcd|`. (Writing to
 * /dev/stdout instead fails when stdout is a socket, as Node's child pipes are.)
 */
export function parseOmapValueDump(stdout: string): string {
  const bytes: number[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^[0-9a-f]{8}\s+((?:[0-9a-f]{2}\s+)+)/.exec(line.replace(/\|.*$/, ' '));
    if (!match?.[1]) continue;
    for (const hex of match[1].trim().split(/\s+/)) bytes.push(parseInt(hex, 16));
  }
  return Buffer.from(bytes).toString('utf8');
}

export interface ImageInfo {
  name: string;
  sizeBytes: bigint;
  features: string[];
}

export interface ImageSpec {
  pool: string;
  image: string;
}

const spec = (image: ImageSpec) => `${image.pool}/${image.image}`;

export class RbdImages {
  private readonly cli: CephCli;

  constructor(cli: CephCli) {
    this.cli = cli;
  }

  /** The image, or undefined when it (or its pool) does not exist. */
  async info(target: CephTarget, image: ImageSpec): Promise<ImageInfo | undefined> {
    try {
      const out = await this.cli.rbd(target, ['info', '--format', 'json', spec(image)]);
      const parsed = JSON.parse(out) as { name: string; size: number; features?: string[] };
      return { name: parsed.name, sizeBytes: BigInt(parsed.size), features: parsed.features ?? [] };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(
    target: CephTarget,
    image: ImageSpec,
    options: { sizeBytes: bigint; features: readonly string[]; dataPool?: string | undefined },
  ): Promise<void> {
    const args = ['create', '--size', `${options.sizeBytes / (1024n * 1024n)}M`];
    for (const feature of options.features) args.push('--image-feature', feature);
    if (options.dataPool) args.push('--data-pool', options.dataPool);
    await this.cli.rbd(target, [...args, spec(image)]);
  }

  async resize(target: CephTarget, image: ImageSpec, sizeBytes: bigint): Promise<void> {
    await this.cli.rbd(target, ['resize', '--size', `${sizeBytes / (1024n * 1024n)}M`, spec(image)]);
  }

  /** Removes the image; a missing one is fine. An open image fails with EBUSY (watchers). */
  async remove(target: CephTarget, image: ImageSpec): Promise<boolean> {
    try {
      await this.cli.rbd(target, ['rm', '--no-progress', spec(image)]);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Clients that have the image open (krbd/nbd mappings, rbd-fuse, librbd users). */
  async watchers(target: CephTarget, image: ImageSpec): Promise<string[]> {
    const out = await this.cli.rbd(target, ['status', '--format', 'json', spec(image)]);
    const parsed = JSON.parse(out) as { watchers?: { address: string }[] };
    return (parsed.watchers ?? []).map((watcher) => watcher.address);
  }
}

/**
 * The volume journal kept in the pool, so CreateVolume is idempotent across driver restarts and
 * replicas: `csi.volumes.default` maps `csi.volume.<name key>` to a uuid, and `csi.volume.<uuid>`
 * records the name key and image name. Reservations are written uuid object first, so a
 * directory entry never points at nothing; removal goes the other way.
 */
export class VolumeJournal {
  private readonly cli: CephCli;

  constructor(cli: CephCli) {
    this.cli = cli;
  }

  private async get(
    target: CephTarget,
    pool: string,
    object: string,
    key: string,
  ): Promise<string | undefined> {
    const args = ['-p', pool, 'getomapval', object, key];
    const result = await this.cli.runWithResult('rados', target, args, { okExitCodes: [1] });
    if (result.exitCode === 0) return parseOmapValueDump(result.stdout) || undefined;
    // rados reports a missing key or object on stdout, with exit code 1 for every failure.
    const output = `${result.stdout}\n${result.stderr}`;
    const error = commandError('rados', args, output);
    if (isPoolMissing(error) || !/No such key|No such file or directory/.test(output)) throw error;
    return undefined;
  }

  async lookup(target: CephTarget, pool: string, key: string): Promise<string | undefined> {
    return this.get(target, pool, JOURNAL_DIRECTORY, journalDirectoryKey(key));
  }

  async reserve(target: CephTarget, pool: string, key: string, uuid: string): Promise<void> {
    const object = journalVolumeObject(uuid);
    await this.cli.rados(target, pool, ['setomapval', object, JOURNAL_NAME_KEY, key]);
    await this.cli.rados(target, pool, ['setomapval', object, JOURNAL_IMAGE_KEY, imageName(uuid)]);
    await this.cli.rados(target, pool, ['setomapval', JOURNAL_DIRECTORY, journalDirectoryKey(key), uuid]);
  }

  /** The name key a volume was reserved under, if its journal object still exists. */
  async nameKeyOf(target: CephTarget, pool: string, uuid: string): Promise<string | undefined> {
    return this.get(target, pool, journalVolumeObject(uuid), JOURNAL_NAME_KEY);
  }

  /** Drops the directory entry (only while it still points at `uuid`) and the volume's object. */
  async release(target: CephTarget, pool: string, key: string | undefined, uuid: string): Promise<void> {
    if (key !== undefined && (await this.lookup(target, pool, key)) === uuid) {
      await this.cli.rados(target, pool, ['rmomapkey', JOURNAL_DIRECTORY, journalDirectoryKey(key)]);
    }
    try {
      await this.cli.rados(target, pool, ['rm', journalVolumeObject(uuid)]);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
