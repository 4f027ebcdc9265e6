// A real etcd for benchmarks and tests (test/helpers/etcd.ts re-exports it): Debian's etcd-server
// on free 127.0.0.1 ports with a temp data directory, stopped by PID (and its directory removed).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface EtcdServer {
  endpoint: string;
  pid: number;
  dataDir: string;
  /** SIGTERM, wait for the exit, remove the data directory. */
  stop(): Promise<void>;
  /** SIGKILL without cleanup of the data directory, to restart on it. */
  kill(): Promise<void>;
}

async function untilHealthy(endpoint: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${log()}`);
    try {
      const res = await fetch(`${endpoint}/health`);
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`etcd at ${endpoint} not healthy after 20 s: ${log()}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** PEM files for an etcd that serves clients over TLS and wants their certificates. */
export interface EtcdTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export async function startEtcd(
  options: {
    dataDir?: string;
    /** its own process group: a signal to the caller's group spares it */ detached?: boolean;
    /** https for clients, with client certificates signed by caFile required */
    tls?: EtcdTlsFiles;
  } = {},
): Promise<EtcdServer> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'berth-etcd-'));
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [clientPort, peerPort, metricsPort] = [...ports];
  const endpoint = `${options.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  // plain http /health, also when clients need certificates
  const metrics = `http://127.0.0.1:${metricsPort}`;
  const tlsArgs = options.tls
    ? [
        `--trusted-ca-file=${options.tls.caFile}`,
        `--cert-file=${options.tls.certFile}`,
        `--key-file=${options.tls.keyFile}`,
        '--client-cert-auth',
      ]
    : [];
  const child = spawn(
    'etcd',
    [
      '--name=berth-test',
      `--data-dir=${path.join(dataDir, 'data')}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=berth-test=${peer}`,
      '--initial-cluster-state=new',
      `--listen-metrics-urls=${metrics}`,
      ...tlsArgs,
      '--logger=zap',
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: options.detached ?? false },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stopByPid = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
    await exited(child);
  };
  try {
    await untilHealthy(metrics, child, () => stderr);
  } catch (err) {
    await stopByPid('SIGKILL');
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint,
    pid: child.pid!,
    dataDir,
    stop: async () => {
      await stopByPid('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
    kill: () => stopByPid('SIGKILL'),
  };
}
