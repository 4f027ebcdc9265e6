// Cluster mode on one host, each part its own process as in a Kubernetes cluster: `berth up
// --control-plane-only` plays kube-apiserver, kube-controller-manager and kube-scheduler (PV binder,
// scheduler, attach/detach, node lifecycle; no CSI caller of its own); `berth node
// --local-driver=false` plays the kubelet (finds node plugins in its plugins_registry, stages and
// publishes at kubelet paths); `berth node-plugin --driver=local` is the DaemonSet's driver
// container; `berth sidecar provisioner|attacher|resizer` are the sidecar containers, each with
// only the kubeconfig and --csi-address. berth's API server authenticates one bearer token and
// enforces no RBAC, so every process uses the same kubeconfig.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import type { KindInfo } from '../../src/api/kinds.js';
import type { Pod } from '../../src/api/types.js';
import { RestClient } from '../../src/client/rest.js';
import { DRIVER_NAME } from '../../src/drivers/local/index.js';
import { eventually } from './eventually.js';
import { recordedVolumes } from './local-volumes.js';
import { startTsx, stopProcess, type TsxProcess } from './tsx-process.js';

export const NODE = 'node-a';

/** Each sidecar's flags, as deploy/kubernetes runs them (short leases so a restart is quick). */
const SIDECAR_FLAGS = {
  // one worker: claims are provisioned one after another, so a kill lands mid-run
  provisioner: [
    '--node-deployment',
    '--feature-gates=Topology=true',
    '--extra-create-metadata',
    '--worker-threads=1',
  ],
  attacher: [
    '--leader-election',
    '--leader-election-namespace=kube-system',
    '--leader-election-lease-duration=4s',
    '--leader-election-renew-deadline=3s',
    '--leader-election-retry-period=1s',
  ],
  resizer: ['--node-deployment'],
};
export type ClusterSidecar = keyof typeof SIDECAR_FLAGS;

export interface ClusterMode {
  client: RestClient;
  kubeconfig: string;
  /** The kubelet stand-in's root directory. */
  nodeRoot: string;
  /** The local driver's data directory: `volumes.log`, and a `<key>.img` per volume once staged. */
  volumesDir: string;
  /** The node plugin's CSI socket, which the sidecars dial. */
  socket: string;
  sidecars: Map<ClusterSidecar, TsxProcess>;
  nodePlugin: TsxProcess;
  startSidecar(name: ClusterSidecar): Promise<TsxProcess>;
  /** The backing files of the local driver's volumes. */
  backingFiles(): Promise<string[]>;
  /** The volumes the local driver has recorded (staged or not), by key, sorted. */
  volumes(): Promise<string[]>;
  /** The end of every process's output, for a failing test's message. */
  outputs(): string;
  /** Stops every process by its PID, sidecars first. */
  stop(): Promise<void>;
}

async function ready(proc: TsxProcess, what: string, pattern: RegExp): Promise<void> {
  await eventually(
    what,
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${what}: exited\n${proc.output()}`);
      return pattern.test(proc.output());
    },
    90_000,
    50,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.output()}`);
  });
}

export async function startClusterMode(dir: string): Promise<ClusterMode> {
  const procs: TsxProcess[] = [];
  const names = new Map<TsxProcess, string>();
  const sidecars = new Map<ClusterSidecar, TsxProcess>();
  const stop = async (): Promise<void> => {
    for (const p of [...sidecars.values()]) await stopProcess(p);
    for (const p of procs.reverse()) await stopProcess(p);
  };
  try {
    const controlPlane = startTsx([
      'src/cli/main.ts',
      'up',
      '--control-plane-only',
      '--data-dir',
      join(dir, 'control-plane'),
      '--port',
      '0',
    ]);
    procs.push(controlPlane);
    names.set(controlPlane, 'control plane');
    await ready(controlPlane, 'berth up --control-plane-only', /berth API listening on/);
    const kubeconfig = join(dir, 'control-plane', 'kubeconfig');
    const nodeRoot = join(dir, NODE);
    const volumesDir = join(dir, 'local-volumes');
    const socket = join(nodeRoot, 'plugins', DRIVER_NAME, 'csi.sock');

    const kubelet = startTsx([
      'src/cli/main.ts',
      'node',
      `--kubeconfig=${kubeconfig}`,
      `--node-name=${NODE}`,
      `--root-dir=${nodeRoot}`,
      '--local-driver=false',
    ]);
    procs.push(kubelet);
    names.set(kubelet, 'berth node');
    await ready(kubelet, 'berth node', /root directory/);
    const nodePlugin = startTsx([
      'src/cli/main.ts',
      'node-plugin',
      '--driver=local',
      `--csi-address=${socket}`,
      `--kubelet-registration-path=${socket}`,
      `--plugin-registration-dir=${join(nodeRoot, 'plugins_registry')}`,
      `--node-id=${NODE}`,
      `--data-dir=${volumesDir}`,
    ]);
    procs.push(nodePlugin);
    names.set(nodePlugin, 'node plugin');
    // the kubelet stand-in found the registration socket, asked GetInfo and answered registered
    await ready(nodePlugin, 'the node plugin registered with the kubelet', /registered with the kubelet/);

    const startSidecar = async (name: ClusterSidecar): Promise<TsxProcess> => {
      const proc = startTsx(
        [
          'src/cli/main.ts',
          'sidecar',
          name,
          `--kubeconfig=${kubeconfig}`,
          `--csi-address=${socket}`,
          '--timeout=60s',
          ...SIDECAR_FLAGS[name],
        ],
        { NODE_NAME: NODE, POD_NAME: `csi-${name}` },
      );
      sidecars.set(name, proc);
      names.set(proc, `sidecar ${name}`);
      await ready(proc, `berth sidecar ${name}`, new RegExp(`berth sidecar ${name} for ${DRIVER_NAME}`));
      return proc;
    };
    for (const name of ['provisioner', 'attacher', 'resizer'] as const) await startSidecar(name);
    return {
      client: await RestClient.fromKubeconfig(kubeconfig),
      kubeconfig,
      nodeRoot,
      volumesDir,
      socket,
      sidecars,
      nodePlugin,
      startSidecar,
      volumes: () => recordedVolumes(volumesDir),
      backingFiles: async () =>
        (await readdir(volumesDir).catch(() => [] as string[])).filter((f) => f.endsWith('.img')).sort(),
      outputs: () =>
        [...procs, ...sidecars.values()]
          .map(
            (p) =>
              `--- ${names.get(p) ?? p.child.pid} (exit ${p.child.exitCode ?? p.child.signalCode ?? 'running'})\n${p.output().slice(-20_000)}`,
          )
          .join('\n'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A pod with one claim, as a user writes it (the scheduler picks the node). */
export function podWithClaim(name: string, claimName: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
    },
  };
}

/** Resolves once `kind` `name` is gone (finalizers included): the API server answers NotFound. */
export function gone(
  client: RestClient,
  kind: KindInfo,
  namespace: string | undefined,
  name: string,
): Promise<boolean> {
  return eventually(
    `${kind.kind} ${name} gone`,
    () =>
      client.get(kind, namespace, name).then(
        () => false,
        (err: unknown) => {
          if (isStatusError(err, 'NotFound')) return true;
          throw err;
        },
      ),
    90_000,
    100,
  );
}
