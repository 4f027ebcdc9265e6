// The storage semantics a Deployment user meets in Kubernetes: a ReadWriteOnce claim of an
// attachable driver, used by a Deployment scaled 1 -> 2 across two nodes. The first pod runs; the
// second is placed on the other node (spreading) and waits with a FailedAttachVolume Warning
// "Multi-Attach error for volume ..." while the volume stays attached to the first node only.
// berth up runs two nodes; the attachable driver is the mock CSI driver in its own process.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Event, PersistentVolumeClaim, Pod } from '../../src/api/types.js';
import { RestClient } from '../../src/client/rest.js';
import { eventually } from '../helpers/eventually.js';
import {
  startTsx as start,
  startMockDriverProcess,
  stopProcess,
  unmountUnder,
  type TsxProcess,
} from '../helpers/tsx-process.js';
import { isRoot, skipUnless } from '../helpers/skip.js';

const MOCK = 'mock.csi.example.com';

function deployment(replicas: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'd', mountPath: '/d' }] }],
          volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'shared' } }],
        },
      },
    },
  };
}

describe('Multi-Attach: a ReadWriteOnce volume used by a Deployment on two nodes', function () {
  this.timeout(180_000);
  let dir: string;
  const procs: TsxProcess[] = [];
  let client: RestClient;

  before(async function () {
    skipUnless(this, isRoot, "berth up's built-in local driver needs root (loop devices, mounts)");
    dir = await mkdtemp(join(tmpdir(), 'berth-multi-attach-'));
    const socket = join(dir, 'mock.sock');
    const driver = await startMockDriverProcess(socket, MOCK, 'csi-node');
    procs.push(driver);
    const up = start([
      'src/cli/main.ts',
      'up',
      '--data-dir',
      join(dir, 'data'),
      '--port',
      '0',
      '--node',
      'node-1',
      '--node',
      'node-2',
      '--csi-driver',
      `${MOCK}=${socket}`,
    ]);
    procs.push(up);
    await eventually('berth up', async () => up.output().includes('berth API listening on'), 90_000);
    client = await RestClient.fromKubeconfig(join(dir, 'data', 'kubeconfig'));
  });

  after(async function () {
    for (const p of procs.reverse()) await stopProcess(p);
    if (!dir) return;
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('the second pod waits with "Multi-Attach error for volume" while the first keeps the volume', async function () {
    await client.create(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'attachable' },
      provisioner: MOCK,
    });
    await client.create<PersistentVolumeClaim>(K.pvc, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'shared', namespace: 'default' },
      spec: {
        storageClassName: 'attachable',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '64Mi' } },
      },
    });
    const bound = await eventually('claim Bound', async () => {
      const c = await client.get<PersistentVolumeClaim>(K.pvc, 'default', 'shared');
      return c.status?.phase === 'Bound' ? c : undefined;
    });
    const pvName = bound.spec.volumeName ?? '';

    const webPods = async (): Promise<Pod[]> =>
      (await client.list(K.pod, { namespace: 'default', labelSelector: 'app=web' })).items as Pod[];

    await client.create(K.deploy, deployment(1));
    const first = await eventually(
      'the first pod Running',
      async () => (await webPods()).find((p) => p.status?.phase === 'Running'),
      90_000,
    );
    const firstNode = first.spec.nodeName;
    assert.ok(firstNode, 'the first pod is placed');

    await client.patch(K.deploy, 'default', 'web', { spec: { replicas: 2 } });
    const second = await eventually(
      'a second pod placed on the other node',
      async () => (await webPods()).find((p) => p.metadata.name !== first.metadata.name && p.spec.nodeName),
      90_000,
    );
    assert.notEqual(second.spec.nodeName, firstNode, 'spreading puts the second pod on the other node');

    const warning = await eventually(
      'FailedAttachVolume on the second pod',
      async () =>
        ((await client.list(K.event, { namespace: 'default' })).items as Event[]).find(
          (e) => e.reason === 'FailedAttachVolume' && e.involvedObject.name === second.metadata.name,
        ),
      90_000,
    );
    assert.equal(warning.type, 'Warning');
    assert.match(warning.message ?? '', new RegExp(`^Multi-Attach error for volume "${pvName}" `));

    const attachments = (await client.list(K.va)).items as unknown as {
      spec: { nodeName: string; source: { persistentVolumeName?: string } };
    }[];
    assert.deepEqual(
      attachments
        .filter((va) => va.spec.source.persistentVolumeName === pvName)
        .map((va) => va.spec.nodeName),
      [firstNode],
      'the volume is attached to the first node only',
    );
    const now = await client.get<Pod>(K.pod, 'default', second.metadata.name ?? '');
    assert.notEqual(now.status?.phase, 'Running', 'the second pod does not run');
    const stillFirst = await client.get<Pod>(K.pod, 'default', first.metadata.name ?? '');
    assert.equal(stillFirst.status?.phase, 'Running', 'the first pod keeps running');
  });
  it('a ReadWriteOncePod claim admits one pod; the next is scheduled once the first is gone', async function () {
    await client.create(K.pv, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'rwop-pv' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOncePod'],
        storageClassName: '',
        hostPath: { path: join(dir, 'rwop') },
      },
    });
    await client.create<PersistentVolumeClaim>(K.pvc, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'solo', namespace: 'default' },
      spec: {
        storageClassName: '',
        accessModes: ['ReadWriteOncePod'],
        resources: { requests: { storage: '1Gi' } },
      },
    });
    const podUsing = (name: string): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: {
        containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'd', mountPath: '/d' }] }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'solo' } }],
      },
    });
    const phase = async (name: string) => (await client.get<Pod>(K.pod, 'default', name)).status?.phase;
    await client.create(K.pod, podUsing('solo-1'));
    await eventually('solo-1 Running', async () => (await phase('solo-1')) === 'Running', 90_000);
    await client.create(K.pod, podUsing('solo-2'));
    const refused = await eventually('FailedScheduling for solo-2', async () =>
      ((await client.list(K.event, { namespace: 'default' })).items as Event[]).find(
        (e) => e.reason === 'FailedScheduling' && e.involvedObject.name === 'solo-2',
      ),
    );
    assert.equal(
      refused.message,
      '0/2 nodes are available: 2 node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode.',
    );
    assert.equal((await client.get<Pod>(K.pod, 'default', 'solo-2')).spec.nodeName, undefined);
    await client.delete(K.pod, 'default', 'solo-1');
    await eventually(
      'solo-2 Running once solo-1 is gone',
      async () => (await phase('solo-2')) === 'Running',
      90_000,
    );
  });
});
