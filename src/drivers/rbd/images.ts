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
  /** The snapshot this image is a clone of, until it is flattened. */
  parent?: SnapSpec | undefined;
}

export interface SnapSpec extends ImageSpec {
  snapshot: string;
}

export interface SnapInfo {
  name: string;
  sizeBytes: bigint;
  protected: boolean;
}

export interface ImageSpec {
  pool: string;
  image: string;
}

const spec = (image: ImageSpec) => `${image.pool}/${image.image}`;
const snapSpec = (snap: SnapSpec) => `${spec(snap)}@${snap.snapshot}`;

export class RbdImages {
  private readonly cli: CephCli;

  constructor(cli: CephCli) {
    this.cli = cli;
  }

  /** The image, or undefined when it (or its pool) does not exist. */
  async info(target: CephTarget, image: ImageSpec): Promise<ImageInfo | undefined> {
    try {
      const out = await this.cli.rbd(target, ['info', '--format', 'json', spec(image)]);
      const parsed = JSON.parse(out) as {
        name: string;
        size: number;
        features?: string[];
        parent?: { pool: string; image: string; snapshot: string };
      };
      const { parent } = parsed;
      return {
        name: parsed.name,
        sizeBytes: BigInt(parsed.size),
        features: parsed.features ?? [],
        parent: parent ? { pool: parent.pool, image: parent.image, snapshot: parent.snapshot } : undefined,
      };
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

  /** The image's snapshots, or undefined when the image does not exist. */
  async snapshots(target: CephTarget, image: ImageSpec): Promise<SnapInfo[] | undefined> {
    try {
      const out = await this.cli.rbd(target, ['snap', 'ls', '--format', 'json', spec(image)]);
      const parsed = JSON.parse(out) as { name: string; size: number; protected: string }[];
      return parsed.map((snap) => ({
        name: snap.name,
        sizeBytes: BigInt(snap.size),
        protected: snap.protected === 'true',
      }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Creates and protects the snapshot (so it can be cloned); each step is skipped when done. */
  async snapshotProtected(target: CephTarget, snap: SnapSpec): Promise<SnapInfo> {
    let found = (await this.snapshots(target, snap))?.find((s) => s.name === snap.snapshot);
    if (!found) {
      await this.cli.rbd(target, ['snap', 'create', '--no-progress', snapSpec(snap)]);
      found = (await this.snapshots(target, snap))?.find((s) => s.name === snap.snapshot);
      if (!found) throw new Error(`snapshot ${snapSpec(snap)} vanished after it was created`);
    }
    if (!found.protected) await this.cli.rbd(target, ['snap', 'protect', snapSpec(snap)]);
    return { ...found, protected: true };
  }

  /** Unprotects and removes a snapshot; a missing one is fine. EBUSY while clones depend on it. */
  async removeSnapshot(target: CephTarget, snap: SnapSpec): Promise<void> {
    const found = (await this.snapshots(target, snap))?.find((s) => s.name === snap.snapshot);
    if (!found) return;
    if (found.protected) {
      try {
        await this.cli.rbd(target, ['snap', 'unprotect', snapSpec(snap)]);
      } catch (err) {
        // Another remover (a finished flatten's clean-up) may have got there first.
        const now = (await this.snapshots(target, snap))?.find((s) => s.name === snap.snapshot);
        if (!now) return;
        if (now.protected) throw err;
      }
    }
    try {
      await this.cli.rbd(target, ['snap', 'rm', '--no-progress', snapSpec(snap)]);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Images cloned from the snapshot and not yet flattened; none once the snapshot is gone. */
  async children(target: CephTarget, snap: SnapSpec): Promise<ImageSpec[]> {
    let out: string;
    try {
      out = await this.cli.rbd(target, ['children', '--format', 'json', snapSpec(snap)]);
    } catch (err) {
      // a finished flatten's clean-up may remove the snapshot between listing and asking (rbd
      // then says only "snapshot does not exist", without an errno)
      const still = (await this.snapshots(target, snap))?.some((s) => s.name === snap.snapshot);
      if (!still) return [];
      throw err;
    }
    const parsed = JSON.parse(out) as { pool: string; image: string }[];
    return parsed.map((child) => ({ pool: child.pool, image: child.image }));
  }

  async clone(
    target: CephTarget,
    parent: SnapSpec,
    image: ImageSpec,
    options: { features: readonly string[]; dataPool?: string | undefined },
  ): Promise<void> {
    const args = ['clone'];
    for (const feature of options.features) args.push('--image-feature', feature);
    if (options.dataPool) args.push('--data-pool', options.dataPool);
    await this.cli.rbd(target, [...args, snapSpec(parent), spec(image)]);
  }

  /** Copies the parent's data into the image so it no longer depends on the parent snapshot. */
  async flatten(target: CephTarget, image: ImageSpec, timeoutMs: number): Promise<void> {
    await this.cli.run('rbd', target, ['flatten', '--no-progress', spec(image)], { timeoutMs });
  }

  async rename(target: CephTarget, from: ImageSpec, toName: string): Promise<void> {
    await this.cli.rbd(target, ['rename', spec(from), `${from.pool}/${toName}`]);
  }

  /** How many clone parents lie above the image (0 for an image that is no clone). */
  async depth(target: CephTarget, image: ImageSpec, limit: number): Promise<number> {
    let depth = 0;
    let current = await this.info(target, image);
    while (current?.parent && depth < limit) {
      depth++;
      current = await this.info(target, current.parent);
    }
    return depth;
  }

  /** Pools of the cluster. */
  async pools(target: CephTarget): Promise<string[]> {
    const out = await this.cli.run('rados', target, ['lspools']);
    return out.split('\n').filter((line) => line.trim() !== '');
  }

  /** Clients that have the image open (krbd/nbd mappings, rbd-fuse, librbd users). */
  async watchers(target: CephTarget, image: ImageSpec): Promise<string[]> {
    const out = await this.cli.rbd(target, ['status', '--format', 'json', spec(image)]);
    const parsed = JSON.parse(out) as { watchers?: { address: string }[] };
    return (parsed.watchers ?? []).map((watcher) => watcher.address);
  }
}

/** One omap value, or undefined when the key or the object is missing (a missing pool throws). */
export async function omapGet(
  cli: CephCli,
  target: CephTarget,
  pool: string,
  object: string,
  key: string,
): Promise<string | undefined> {
  const args = ['-p', pool, 'getomapval', object, key];
  const result = await cli.runWithResult('rados', target, args, { okExitCodes: [1] });
  if (result.exitCode === 0) return parseOmapValueDump(result.stdout) || undefined;
  // rados reports a missing key or object on stdout, with exit code 1 for every failure.
  const output = `${result.stdout}\n${result.stderr}`;
  const error = commandError('rados', args, output);
  if (isPoolMissing(error) || !/No such key|No such file or directory/.test(output)) throw error;
  return undefined;
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

  private get(target: CephTarget, pool: string, object: string, key: string): Promise<string | undefined> {
    return omapGet(this.cli, target, pool, object, key);
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
