// The node's actual state of world: which volumes are staged and published where, as far as the
// agent knows. Kept in memory while running; rebuilt after a restart from the vol_data.json files
// it left on disk and the kernel's mount table (a path in the table is mounted; one only on disk
// is "uncertain": set it up again if wanted, tear it down if not).
import { uniqueVolumeName } from '../attach-detach/names.js';
import type { ActualPublish, ActualVolume, MountState } from './decide.js';
import type { NodePaths } from './paths.js';
import { scanPublished, scanStaged } from './vol-data.js';

export interface VolumeIdentity {
  uniqueName: string;
  driver: string;
  volumeHandle: string;
  specName: string;
}

export class ActualState {
  private readonly volumes = new Map<string, ActualVolume>();

  get(uniqueName: string): ActualVolume | undefined {
    return this.volumes.get(uniqueName);
  }

  list(): ActualVolume[] {
    return [...this.volumes.values()];
  }

  /** A deep copy, for callers that report or test. */
  snapshot(): ActualVolume[] {
    return structuredClone(this.list());
  }

  ensure(id: VolumeIdentity): ActualVolume {
    let v = this.volumes.get(id.uniqueName);
    if (!v) {
      v = { ...id, stage: 'none', publishes: [] };
      this.volumes.set(id.uniqueName, v);
    } else if (!v.specName && id.specName) {
      v.specName = id.specName;
    }
    return v;
  }

  setStage(id: VolumeIdentity, stage: ActualVolume['stage']): void {
    this.ensure(id).stage = stage;
    this.dropIfEmpty(id.uniqueName);
  }

  setPublish(id: VolumeIdentity, podUID: string, targetPath: string, state: MountState): void {
    const v = this.ensure(id);
    const existing = v.publishes.find((p) => p.podUID === podUID);
    if (existing) {
      existing.targetPath = targetPath;
      existing.state = state;
    } else {
      v.publishes.push({ podUID, targetPath, state });
    }
  }

  removePublish(uniqueName: string, podUID: string): void {
    const v = this.volumes.get(uniqueName);
    if (!v) return;
    v.publishes = v.publishes.filter((p) => p.podUID !== podUID);
    this.dropIfEmpty(uniqueName);
  }

  /** Every mount record of one pod. */
  publishesOfPod(podUID: string): (ActualPublish & { uniqueName: string })[] {
    const out: (ActualPublish & { uniqueName: string })[] = [];
    for (const v of this.volumes.values()) {
      for (const p of v.publishes) if (p.podUID === podUID) out.push({ ...p, uniqueName: v.uniqueName });
    }
    return out;
  }

  podUIDs(): Set<string> {
    const out = new Set<string>();
    for (const v of this.volumes.values()) for (const p of v.publishes) out.add(p.podUID);
    return out;
  }

  private dropIfEmpty(uniqueName: string): void {
    const v = this.volumes.get(uniqueName);
    if (v && v.stage === 'none' && v.publishes.length === 0) this.volumes.delete(uniqueName);
  }

  /** Rebuilds from disk; `mounted` holds the mount points of the mount table. */
  async reconstruct(paths: NodePaths, mounted: ReadonlySet<string>): Promise<ActualVolume[]> {
    for (const found of await scanPublished(paths)) {
      const d = found.data;
      const id = {
        uniqueName: uniqueVolumeName(d.driverName, d.volumeHandle),
        driver: d.driverName,
        volumeHandle: d.volumeHandle,
        specName: d.specVolID,
      };
      this.setPublish(
        id,
        found.podUID,
        found.targetPath,
        mounted.has(found.targetPath) ? 'mounted' : 'uncertain',
      );
    }
    for (const found of await scanStaged(paths)) {
      const d = found.data;
      const uniqueName = uniqueVolumeName(d.driverName, d.volumeHandle);
      const id = { uniqueName, driver: d.driverName, volumeHandle: d.volumeHandle, specName: '' };
      this.setStage(id, mounted.has(found.stagingPath) ? 'staged' : 'uncertain');
    }
    return this.snapshot();
  }
}
