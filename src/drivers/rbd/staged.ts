// What the node side remembers about each staged volume: one small JSON file per volume in the
// driver's state directory, written before the device is used, so a restarted driver (or a
// retried NodeUnstageVolume) can always find and undo what was mapped.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { AccessType } from '../common/capability.js';
import type { MounterName } from './config.js';
import type { Mapping } from './mappers.js';
import { stateKey } from './names.js';

export interface StagedVolume extends Mapping {
  volumeId: string;
  clusterID: string;
  pool: string;
  image: string;
  mounter: MounterName;
  accessType: AccessType;
  stagingPath: string;
}

export class StagedVolumes {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(volumeId: string): string {
    return path.join(this.dir, `${stateKey(volumeId)}.json`);
  }

  /** A private directory for rbd-fuse to serve this volume's image on. */
  fuseDir(fuseRoot: string, volumeId: string): string {
    return path.join(fuseRoot, stateKey(volumeId));
  }

  async get(volumeId: string): Promise<StagedVolume | undefined> {
    try {
      const record = JSON.parse(await fs.readFile(this.file(volumeId), 'utf8')) as StagedVolume;
      return record.volumeId === volumeId ? record : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async put(record: StagedVolume): Promise<void> {
    const file = this.file(record.volumeId);
    const temp = `${file}.tmp`;
    await fs.writeFile(temp, JSON.stringify(record, null, 2), { mode: 0o600 });
    await fs.rename(temp, file);
  }

  async remove(volumeId: string): Promise<void> {
    await fs.rm(this.file(volumeId), { force: true });
  }
}
