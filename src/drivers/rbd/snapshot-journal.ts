// The snapshot journal kept in the pool, so CreateSnapshot is idempotent by request name across
// restarts and replicas: `csi.snaps.default` maps `csi.snap.<name key>` to the snapshot's record,
// and `csi.snap.<uuid>` holds the name key, so a snapshot id leads back to its record. One
// listing of the directory answers ListSnapshots for the whole pool.
import { z } from 'zod';
import type { CephCli, CephTarget } from './ceph-cli.js';
import { commandError, isNotFound, isPoolMissing } from './ceph-cli.js';
import { omapGet, parseOmapValueDump } from './images.js';
import { SNAP_JOURNAL_DIRECTORY, SNAP_JOURNAL_NAME_KEY, SNAP_JOURNAL_PREFIX } from './names.js';

const recordSchema = z.object({
  uuid: z.string(),
  /** The source volume's id, and the uuid of its image. */
  source: z.string(),
  sourceUuid: z.string(),
  /** Set once the snapshot exists and is protected. */
  sizeBytes: z.string().optional(),
  createdSeconds: z.number().optional(),
  createdNanos: z.number().optional(),
});

export type SnapshotRecord = z.infer<typeof recordSchema>;

export function isReady(record: SnapshotRecord): boolean {
  return record.sizeBytes !== undefined && record.createdSeconds !== undefined;
}

function parseRecord(text: string | undefined): SnapshotRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const result = recordSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined; // not ours (or damaged): it names no snapshot
  }
}

/** `rados listomapvals` output: each key on a line, then `value (N bytes) :` and a hex dump. */
export function parseOmapListing(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = stdout.split('\n');
  for (let i = 1; i < lines.length; i++) {
    if (!/^value \(\d+ bytes\) :$/.test(lines[i] ?? '')) continue;
    const key = lines[i - 1] ?? '';
    const dump: string[] = [];
    for (let j = i + 1; j < lines.length && (lines[j] ?? '').trim() !== ''; j++) dump.push(lines[j] ?? '');
    out.set(key, parseOmapValueDump(dump.join('\n')));
  }
  return out;
}

const directoryKey = (key: string) => `${SNAP_JOURNAL_PREFIX}${key}`;
const snapshotObject = (uuid: string) => `${SNAP_JOURNAL_PREFIX}${uuid}`;

export class SnapshotJournal {
  private readonly cli: CephCli;

  constructor(cli: CephCli) {
    this.cli = cli;
  }

  async lookup(target: CephTarget, pool: string, key: string): Promise<SnapshotRecord | undefined> {
    return parseRecord(await omapGet(this.cli, target, pool, SNAP_JOURNAL_DIRECTORY, directoryKey(key)));
  }

  /** The record of a snapshot id's uuid, with its name key; undefined when it was never made or is gone. */
  async byUuid(
    target: CephTarget,
    pool: string,
    uuid: string,
  ): Promise<{ key: string; record: SnapshotRecord } | undefined> {
    const key = await omapGet(this.cli, target, pool, snapshotObject(uuid), SNAP_JOURNAL_NAME_KEY);
    if (key === undefined) return undefined;
    const record = await this.lookup(target, pool, key);
    return record?.uuid === uuid ? { key, record } : undefined;
  }

  /** Writes the uuid object first, so a directory entry never points at nothing. */
  async put(target: CephTarget, pool: string, key: string, record: SnapshotRecord): Promise<void> {
    await this.cli.rados(target, pool, [
      'setomapval',
      snapshotObject(record.uuid),
      SNAP_JOURNAL_NAME_KEY,
      key,
    ]);
    await this.cli.rados(target, pool, [
      'setomapval',
      SNAP_JOURNAL_DIRECTORY,
      directoryKey(key),
      JSON.stringify(record),
    ]);
  }

  /** Drops the directory entry (while it is still this snapshot's) and the uuid object. */
  async release(target: CephTarget, pool: string, key: string, uuid: string): Promise<void> {
    if ((await this.lookup(target, pool, key))?.uuid === uuid) {
      await this.cli.rados(target, pool, ['rmomapkey', SNAP_JOURNAL_DIRECTORY, directoryKey(key)]);
    }
    try {
      await this.cli.rados(target, pool, ['rm', snapshotObject(uuid)]);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Every snapshot record in the pool (none when the pool has no journal yet). */
  async list(target: CephTarget, pool: string): Promise<SnapshotRecord[]> {
    const args = ['-p', pool, 'listomapvals', SNAP_JOURNAL_DIRECTORY];
    const result = await this.cli.runWithResult('rados', target, args, { okExitCodes: [1] });
    if (result.exitCode !== 0) {
      const output = `${result.stdout}\n${result.stderr}`;
      const error = commandError('rados', args, output);
      if (isPoolMissing(error) || !/No such file or directory/.test(output)) throw error;
      return [];
    }
    const records: SnapshotRecord[] = [];
    for (const [key, value] of parseOmapListing(result.stdout)) {
      if (!key.startsWith(SNAP_JOURNAL_PREFIX)) continue;
      const record = parseRecord(value);
      if (record) records.push(record);
    }
    return records;
  }
}
