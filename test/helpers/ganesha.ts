// A real NFS server for tests: nfs-ganesha (VFS FSAL) exporting a temp directory on 127.0.0.1, with
// rpcbind (which ganesha insists on registering with) kept in a private network namespace so that
// nothing listens beyond loopback. Everything started here is stopped by PID.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { NfsServerOptions } from '../../src/nfs-client/index.js';
import { hasCommand } from '../conformance/host.js';
import { isRoot } from './skip.js';
import { freePort } from '../../bench/helpers/etcd.js';

export { freePort };

export const RPCBIND_SOCKET = '/run/rpcbind.sock';
export const EXPORT_PSEUDO = '/export';

/** Why a ganesha-backed test cannot run here, or undefined when it can. */
export function ganeshaUnavailable(): string | undefined {
  if (!isRoot) return 'needs root (ganesha, rpcbind in a network namespace, bind mounts)';
  for (const command of ['ganesha.nfsd', 'rpcbind', 'unshare', 'ip']) {
    if (!hasCommand(command))
      return `needs ${command} (Debian: nfs-ganesha, nfs-ganesha-vfs, rpcbind, iproute2)`;
  }
  if (!existsSync('/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so') && !hasVfsFsal()) {
    return 'needs the ganesha VFS FSAL (Debian: nfs-ganesha-vfs)';
  }
  return undefined;
}

function hasVfsFsal(): boolean {
  for (const dir of ['/usr/lib/ganesha', '/usr/lib64/ganesha', '/usr/lib/aarch64-linux-gnu/ganesha']) {
    if (existsSync(path.join(dir, 'libfsalvfs.so'))) return true;
  }
  return false;
}

export interface GaneshaServer {
  host: string;
  nfsPort: number;
  mountPort: number;
  /** The export's path as clients mount it. */
  share: string;
  /** The directory on this machine behind the export. */
  exportDir: string;
  /** Scratch directory holding config, logs and the export. */
  dir: string;
  /** Client options that reach this server without the portmapper. */
  clientOptions: NfsServerOptions;
  /** Kills ganesha only (rpcbind stays), as a crashed or rebooting server. */
  stopServer(signal?: NodeJS.Signals): Promise<void>;
  startServer(): Promise<void>;
  /** Sends SIGSTOP/SIGCONT to ganesha: a server that hangs without closing connections. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

function ganeshaConfig(dir: string, exportDir: string, nfsPort: number, mountPort: number): string {
  return `NFS_CORE_PARAM {
    Bind_addr = 127.0.0.1;
    Protocols = 3, 4;
    NFS_Port = ${nfsPort};
    MNT_Port = ${mountPort};
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    mount_path_pseudo = true;
}
NFSV4 {
    Graceless = true;
    Allow_Numeric_Owners = true;
    Only_Numeric_Owners = true;
    RecoveryBackend = fs;
    RecoveryRoot = ${path.join(dir, 'recovery')};
}
EXPORT_DEFAULTS {
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    Attr_Expiration_Time = 0;
}
EXPORT {
    Export_Id = 1;
    Path = ${exportDir};
    Pseudo = ${EXPORT_PSEUDO};
    Protocols = 3, 4;
    Transports = TCP;
    FSAL { Name = VFS; }
}
MDCACHE {
    Use_Getattr_Directory_Invalidation = true;
}
LOG { Default_Log_Level = EVENT; }
`;
}

function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: socketPath });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts rpcbind (unless one already answers on its socket) and ganesha exporting a fresh temp directory. */
export async function startGanesha(): Promise<GaneshaServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-ganesha-'));
  const exportDir = path.join(dir, 'export');
  for (const sub of ['export', 'recovery', 'run']) mkdirSync(path.join(dir, sub));
  const nfsPort = await freePort();
  let mountPort = await freePort();
  while (mountPort === nfsPort) mountPort = await freePort();
  const configFile = path.join(dir, 'ganesha.conf');
  const logFile = path.join(dir, 'ganesha.log');
  writeFileSync(configFile, ganeshaConfig(dir, exportDir, nfsPort, mountPort));

  let rpcbind: ChildProcess | undefined;
  if (!(await socketAnswers(RPCBIND_SOCKET))) {
    rmSync(RPCBIND_SOCKET, { force: true });
    rmSync('/run/rpcbind.lock', { force: true });
    rpcbind = spawn('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec rpcbind -f'], {
      stdio: 'ignore',
    });
    await waitFor(() => socketAnswers(RPCBIND_SOCKET), 5_000, 'rpcbind');
  }

  let ganesha: ChildProcess | undefined;
  const startServer = async () => {
    writeFileSync(logFile, '');
    const child = spawn(
      'ganesha.nfsd',
      ['-F', '-f', configFile, '-L', logFile, '-p', path.join(dir, 'run', 'ganesha.pid'), '-N', 'NIV_EVENT'],
      { stdio: 'ignore' },
    );
    ganesha = child;
    await waitFor(
      () => {
        if (child.exitCode !== null)
          throw new Error(`ganesha exited:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
        return readFileSync(logFile, 'utf8').includes('NFS SERVER INITIALIZED');
      },
      15_000,
      'ganesha to start',
    );
  };
  const stopServer = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (ganesha) await stopChild(ganesha, signal);
    ganesha = undefined;
  };

  try {
    await startServer();
  } catch (err) {
    await stopServer();
    if (rpcbind) await stopChild(rpcbind, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    host: '127.0.0.1',
    nfsPort,
    mountPort,
    share: EXPORT_PSEUDO,
    exportDir,
    dir,
    clientOptions: { host: '127.0.0.1', nfsPort, mountPort, connectTimeoutMs: 2_000, callTimeoutMs: 5_000 },
    stopServer,
    startServer,
    freeze: () => {
      if (ganesha?.pid) process.kill(ganesha.pid, 'SIGSTOP');
    },
    thaw: () => {
      if (ganesha?.pid) process.kill(ganesha.pid, 'SIGCONT');
    },
    async stop() {
      if (ganesha?.pid) process.kill(ganesha.pid, 'SIGCONT');
      await stopServer('SIGKILL');
      if (rpcbind) {
        await stopChild(rpcbind, 'SIGTERM');
        rmSync(RPCBIND_SOCKET, { force: true });
        rmSync('/run/rpcbind.lock', { force: true });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The stand-in for `mount -t nfs` (see the fixture's header): bind-mounts the export's directory. */
export const STANDIN_MOUNT_FIXTURE = path.join(
  import.meta.dirname,
  '..',
  'integration',
  'fixtures',
  'nfs-mount-standin.sh',
);

/**
 * Writes an executable that runs the stand-in mount helper for `server` (its export and backing
 * directory baked in), for the driver's --mount-helper. Returns its path and the argv log it keeps.
 */
export function writeStandinMountHelper(server: GaneshaServer): { helper: string; log: string } {
  const helper = path.join(server.dir, 'nfs-mount-standin');
  const log = path.join(server.dir, 'nfs-mount-standin.log');
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  writeFileSync(
    helper,
    [
      '#!/bin/sh',
      `NFS_STANDIN_SERVER=${quote(server.host)}`,
      `NFS_STANDIN_SHARE=${quote(server.share)}`,
      `NFS_STANDIN_BACKING=${quote(server.exportDir)}`,
      `NFS_STANDIN_LOG=${quote(log)}`,
      'export NFS_STANDIN_SERVER NFS_STANDIN_SHARE NFS_STANDIN_BACKING NFS_STANDIN_LOG',
      `exec sh ${quote(STANDIN_MOUNT_FIXTURE)} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { helper, log };
}
