// `berth node` as its own process beside a control plane it reaches only through the REST API:
// `berth up` (API server, controllers and its own node) plus two `berth node` processes with
// separate root directories, as on two hosts. Across the nodes: an attachable third-party driver's
// volume is attached to the node its pod was scheduled to; a local PV's node affinity places its
// pod; a WaitForFirstConsumer claim of the built-in local driver is provisioned on the pod's node.
// Killing a node process turns the node Ready=Unknown, tainted unreachable, within the grace
// period (shortened here by --node-monitor-grace-period); SIGTERM stops a node cleanly.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { Lease, Node, PersistentVolume, PersistentVolumeClaim, Pod } from '../../src/api/types.js';
import { RestClient } from '../../src/client/rest.js';
import { eventually } from '../helpers/eventually.js';
import {
  startMockDriverProcess,
  startTsx as start,
  stopProcess as stop,
  unmountUnder,
  type TsxProcess,
} from '../helpers/tsx-process.js';
import { isRoot, skipUnless } from '../helpers/skip.js';

const MOCK = 'mock.csi.example.com';

function pod(name: string, claim: string, nodeSelector?: Record<string, string>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      ...(nodeSelector ? { nodeSelector } : {}),
      containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'd', mountPath: '/d' }] }],
      volumes: [{ name: 'd', persistentVolumeClaim: { claimName: claim } }],
    },
  };
}

function claim(name: string, storageClassName: string): PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: { storageClassName, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } },
  };
}

describe('berth node: node agents in their own processes, through the REST API', function () {
  this.timeout(180_000);
  let dir: string;
  const procs: TsxProcess[] = [];
  let client: RestClient;
  let nodeA: TsxProcess;
  let nodeB: TsxProcess;

  const running = (name: string) =>
    eventually(
      `pod ${name} Running`,
      async () => {
        const p = await client.get<Pod>(K.pod, 'default', name);
        return p.status?.phase === 'Running' ? p : undefined;
      },
      60_000,
    );

  before(async function () {
    skipUnless(this, isRoot, 'the built-in local driver needs root (loop devices, mounts)');
    dir = await mkdtemp(join(tmpdir(), 'berth-node-'));
    const socket = join(dir, 'mock.sock');
    const driver = await startMockDriverProcess(socket, MOCK, 'csi-b');
    procs.push(driver);
    const up = start([
      'src/cli/main.ts',
      'up',
      '--data-dir',
      join(dir, 'cp'),
      '--port',
      '0',
      '--node',
      'cp',
      '--csi-driver',
      `${MOCK}=${socket}`,
      '--node-monitor-grace-period',
      '15s',
    ]);
    procs.push(up);
    await eventually('berth up', async () => up.output().includes('berth API listening on'), 60_000);
    const kubeconfig = join(dir, 'cp', 'kubeconfig');
    const node = (name: string, extra: string[] = []) =>
      start([
        'src/cli/main.ts',
        'node',
        '--kubeconfig',
        kubeconfig,
        '--node-name',
        name,
        '--root-dir',
        join(dir, name),
        ...extra,
      ]);
    nodeA = node('node-a');
    nodeB = node('node-b', ['--csi-driver', `${MOCK}=${socket}`]);
    procs.push(nodeA, nodeB);
    client = await RestClient.fromKubeconfig(kubeconfig);
    for (const p of [nodeA, nodeB])
      await eventually('berth node running', async () => p.output().includes('root directory'), 60_000);
  });

  after(async function () {
    for (const p of procs.reverse()) await stop(p);
    if (!dir) return;
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('registers each node with a heartbeat Lease, Ready, and the drivers it serves', async function () {
    for (const name of ['node-a', 'node-b']) {
      const lease = await eventually(`lease ${name}`, () =>
        client.get<Lease>(K.lease, 'kube-node-lease', name),
      );
      assert.equal(lease.spec.holderIdentity, name);
      assert.equal(lease.metadata.ownerReferences?.[0]?.kind, 'Node');
      const n = await client.get<Node>(K.node, undefined, name);
      assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    }
    await eventually('node-b CSINode lists the mock driver', async () => {
      const c = (await client.get(K.csinode, undefined, 'node-b')) as unknown as {
        spec: { drivers: { name: string }[] };
      };
      return c.spec.drivers.some((d) => d.name === MOCK);
    });
  });

  it('attaches an attachable volume to the node its pod runs on', async function () {
    await client.create(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'ext' },
      provisioner: MOCK,
    });
    await client.create(K.pvc, claim('ext-data', 'ext'));
    await client.create(K.pod, pod('ext-app', 'ext-data', { 'kubernetes.io/hostname': 'node-b' }));
    const p = await running('ext-app');
    assert.equal(p.spec.nodeName, 'node-b');
    const vas = (await client.list(K.va)).items as unknown as {
      spec: { nodeName: string };
      status?: { attached?: boolean };
    }[];
    assert.deepEqual(
      vas.map((va) => [va.spec.nodeName, va.status?.attached]),
      [['node-b', true]],
    );
  });

  it("places a pod by its local PV's node affinity", async function () {
    const path = join(dir, 'node-b-disk');
    await mkdir(path);
    await client.create(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-static' },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    await client.create<PersistentVolume>(K.pv, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'local-b' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'local-static',
        local: { path },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-b'] }] },
            ],
          },
        },
      },
    });
    await client.create(K.pvc, claim('local-data', 'local-static'));
    await client.create(K.pod, pod('local-app', 'local-data'));
    const p = await running('local-app');
    assert.equal(p.spec.nodeName, 'node-b');
  });

  it('provisions a WaitForFirstConsumer claim on the node the pod was scheduled to', async function () {
    await client.create(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-wffc' },
      provisioner: 'local.csi.berth.io',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    await client.create(K.pvc, claim('wffc-data', 'local-wffc'));
    await client.create(K.pod, pod('wffc-app', 'wffc-data', { 'kubernetes.io/hostname': 'node-a' }));
    const p = await running('wffc-app');
    assert.equal(p.spec.nodeName, 'node-a');
    const c = await client.get<PersistentVolumeClaim>(K.pvc, 'default', 'wffc-data');
    const pv = await client.get<PersistentVolume>(K.pv, undefined, c.spec.volumeName ?? '');
    const terms = JSON.stringify(pv.spec.nodeAffinity);
    assert.ok(terms.includes('node-a') && !terms.includes('node-b'), terms);
    // clean up while node-a still runs: the volume is unpublished and deleted by node-a's driver
    await client.delete(K.pod, 'default', 'wffc-app');
    await eventually(
      'wffc pod gone',
      async () =>
        client.get(K.pod, 'default', 'wffc-app').then(
          () => false,
          () => true,
        ),
      60_000,
    );
    await client.delete(K.pvc, 'default', 'wffc-data');
    await eventually(
      'wffc volume gone',
      async () =>
        client.get(K.pv, undefined, pv.metadata.name ?? '').then(
          () => false,
          () => true,
        ),
      60_000,
    );
  });

  it('marks a killed node Unknown and unreachable within the grace period; SIGTERM stops cleanly', async function () {
    const killedAt = Date.now();
    await stop(nodeA, 'SIGKILL');
    const n = await eventually(
      'node-a Ready=Unknown with unreachable taints',
      async () => {
        const x = await client.get<Node>(K.node, undefined, 'node-a');
        const ready = x.status?.conditions?.find((c) => c.type === 'Ready');
        const taints = ((x.spec as { taints?: { key: string }[] } | undefined)?.taints ?? []).map(
          (t) => t.key,
        );
        return ready?.status === 'Unknown' && taints.includes('node.kubernetes.io/unreachable')
          ? x
          : undefined;
      },
      60_000,
    );
    // 15 s grace after the last renewal (at most 10 s before the kill), plus the controller's look
    assert.ok(Date.now() - killedAt < 30_000, `marked after ${Date.now() - killedAt} ms`);
    assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'NodeStatusUnknown');
    const b = await client.get<Node>(K.node, undefined, 'node-b');
    assert.equal(b.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');

    // node-b tears its pods' volumes down while it runs; then it stops on SIGTERM
    for (const name of ['ext-app', 'local-app']) await client.delete(K.pod, 'default', name);
    for (const name of ['ext-app', 'local-app']) {
      await eventually(
        `${name} gone`,
        async () =>
          client.get(K.pod, 'default', name).then(
            () => false,
            () => true,
          ),
        60_000,
      );
    }
    assert.equal(await stop(nodeB), 0);
    assert.match(nodeB.output(), /berth node stopped\n/);
  });
});
