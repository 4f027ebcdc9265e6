// A third-party CSI driver binary (here the mock driver, run as its own process) registered with
// `berth up --csi-driver NAME=SOCKET`: berth provisions, attaches, stages and publishes through it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { PersistentVolumeClaim, Pod } from '../../src/api/types.js';
import { RestClient } from '../../src/client/rest.js';
import { eventually } from '../helpers/eventually.js';
import { startTsx as start, stopProcess, type TsxProcess } from '../helpers/tsx-process.js';

describe('berth up with a third-party CSI driver (--csi-driver)', function () {
  this.timeout(60_000);
  let dir: string;
  let driver: TsxProcess | undefined;
  let berth: TsxProcess | undefined;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-3p-'));
  });
  after(async function () {
    await stopProcess(berth);
    await stopProcess(driver);
    await rm(dir, { recursive: true, force: true });
  });

  it('provisions, attaches and publishes a claim through the external driver', async function () {
    const socket = join(dir, 'driver.sock');
    driver = start([
      'test/mock-driver/main.ts',
      '--endpoint',
      `unix://${socket}`,
      '--node-id',
      'csi-node-1',
      '--name',
      'mock.csi.example.com',
    ]);
    await eventually('driver ready', async () => driver!.output().includes('ready'));
    berth = start([
      'src/cli/main.ts',
      'up',
      '--data-dir',
      join(dir, 'data'),
      '--port',
      '0',
      '--node',
      'node-1',
      '--csi-driver',
      `mock.csi.example.com=${socket}`,
    ]);
    await eventually('berth up', async () => berth!.output().includes('berth API listening on'));
    const client = await RestClient.fromKubeconfig(join(dir, 'data', 'kubeconfig'));
    await eventually('CSINode lists the driver', async () => {
      const node = (await client.get(K.csinode, undefined, 'node-1')) as unknown as {
        spec: { drivers: { name: string }[] };
      };
      return node.spec.drivers.some((d) => d.name === 'mock.csi.example.com');
    });
    await client.create(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'ext' },
      provisioner: 'mock.csi.example.com',
    });
    await client.create(K.pvc, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'default' },
      spec: {
        storageClassName: 'ext',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
      },
    });
    const claim = await eventually('claim Bound', async () => {
      const c = await client.get<PersistentVolumeClaim>(K.pvc, 'default', 'data');
      return c.status?.phase === 'Bound' ? c : undefined;
    });
    assert.match(claim.spec.volumeName ?? '', /^pvc-/);
    await client.create(K.pod, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app', namespace: 'default' },
      spec: {
        containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'd', mountPath: '/d' }] }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }],
      },
    });
    const pod = await eventually('pod Running', async () => {
      const p = await client.get<Pod>(K.pod, 'default', 'app');
      return p.status?.phase === 'Running' ? p : undefined;
    });
    assert.equal(pod.spec.nodeName, 'node-1');
    const vas = await client.list(K.va);
    assert.equal(
      vas.items.length,
      1,
      'the driver requires attach (no CSIDriver object): one VolumeAttachment',
    );
    assert.equal((vas.items[0] as unknown as { status: { attached: boolean } }).status.attached, true);
  });
});
