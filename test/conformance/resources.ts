// What a conformance test created on the driver, torn down in reverse order after each test
// (NodeUnpublish -> NodeUnstage -> DeleteVolume, newest volume first -> DeleteSnapshot), whatever
// the test's outcome. Newest first: a restored or cloned volume goes before its source.
import type { CsiClient } from '../../src/csi/client.js';

export class ConformanceResources {
  private readonly client: CsiClient;
  private readonly volumes = new Set<string>();
  private readonly snapshots = new Set<string>();
  private readonly staged = new Map<string, string>(); // staging path -> volume id
  private readonly published = new Map<string, string>(); // target path -> volume id

  constructor(client: CsiClient) {
    this.client = client;
  }

  volume(id: string): string {
    this.volumes.add(id);
    return id;
  }
  snapshot(id: string): string {
    this.snapshots.add(id);
    return id;
  }
  forgetSnapshot(id: string): void {
    this.snapshots.delete(id);
  }
  stage(volumeId: string, stagingPath: string): void {
    this.staged.set(stagingPath, volumeId);
  }
  publish(volumeId: string, targetPath: string): void {
    this.published.set(targetPath, volumeId);
  }
  /** The test tore these down itself. */
  forgetVolume(id: string): void {
    this.volumes.delete(id);
  }
  forgetStage(stagingPath: string): void {
    this.staged.delete(stagingPath);
  }
  forgetPublish(targetPath: string): void {
    this.published.delete(targetPath);
  }

  async cleanup(): Promise<void> {
    const failures: string[] = [];
    const attempt = async (what: string, call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (err) {
        failures.push(`${what}: ${(err as Error).message}`);
      }
    };
    for (const [target_path, volume_id] of this.published) {
      await attempt(`unpublish ${target_path}`, () =>
        this.client.nodeUnpublishVolume({ volume_id, target_path }),
      );
    }
    for (const [staging_target_path, volume_id] of this.staged) {
      await attempt(`unstage ${staging_target_path}`, () =>
        this.client.nodeUnstageVolume({ volume_id, staging_target_path }),
      );
    }
    for (const volume_id of [...this.volumes].reverse()) {
      await attempt(`delete ${volume_id}`, () => this.client.deleteVolume({ volume_id }));
    }
    for (const snapshot_id of this.snapshots) {
      await attempt(`delete snapshot ${snapshot_id}`, () => this.client.deleteSnapshot({ snapshot_id }));
    }
    this.published.clear();
    this.staged.clear();
    this.volumes.clear();
    this.snapshots.clear();
    if (failures.length > 0) throw new Error(`conformance cleanup failed:\n${failures.join('\n')}`);
  }
}
