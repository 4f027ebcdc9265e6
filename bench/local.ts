// Local driver benchmark: the full lifecycle of a 64 MiB volume (create, stage, publish, unpublish,
// unstage, delete) through the driver over its unix socket, beside a bash script doing the same
// truncate/losetup/mkfs.ext4/mount/bind/umount/losetup -d/rm directly, in the same run.
// Run as root: node --import tsx bench/local.ts   (BENCH_ITERATIONS, default 9)
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { CsiClient } from '../src/csi/client.js';
import { startLocalDriver } from '../src/drivers/local/index.js';
import { systemExec } from '../src/host/exec.js';
import { parseMountInfo } from '../src/host/mountinfo.js';

const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 9);
const SIZE_MIB = 64;
const run = promisify(execFile);

// The same steps the driver takes, with the same mkfs options.
const SCRIPT = `#!/bin/bash
set -euo pipefail
dir=$1; name=$2
img="$dir/$name.img"; stg="$dir/staging/$name"; tgt="$dir/pods/$name"
truncate -s ${SIZE_MIB}M "$img"
dev=$(losetup -f --show "$img")
mkfs.ext4 -q -F -E nodiscard "$dev"
mkdir -p "$stg" "$tgt"
mount -t ext4 "$dev" "$stg"
mount --bind "$stg" "$tgt"
umount "$tgt"; rmdir "$tgt"
umount "$stg"
losetup -d "$dev"
rm -f "$img"
`;

function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const command of ['losetup', 'mkfs.ext4', 'blkid', 'mount', 'umount', 'bash', 'truncate']) {
    const found = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((dir) => {
      try {
        accessSync(join(dir, command), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (!found) return `needs ${command}`;
  }
  return undefined;
}

/** Unmounts and detaches whatever a failed run left under `dir` (only there). */
function sweep(dir: string): void {
  const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((entry) => entry.mountPoint)
    .filter((mountPoint) => mountPoint.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
  for (const name of readdirSync('/sys/block').filter((n) => n.startsWith('loop'))) {
    try {
      const backing = readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim();
      if (backing.startsWith(dir + '/')) execFileSync('losetup', ['-d', `/dev/${name}`], { stdio: 'ignore' });
    } catch {
      // not attached
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function driverLifecycle(client: CsiClient, dir: string, name: string): Promise<number> {
  const capability = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } };
  const staging = join(dir, 'staging', name);
  const target = join(dir, 'pods', name);
  const started = performance.now();
  const created = await client.createVolume({
    name,
    capacity_range: { required_bytes: String(SIZE_MIB * 1024 * 1024) },
    volume_capabilities: [capability],
  });
  const volume_id = created.volume!.volume_id;
  await client.nodeStageVolume({ volume_id, staging_target_path: staging, volume_capability: capability });
  await client.nodePublishVolume({
    volume_id,
    staging_target_path: staging,
    target_path: target,
    volume_capability: capability,
  });
  await client.nodeUnpublishVolume({ volume_id, target_path: target });
  await client.nodeUnstageVolume({ volume_id, staging_target_path: staging });
  await client.deleteVolume({ volume_id });
  return performance.now() - started;
}

async function scriptLifecycle(script: string, dir: string, name: string): Promise<number> {
  const started = performance.now();
  await run('bash', [script, dir, name], { env: { ...process.env, LC_ALL: 'C' } });
  return performance.now() - started;
}

/**
 * What one short command costs started each way the driver could start it, beside bash forking it
 * itself (the script's way), interleaved in rounds: the numbers behind the helper shells.
 */
async function spawnCosts(): Promise<void> {
  const runs = 100;
  const helpers = systemExec({ spawn: 'helpers' });
  const own = systemExec({ spawn: 'own-process' });
  const ways: [string, () => Promise<unknown>][] = [
    ['helper shell (systemExec)', () => helpers.run('true', [])],
    ['child_process.spawn', () => own.run('true', [])],
    ['execa', () => execa('true', [], { reject: false, stdin: 'ignore', env: { LC_ALL: 'C' } })],
  ];
  const perCommand = new Map<string, number[]>();
  for (let round = 0; round < 3; round++) {
    for (const [name, start] of ways) {
      await start();
      const started = performance.now();
      for (let i = 0; i < runs; i++) await start();
      perCommand.set(name, [...(perCommand.get(name) ?? []), (performance.now() - started) / runs]);
    }
    const started = performance.now();
    await run('bash', ['-c', `for i in $(seq ${runs}); do /usr/bin/true; done`]);
    const name = 'bash forking it (the script)';
    perCommand.set(name, [...(perCommand.get(name) ?? []), (performance.now() - started) / runs]);
  }
  console.log(`one short command (true), ${runs} in a row, median of 3 rounds:`);
  for (const [name, values] of perCommand)
    console.log(`  ${name.padEnd(30)} ${median(values).toFixed(2)} ms`);
}

async function main(): Promise<void> {
  const missing = missingPrerequisite();
  if (missing) {
    console.log(`bench local: skipped (${missing})`);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-local-'));
  const driver = await startLocalDriver({
    endpoint: `unix://${join(dir, 'csi.sock')}`,
    nodeId: 'bench',
    dataDir: join(dir, 'data'),
  });
  const client = new CsiClient(driver.socketPath, { timeoutMs: 120_000 });
  try {
    await spawnCosts();
    const script = join(dir, 'lifecycle.sh');
    await writeFile(script, SCRIPT, { mode: 0o700 });
    await mkdir(join(dir, 'shell'), { recursive: true });
    // One warm-up each (page cache, first gRPC connection), then interleaved measured runs.
    await driverLifecycle(client, dir, 'warmup');
    await scriptLifecycle(script, join(dir, 'shell'), 'warmup');
    const driverMs: number[] = [];
    const shellMs: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      driverMs.push(await driverLifecycle(client, dir, `vol-${i}`));
      shellMs.push(await scriptLifecycle(script, join(dir, 'shell'), `vol-${i}`));
    }
    const fmt = (values: number[]) => values.map((v) => v.toFixed(1)).join(' ');
    console.log(`local driver lifecycle (${SIZE_MIB} MiB ext4, N=${ITERATIONS})`);
    console.log(`  driver over unix socket: median ${median(driverMs).toFixed(1)} ms  [${fmt(driverMs)}]`);
    console.log(`  bash script baseline:    median ${median(shellMs).toFixed(1)} ms  [${fmt(shellMs)}]`);
    const ratio = median(driverMs) / median(shellMs);
    // The fastest run of each is the least disturbed by other load on the machine.
    const best = Math.min(...driverMs) / Math.min(...shellMs);
    console.log(
      `  ratio driver/script: median ${ratio.toFixed(2)}x, best ${best.toFixed(2)}x (goal <= 1.15x)`,
    );
  } finally {
    client.close();
    await driver.shutdown();
    sweep(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
