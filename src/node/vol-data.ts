// vol_data.json: the metadata kubelet writes beside every staging and publish directory, before
// calling the driver and removed only after the driver let go. After a restart it is how the node
// agent knows which volumes it left mounted (together with the mount table).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { NodePaths } from './paths.js';
import { GLOBAL_MOUNT_DIR, VOL_DATA_FILE } from './paths.js';

/** Beside a pod volume's mount dir (field names as kubelet writes them). */
export interface PublishVolumeData {
  specVolID: string;
  volumeHandle: string;
  driverName: string;
  nodeName: string;
  attachmentID: string;
  volumeLifecycleMode: 'Persistent' | 'Ephemeral';
}

/** Beside a volume's globalmount. */
export interface StageVolumeData {
  volumeHandle: string;
  driverName: string;
}

/** Writes atomically (temp file + rename), so a crash never leaves half a file. */
export async function writeVolData(dir: string, data: PublishVolumeData | StageVolumeData): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o750 });
  const file = path.join(dir, VOL_DATA_FILE);
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(data), { mode: 0o640 });
  await fs.rename(tmp, file);
}

export async function readVolData(dir: string): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(path.join(dir, VOL_DATA_FILE), 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function removeVolData(dir: string): Promise<void> {
  await fs.rm(path.join(dir, VOL_DATA_FILE), { force: true });
}

/** rmdir, never recursive: a directory that is still a mount point (EBUSY) or not empty stays. */
export async function removeDirIfEmpty(dir: string): Promise<boolean> {
  try {
    await fs.rmdir(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    return false;
  }
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

export interface FoundPublish {
  podUID: string;
  /** The directory holding mount/ and vol_data.json. */
  dir: string;
  targetPath: string;
  data: PublishVolumeData;
}

export interface FoundStage {
  dir: string;
  stagingPath: string;
  data: StageVolumeData;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Every pod volume with a readable vol_data.json (pods/<uid>/volumes/kubernetes.io~csi/<name>). */
export async function scanPublished(paths: NodePaths): Promise<FoundPublish[]> {
  const found: FoundPublish[] = [];
  for (const podUID of await listDirs(paths.podsDir())) {
    const base = paths.podCsiVolumesDir(podUID);
    for (const name of await listDirs(base)) {
      const dir = path.join(base, name);
      const raw = await readVolData(dir);
      if (!raw || !str(raw['volumeHandle']) || !str(raw['driverName'])) continue;
      found.push({
        podUID,
        dir,
        targetPath: path.join(dir, 'mount'),
        data: {
          specVolID: str(raw['specVolID']) || name,
          volumeHandle: str(raw['volumeHandle']),
          driverName: str(raw['driverName']),
          nodeName: str(raw['nodeName']),
          attachmentID: str(raw['attachmentID']),
          volumeLifecycleMode: raw['volumeLifecycleMode'] === 'Ephemeral' ? 'Ephemeral' : 'Persistent',
        },
      });
    }
  }
  return found;
}

/** Every staged volume with a readable vol_data.json (plugins/kubernetes.io/csi/<driver>/<sha>). */
export async function scanStaged(paths: NodePaths): Promise<FoundStage[]> {
  const found: FoundStage[] = [];
  const root = paths.csiStagingRoot();
  for (const driver of await listDirs(root)) {
    for (const sha of await listDirs(path.join(root, driver))) {
      const dir = path.join(root, driver, sha);
      const raw = await readVolData(dir);
      if (!raw || !str(raw['volumeHandle'])) continue;
      found.push({
        dir,
        stagingPath: path.join(dir, GLOBAL_MOUNT_DIR),
        data: { volumeHandle: str(raw['volumeHandle']), driverName: str(raw['driverName']) || driver },
      });
    }
  }
  return found;
}
