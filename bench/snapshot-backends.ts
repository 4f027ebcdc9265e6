// Time to snapshot and restore a volume, per backend driver: a 1 GiB volume with 100 MiB of data,
// CreateSnapshot, then CreateVolume from that snapshot (and, to show the restore is usable, the
// restored data read back and compared). The baseline, in the same process, is writing those
// 100 MiB once (rbd: through the driver's stage + publish, fsync, unpublish + unstage). The backends must be running; the flags say where (a throwaway Ceph cluster and
// ganesha server as the integration tests start them will do):
//   node --import tsx bench/snapshot-backends.ts [--mib 100] [--volume-gib 1]
//     [--ceph-monitors ADDRS --ceph-key-file FILE [--ceph-pool rbd]]
//     [--nfs-server HOST --nfs-share /export --nfs-port N --mount-port N --nfs-export-dir DIR]
// NFS: this kernel has no NFS client, so the data is written and read back in the export's
// directory on the server's side; snapshot and restore run over NFS in the driver as in production.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CsiClient } from '../src/csi/client.js';
import type { PartialMessage, VolumeCapability } from '../src/csi/types.js';
import { startNfsDriver } from '../src/drivers/nfs/index.js';
import { startRbdDriver } from '../src/drivers/rbd/index.js';
import { machineLine, numberFlag } from './helpers/flags.js';

const MIB = 1024 * 1024;
const DATA_MIB = numberFlag('mib', 100);
const VOLUME_BYTES = BigInt(numberFlag('volume-gib', 1)) * 1024n * BigInt(MIB);

function stringFlag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, performance.now() - started];
}

/** Writes DATA_MIB of random data to `file` (fsynced); returns its sha256. */
async function writeData(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  try {
    for (let i = 0; i < DATA_MIB; i++) {
      const chunk = randomBytes(MIB);
      hash.update(chunk);
      await handle.write(chunk);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface Row {
  driver: string;
  writeMs: number;
  snapshotMs: number;
  restoreMs: number;
  readBackMs: number;
  same: boolean;
}

function print(row: Row): void {
  const ratio = (ms: number) => (ms / row.writeMs).toFixed(2);
  console.log(
    `${row.driver.padEnd(4)} write ${DATA_MIB} MiB ${row.writeMs.toFixed(0)} ms (baseline) | ` +
      `CreateSnapshot ${row.snapshotMs.toFixed(0)} ms (x${ratio(row.snapshotMs)}) | ` +
      `CreateVolume from snapshot ${row.restoreMs.toFixed(0)} ms (x${ratio(row.restoreMs)}) | ` +
      `restored data read back ${row.readBackMs.toFixed(0)} ms, ${row.same ? 'identical' : 'DIFFERENT'}`,
  );
}

const MOUNT: PartialMessage<VolumeCapability> = {
  mount: { fs_type: 'ext4', mount_flags: [] },
  access_mode: { mode: 'SINGLE_NODE_WRITER' },
};

async function benchRbd(dir: string, monitors: string, keyFile: string, pool: string): Promise<Row> {
  const configFile = path.join(dir, 'clusters.json');
  await writeFile(
    configFile,
    JSON.stringify([
      { clusterID: 'bench', monitors: monitors.split(','), userID: 'admin', userKeyFile: keyFile },
    ]),
  );
  const driver = await startRbdDriver({
    endpoint: `unix://${path.join(dir, 'rbd.sock')}`,
    nodeId: 'bench-node',
    configFile,
    stateDir: path.join(dir, 'rbd-state'),
    defaultMounter: 'rbd-fuse',
  });
  const csi = new CsiClient(driver.socketPath, { timeoutMs: 600_000 });
  const params = { clusterID: 'bench', pool, mounter: 'rbd-fuse' };
  const created: string[] = [];
  let snapshotId = '';
  /** Stages and publishes `id`, runs `use` on the mounted directory, then undoes both. */
  const mounted = async <T>(id: string, use: (mountDir: string) => Promise<T>): Promise<T> => {
    const staging = path.join(dir, `staging-${id.slice(-8)}`);
    const target = path.join(dir, `target-${id.slice(-8)}`);
    await csi.nodeStageVolume({ volume_id: id, staging_target_path: staging, volume_capability: MOUNT });
    await csi.nodePublishVolume({
      volume_id: id,
      staging_target_path: staging,
      target_path: target,
      volume_capability: MOUNT,
    });
    try {
      return await use(target);
    } finally {
      await csi.nodeUnpublishVolume({ volume_id: id, target_path: target });
      await csi.nodeUnstageVolume({ volume_id: id, staging_target_path: staging });
    }
  };
  try {
    const source = (
      await csi.createVolume({
        name: 'bench-source',
        capacity_range: { required_bytes: VOLUME_BYTES.toString() },
        volume_capabilities: [MOUNT],
        parameters: params,
      })
    ).volume!.volume_id;
    created.push(source);
    const [digest, writeMs] = await timed(() => mounted(source, (m) => writeData(path.join(m, 'data.bin'))));
    const [snap, snapshotMs] = await timed(() =>
      csi.createSnapshot({ name: 'bench-snapshot', source_volume_id: source }),
    );
    snapshotId = snap.snapshot!.snapshot_id;
    const [restored, restoreMs] = await timed(() =>
      csi.createVolume({
        name: 'bench-restored',
        capacity_range: { required_bytes: VOLUME_BYTES.toString() },
        volume_capabilities: [MOUNT],
        parameters: params,
        volume_content_source: { snapshot: { snapshot_id: snapshotId } },
      }),
    );
    created.push(restored.volume!.volume_id);
    const [back, readBackMs] = await timed(() =>
      mounted(restored.volume!.volume_id, (m) => sha256(path.join(m, 'data.bin'))),
    );
    return { driver: 'rbd', writeMs, snapshotMs, restoreMs, readBackMs, same: back === digest };
  } finally {
    for (const id of created.reverse()) await csi.deleteVolume({ volume_id: id }).catch(() => undefined);
    // The restored clone is gone, so the snapshot has no dependents left.
    if (snapshotId) await csi.deleteSnapshot({ snapshot_id: snapshotId }).catch(() => undefined);
    csi.close();
    await driver.shutdown();
  }
}

async function benchNfs(dir: string, server: string, share: string, exportDir: string): Promise<Row> {
  const driver = await startNfsDriver({
    endpoint: `unix://${path.join(dir, 'nfs.sock')}`,
    nodeId: 'bench-node',
    nfsPort: numberFlag('nfs-port', 2049),
    mountPort: numberFlag('mount-port', 20048),
  });
  const csi = new CsiClient(driver.socketPath, { timeoutMs: 600_000 });
  const params = { server, share };
  const capabilities = [
    { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } },
  ];
  const created: string[] = [];
  let snapshotId = '';
  try {
    const source = await csi.createVolume({
      name: 'bench-source',
      capacity_range: { required_bytes: VOLUME_BYTES.toString() },
      volume_capabilities: capabilities,
      parameters: params,
    });
    created.push(source.volume!.volume_id);
    const sourceDir = path.join(exportDir, source.volume!.volume_context['subdir'] ?? '');
    const [digest, writeMs] = await timed(() => writeData(path.join(sourceDir, 'data.bin')));
    const [snap, snapshotMs] = await timed(() =>
      csi.createSnapshot({ name: 'bench-snapshot', source_volume_id: source.volume!.volume_id }),
    );
    snapshotId = snap.snapshot!.snapshot_id;
    const [restored, restoreMs] = await timed(() =>
      csi.createVolume({
        name: 'bench-restored',
        capacity_range: { required_bytes: VOLUME_BYTES.toString() },
        volume_capabilities: capabilities,
        parameters: params,
        volume_content_source: { snapshot: { snapshot_id: snapshotId } },
      }),
    );
    created.push(restored.volume!.volume_id);
    const restoredDir = path.join(exportDir, restored.volume!.volume_context['subdir'] ?? '');
    const [back, readBackMs] = await timed(() => sha256(path.join(restoredDir, 'data.bin')));
    return { driver: 'nfs', writeMs, snapshotMs, restoreMs, readBackMs, same: back === digest };
  } finally {
    for (const id of created) await csi.deleteVolume({ volume_id: id }).catch(() => undefined);
    if (snapshotId) await csi.deleteSnapshot({ snapshot_id: snapshotId }).catch(() => undefined);
    csi.close();
    await driver.shutdown();
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-snap-'));
await mkdir(dir, { recursive: true });
console.log(machineLine());
console.log(`volume ${VOLUME_BYTES / BigInt(MIB)} MiB, ${DATA_MIB} MiB written; ratios are to the write`);
try {
  const monitors = stringFlag('ceph-monitors');
  const keyFile = stringFlag('ceph-key-file');
  if (monitors && keyFile) print(await benchRbd(dir, monitors, keyFile, stringFlag('ceph-pool') ?? 'rbd'));
  else console.log('rbd  skipped: give --ceph-monitors and --ceph-key-file');
  const nfsServer = stringFlag('nfs-server');
  const exportDir = stringFlag('nfs-export-dir');
  if (nfsServer && exportDir)
    print(await benchNfs(dir, nfsServer, stringFlag('nfs-share') ?? '/export', exportDir));
  else
    console.log(
      'nfs  skipped: give --nfs-server, --nfs-share, --nfs-port, --mount-port and --nfs-export-dir',
    );
} finally {
  await rm(dir, { recursive: true, force: true });
}
