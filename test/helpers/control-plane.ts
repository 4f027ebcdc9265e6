// A scale-out berth as real processes for tests: `berth apiserver` replicas on one etcd,
// `berth controller-manager` candidates and `berth node` agents (each with its own root directory,
// as on its own host), each stopped by PID; and reading who holds the Lease.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindFor } from '../../src/api/kinds.js';
import type { Lease } from '../../src/api/types.js';
import { parseKubeconfig } from '../../src/client/kubeconfig.js';
import { RestStore } from '../../src/machinery/rest-store.js';
import type { ObjectStore } from '../../src/store/types.js';
import { sweepHost } from '../conformance/host.js';
import { spawnBerth, waitForOutput, type Spawned } from './berth-process.js';

export const LEASE_NAME = 'berth-controller-manager';
const leases = kindFor('coordination.k8s.io/v1', 'Lease')!;

export interface ApiReplica {
  proc: Spawned;
  url: string;
  kubeconfig: string;
}

export interface Candidate {
  proc: Spawned;
  identity: string;
}

export interface NodeProcess {
  proc: Spawned;
  name: string;
  rootDir: string;
}

/** Processes and directories to clean up, in one place. */
export class ControlPlane {
  readonly procs: Spawned[] = [];
  private readonly dirs: string[] = [];
  private readonly etcdEndpoint: string;

  constructor(etcdEndpoint: string) {
    this.etcdEndpoint = etcdEndpoint;
  }

  /** Each start waits `timeoutMs` for the process to say it is up (more on a loaded machine). */
  async apiserver(timeoutMs = 60_000): Promise<ApiReplica> {
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-apiserver-'));
    this.dirs.push(dataDir);
    const proc = spawnBerth([
      'apiserver',
      `--etcd-servers=${this.etcdEndpoint}`,
      '--secure-port=0',
      `--data-dir=${dataDir}`,
    ]);
    this.procs.push(proc);
    const [, url] = await waitForOutput(proc, /berth API listening on (\S+)\n/, timeoutMs);
    const [, kubeconfig] = await waitForOutput(proc, /kubeconfig: (\S+)\n/);
    return { proc, url: url!, kubeconfig: kubeconfig! };
  }

  async controllerManager(args: string[], timeoutMs = 60_000): Promise<Candidate> {
    const proc = spawnBerth(['controller-manager', ...args]);
    this.procs.push(proc);
    const [, identity] = await waitForOutput(proc, /berth controller-manager (\S+):/, timeoutMs);
    return { proc, identity: identity! };
  }

  /** `berth node` with a root directory of its own and only a kubeconfig (and --master) to reach the API. */
  async node(name: string, args: string[], timeoutMs = 60_000): Promise<NodeProcess> {
    const rootDir = await mkdtemp(join(tmpdir(), `berth-${name}-`));
    this.dirs.push(rootDir);
    const proc = spawnBerth(['node', `--node-name=${name}`, `--root-dir=${rootDir}`, ...args]);
    this.procs.push(proc);
    await waitForOutput(proc, /root directory: /, timeoutMs);
    return { proc, name, rootDir };
  }

  /** A RestStore for the test itself, over the given replicas. */
  async store(kubeconfig: string, urls: string[]): Promise<RestStore> {
    const target = await parseKubeconfig(await readFile(kubeconfig, 'utf8'), kubeconfig);
    return RestStore.connect({ ...target, servers: urls });
  }

  async stop(): Promise<void> {
    for (const proc of this.procs) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    }
    // what a failed run left behind: mounts under a node's root directory, loop devices backed there
    for (const dir of this.dirs) {
      sweepHost(dir);
      await rm(dir, { recursive: true, force: true });
    }
  }
}

export async function leaseHolder(store: ObjectStore, namespace = 'kube-system'): Promise<Lease | undefined> {
  try {
    return await store.get<Lease>(leases, namespace, LEASE_NAME);
  } catch {
    return undefined;
  }
}
