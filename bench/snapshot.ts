// Time to snapshot and restore a 1 GiB local volume with 100 MiB written (mounted ext4, so the
// snapshot freezes it), beside the baseline of creating an empty 1 GiB volume in the same run.
// Needs root. Other drivers can add a case with the same shape.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CsiClient } from '../src/csi/client.js';
import { startLocalDriver } from '../src/drivers/local/index.js';

const GiB = String(1 << 30);
const capability = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } };

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await work();
  return [result, Number(process.hrtime.bigint() - started) / 1e6];
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-bench-snap-'));
const driver = await startLocalDriver({
  endpoint: `unix://${path.join(dir, 'csi.sock')}`,
  nodeId: 'bench',
  dataDir: path.join(dir, 'data'),
});
const client = new CsiClient(driver.socketPath, { timeoutMs: 300_000 });
const staging = path.join(dir, 'staging');
const target = path.join(dir, 'target');
mkdirSync(target, { recursive: true });
try {
  const [, emptyMs] = await timed(() =>
    client.createVolume({
      name: 'baseline',
      capacity_range: { required_bytes: GiB },
      volume_capabilities: [capability],
    }),
  );
  const id = (
    await client.createVolume({
      name: 'source',
      capacity_range: { required_bytes: GiB },
      volume_capabilities: [capability],
    })
  ).volume!.volume_id;
  await client.nodeStageVolume({
    volume_id: id,
    staging_target_path: staging,
    volume_capability: capability,
  });
  await client.nodePublishVolume({
    volume_id: id,
    staging_target_path: staging,
    target_path: target,
    volume_capability: capability,
  });
  writeFileSync(path.join(target, 'data'), randomBytes(100 << 20));
  const [snap, snapshotMs] = await timed(() => client.createSnapshot({ name: 'snap', source_volume_id: id }));
  const [, restoreMs] = await timed(() =>
    client.createVolume({
      name: 'restored',
      capacity_range: { required_bytes: GiB },
      volume_capabilities: [capability],
      volume_content_source: { snapshot: { snapshot_id: snap.snapshot!.snapshot_id } },
    }),
  );
  console.log(`local driver, 1 GiB volume, 100 MiB written (ext4, mounted)`);
  console.log(`  baseline CreateVolume (empty): ${emptyMs.toFixed(1)} ms`);
  console.log(
    `  CreateSnapshot (frozen copy):  ${snapshotMs.toFixed(1)} ms  (${(snapshotMs / emptyMs).toFixed(1)}x baseline)`,
  );
  console.log(
    `  CreateVolume from snapshot:    ${restoreMs.toFixed(1)} ms  (${(restoreMs / emptyMs).toFixed(1)}x baseline)`,
  );
  await client.nodeUnpublishVolume({ volume_id: id, target_path: target });
  await client.nodeUnstageVolume({ volume_id: id, staging_target_path: staging });
} finally {
  client.close();
  await driver.shutdown();
  rmSync(dir, { recursive: true, force: true });
}
