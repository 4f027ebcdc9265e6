// A throwaway single-node Ceph cluster for tests: one mon and one bluestore OSD on a sparse file,
// cephx on, listening on 127.0.0.1 ports picked at start. Daemons run in the foreground as our
// children so they are stopped by PID (and killed if the test process exits first). Every ceph
// CLI call has a timeout: without ceph-mgr some commands never return.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { hasCommand } from '../conformance/host.js';
import { isRoot } from './skip.js';

/** Commands the cluster and the RBD driver need, with the Debian package that provides each. */
export const CEPH_COMMAND_PACKAGES: Readonly<Record<string, string>> = {
  'ceph-mon': 'ceph-mon',
  'ceph-osd': 'ceph-osd',
  ceph: 'ceph-common',
  'ceph-authtool': 'ceph-common',
  monmaptool: 'ceph-mon',
  rbd: 'ceph-common',
  rados: 'ceph-common',
  'rbd-fuse': 'rbd-fuse',
};

/** Why a real Ceph cluster cannot run here, or undefined when it can. */
export function cephUnavailable(): string | undefined {
  if (!isRoot) return 'needs root (ceph daemons, rbd-fuse, loop devices, mount)';
  for (const [command, pkg] of Object.entries(CEPH_COMMAND_PACKAGES)) {
    if (!hasCommand(command)) return `needs ${command} (Debian package ${pkg}; run npm run setup)`;
  }
  for (const command of ['losetup', 'mkfs.ext4', 'blkid', 'mount', 'umount', 'resize2fs']) {
    if (!hasCommand(command)) return `needs ${command}`;
  }
  return undefined;
}

const CEPH_CALL_TIMEOUT_MS = 30_000;

export interface CephCluster {
  dir: string;
  confPath: string;
  fsid: string;
  /** Mon addresses for clients (`-m`): one mon, as `[v2:ip:port,v1:ip:port]`. */
  monitors: string[];
  pool: string;
  /** The client.admin key (base64). */
  adminKey: string;
  /** Runs the ceph/rbd/rados CLI as client.admin against this cluster; rejects on non-zero exit. */
  run(command: 'ceph' | 'rbd' | 'rados', args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Creates client.<name> with the given caps; returns its key. */
  createUser(name: string, caps: Record<string, string>): Promise<string>;
  /** Image names in the pool. */
  images(): Promise<string[]>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function confText(dir: string, fsid: string, v2: number, v1: number): string {
  return `[global]
fsid = ${fsid}
mon_host = [v2:127.0.0.1:${v2},v1:127.0.0.1:${v1}]
public_addr = 127.0.0.1
public_network = 127.0.0.0/8
ms_bind_ipv6 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
run_dir = ${dir}/run
pid_file = ${dir}/run/$name.pid
log_file = ${dir}/log/$name.log
mon_cluster_log_file = ${dir}/log/cluster.log
crash_dir = ${dir}/crash
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
auth_allow_insecure_global_id_reclaim = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1
client_mount_timeout = 15
[client]
keyring = ${dir}/ceph.client.admin.keyring
log_file = /dev/null
[mon]
mon_data = ${dir}/mon/$name
keyring = ${dir}/mon/$name/keyring
[osd]
osd_data = ${dir}/osd/$name
keyring = ${dir}/osd/$name/keyring
osd_objectstore = bluestore
bluestore_block_path = ${dir}/osd/$name.block
bluestore_block_create = true
bluestore_block_size = 4294967296
bluestore_fsck_on_mkfs = false
osd_memory_target = 939524096
`;
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function killChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of children)
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  });
}

function startDaemon(command: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, [...args], { env, stdio: 'ignore' });
  children.add(child);
  child.once('exit', () => children.delete(child));
  killChildrenOnExit();
  return child;
}

async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`ceph test cluster: timed out waiting for ${what}`);
}

/** Starts the cluster (about 12 s) with one replicated pool initialised for RBD. */
export async function startCephCluster(options: { pool?: string } = {}): Promise<CephCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-ceph-'));
  for (const sub of ['run', 'log', 'crash', 'mon', 'osd']) mkdirSync(path.join(dir, sub));
  const fsid = randomUUID();
  const [v2, v1] = [await freePort(), await freePort()];
  const confPath = path.join(dir, 'ceph.conf');
  writeFileSync(confPath, confText(dir, fsid, v2, v1));
  const env = { ...process.env, CEPH_CONF: confPath, LC_ALL: 'C' };
  const pool = options.pool ?? 'rbd';
  const daemons: ChildProcess[] = [];

  const exec = async (command: string, args: readonly string[], timeoutMs = CEPH_CALL_TIMEOUT_MS) => {
    const result = await execa(command, [...args], { env, timeout: timeoutMs, stdin: 'ignore' });
    return result.stdout;
  };

  const stop = async () => {
    for (const child of [...daemons].reverse()) await stopDaemon(child);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const monKeyring = path.join(dir, 'mon.keyring');
    const adminKeyring = path.join(dir, 'ceph.client.admin.keyring');
    await exec('ceph-authtool', [
      '--create-keyring',
      monKeyring,
      '--gen-key',
      '-n',
      'mon.',
      '--cap',
      'mon',
      'allow *',
    ]);
    await exec('ceph-authtool', [
      '--create-keyring',
      adminKeyring,
      '--gen-key',
      '-n',
      'client.admin',
      '--cap',
      'mon',
      'allow *',
      '--cap',
      'osd',
      'allow *',
      '--cap',
      'mgr',
      'allow *',
    ]);
    await exec('ceph-authtool', [monKeyring, '--import-keyring', adminKeyring]);
    const monmap = path.join(dir, 'monmap');
    const monAddress = `[v2:127.0.0.1:${v2},v1:127.0.0.1:${v1}]`;
    await exec('monmaptool', ['--create', '--addv', 'a', monAddress, '--fsid', fsid, monmap]);
    await exec('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', monKeyring]);
    daemons.push(startDaemon('ceph-mon', ['-f', '-i', 'a'], env));
    // a mon can take well over its usual seconds on a busy machine
    await until('the mon', 60_000, async () => (await exec('ceph', ['mon', 'stat'], 5_000)).length > 0);

    const osdUuid = randomUUID();
    const osdSecret = (await exec('ceph-authtool', ['--gen-print-key'])).trim();
    const secretFile = path.join(dir, 'osd-secret.json');
    writeFileSync(secretFile, JSON.stringify({ cephx_secret: osdSecret }), { mode: 0o600 });
    const id = (await exec('ceph', ['osd', 'new', osdUuid, '-i', secretFile])).trim();
    rmSync(secretFile);
    const osdDir = path.join(dir, 'osd', `osd.${id}`);
    mkdirSync(osdDir);
    await exec('ceph-authtool', [
      '--create-keyring',
      path.join(osdDir, 'keyring'),
      '--name',
      `osd.${id}`,
      '--add-key',
      osdSecret,
    ]);
    await exec('ceph-osd', ['-i', id, '--mkfs', '--osd-uuid', osdUuid], 60_000);
    daemons.push(startDaemon('ceph-osd', ['-f', '-i', id], env));
    await until('the OSD', 60_000, async () =>
      new RegExp(`^osd\\.${id} up`, 'm').test(await exec('ceph', ['osd', 'dump'], 5_000)),
    );
    await exec('ceph', ['osd', 'pool', 'create', pool, '8', '8']);
    await exec('rbd', ['pool', 'init', pool], 60_000);
    const adminKey = (await exec('ceph-authtool', [adminKeyring, '-p', '-n', 'client.admin'])).trim();

    return {
      dir,
      confPath,
      fsid,
      monitors: [monAddress],
      pool,
      adminKey,
      run: (command, args, timeoutMs) => exec(command, args, timeoutMs),
      async createUser(name, caps) {
        const capArgs = Object.entries(caps).flatMap(([service, cap]) => [service, cap]);
        await exec('ceph', ['auth', 'get-or-create', `client.${name}`, ...capArgs]);
        return (await exec('ceph', ['auth', 'print-key', `client.${name}`])).trim();
      },
      async images() {
        const out = await exec('rbd', ['ls', '--format', 'json', pool]);
        return JSON.parse(out || '[]') as string[];
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An rbd StorageClass (rbd-fuse, xfs, growable) whose three secrets are all `secret` in default. */
export function rbdClassManifest(options: {
  name: string;
  driver: string;
  clusterID: string;
  pool: string;
  secret: string;
}): string {
  const secretParams = ['provisioner', 'controller-expand', 'node-stage'].flatMap((op) => [
    `  csi.storage.k8s.io/${op}-secret-name: ${options.secret}`,
    `  csi.storage.k8s.io/${op}-secret-namespace: default`,
  ]);
  return [
    'apiVersion: storage.k8s.io/v1',
    'kind: StorageClass',
    `metadata: { name: ${options.name} }`,
    `provisioner: ${options.driver}`,
    'allowVolumeExpansion: true',
    'parameters:',
    `  clusterID: ${options.clusterID}`,
    `  pool: ${options.pool}`,
    '  imageFeatures: layering',
    '  mounter: rbd-fuse',
    '  csi.storage.k8s.io/fstype: xfs',
    ...secretParams,
    '',
  ].join('\n');
}
