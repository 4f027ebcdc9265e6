// End to end with real mounts (root): an embedded berth with two node agents, the local CSI
// driver on each, the scheduler and the StatefulSet controller. StatefulSet web scales 3 → 1 → 3
// and the returning replicas get their claims back with their data; an unschedulable pod gets
// FailedScheduling.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { Event, PersistentVolumeClaim, Pod, StatefulSet, StorageClass } from '../../src/api/types.js';
import { type EmbeddedBerth, startEmbeddedBerth } from '../../src/cli/embedded.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { isRoot, skipUnless } from '../helpers/skip.js';
import { eventually } from '../helpers/eventually.js';

function hostPath(pod: Pod): string {
  return (
    (JSON.parse(pod.metadata.annotations?.['berth.io/volume-paths'] ?? '{}') as Record<string, string>)[
      'www'
    ] ?? ''
  );
}

describe('workloads end to end (two nodes, local CSI volumes, real mounts)', function () {
  this.timeout(120_000);
  let dir: string;
  let berth: EmbeddedBerth | undefined;

  before(async function () {
    skipUnless(this, isRoot, 'needs root: loop devices and mounts');
    dir = await mkdtemp(join(tmpdir(), 'berth-workloads-'));
    berth = await startEmbeddedBerth({
      dataDir: join(dir, 'data'),
      port: 0,
      logger: silentLogger,
      nodes: ['node-1', 'node-2'].map((name) => ({ name, rootDir: join(dir, 'nodes', name) })),
    });
  });

  after(async function () {
    if (berth) {
      const store = berth.store;
      await store.delete(K.sts, 'default', 'web').catch(() => undefined);
      for (const p of (await store.list<Pod>(K.pod)).items)
        await store.delete(K.pod, 'default', p.metadata.name ?? '').catch(() => undefined);
      for (const c of (await store.list(K.pvc)).items)
        await store.delete(K.pvc, 'default', c.metadata.name ?? '').catch(() => undefined);
      await eventually(
        'everything gone',
        async () =>
          (await store.list(K.pv)).items.length === 0 && (await store.list(K.pod)).items.length === 0,
      );
      await berth.stop();
    }
    if (dir) {
      assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), 'no mount left');
      assert.ok(!execFileSync('losetup', ['-a'], { encoding: 'utf8' }).includes(dir), 'no loop device left');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('scales web 3 → 1 → 3: claims stay, and come back with their data', async function () {
    const store = berth!.store;
    const sc: StorageClass = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-dynamic' },
      provisioner: 'local.csi.berth.io',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    };
    await store.create(K.sc, sc);
    const sts: StatefulSet = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 3,
        serviceName: 'nginx',
        selector: { matchLabels: { app: 'nginx' } },
        template: {
          metadata: { labels: { app: 'nginx' } },
          spec: {
            containers: [
              { name: 'nginx', image: 'nginx', volumeMounts: [{ name: 'www', mountPath: '/www' }] },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'www' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: 'local-dynamic',
              resources: { requests: { storage: '16Mi' } },
            },
          },
        ],
      },
    };
    await store.create(K.sts, sts);
    const running = (n: number) => async () => {
      const pods = (await store.list<Pod>(K.pod, { namespace: 'default' })).items.filter(
        (p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp && hostPath(p),
      );
      return pods.length === n ? pods : undefined;
    };
    const three = await eventually('3 pods Running', running(3));
    const nodeOf: Record<string, string> = {};
    for (const pod of three) {
      nodeOf[pod.metadata.name ?? ''] = pod.spec.nodeName ?? '';
      await writeFile(join(hostPath(pod), 'id'), `${pod.metadata.name}\n`);
    }
    const claims = (await store.list<PersistentVolumeClaim>(K.pvc)).items.map((c) => c.metadata.name).sort();
    assert.deepEqual(claims, ['www-web-0', 'www-web-1', 'www-web-2']);

    await store.patch(K.sts, 'default', 'web', { spec: { replicas: 1 } });
    await eventually('1 pod left', async () => (await store.list(K.pod)).items.length === 1);
    const kept = (await store.list<PersistentVolumeClaim>(K.pvc)).items;
    assert.deepEqual(kept.map((c) => `${c.metadata.name}:${c.status?.phase}`).sort(), [
      'www-web-0:Bound',
      'www-web-1:Bound',
      'www-web-2:Bound',
    ]);

    await store.patch(K.sts, 'default', 'web', { spec: { replicas: 3 } });
    const back = await eventually('3 pods Running again', running(3));
    for (const pod of back) {
      const name = pod.metadata.name ?? '';
      assert.equal(pod.spec.nodeName, nodeOf[name], `${name} returns to the node its volume lives on`);
      assert.equal(await readFile(join(hostPath(pod), 'id'), 'utf8'), `${name}\n`);
    }
  });

  it('a local xfs volume grows while its pod runs (resizer, then the node agent)', async function () {
    const store = berth!.store;
    await store.create<StorageClass>(K.sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-xfs' },
      provisioner: 'local.csi.berth.io',
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: true,
      parameters: { 'csi.storage.k8s.io/fstype': 'xfs' },
    });
    await store.create<PersistentVolumeClaim>(K.pvc, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'grows', namespace: 'default' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'local-xfs',
        resources: { requests: { storage: '320Mi' } },
      },
    });
    await store.create<Pod>(K.pod, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'grower', namespace: 'default' },
      spec: {
        containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'www', mountPath: '/www' }] }],
        volumes: [{ name: 'www', persistentVolumeClaim: { claimName: 'grows' } }],
      },
    });
    const pod = await eventually('grower Running', async () => {
      const p = await store.get<Pod>(K.pod, 'default', 'grower');
      return p.status?.phase === 'Running' && hostPath(p) ? p : undefined;
    });
    const size = () => {
      const s = statfsSync(hostPath(pod));
      return s.blocks * s.bsize;
    };
    const before = size();
    await writeFile(join(hostPath(pod), 'kept'), 'still here\n');
    await store.patch(K.pvc, 'default', 'grows', { spec: { resources: { requests: { storage: '400Mi' } } } });
    const grown = await eventually('claim capacity 400Mi', async () => {
      const c = await store.get<PersistentVolumeClaim>(K.pvc, 'default', 'grows');
      return c.status?.capacity?.['storage'] === '400Mi' ? c : undefined;
    });
    assert.deepEqual(grown.status?.conditions ?? [], []);
    assert.deepEqual(grown.status?.allocatedResources, { storage: '400Mi' });
    assert.equal(grown.status?.allocatedResourceStatuses, undefined, 'the node finished the resize');
    assert.ok(size() > before + 60 * 1024 * 1024, `the mounted filesystem grew (${before} -> ${size()})`);
    assert.equal(await readFile(join(hostPath(pod), 'kept'), 'utf8'), 'still here\n');
    // the events are written after the status they report (the recorder writes them on its own)
    const wanted = ['Resizing', 'FileSystemResizeRequired', 'FileSystemResizeSuccessful'];
    await eventually('the resize events', async () => {
      const reasons = (await store.list<Event>(K.event)).items
        .filter((e) => ['grows', 'grower'].includes(e.involvedObject.name ?? ''))
        .map((e) => e.reason);
      return wanted.every((reason) => reasons.includes(reason));
    });
    await store.delete(K.pod, 'default', 'grower');
    await eventually(
      'grower gone',
      async () => (await store.list(K.pod, { fieldSelector: 'metadata.name=grower' })).items.length === 0,
    );
    await store.delete(K.pvc, 'default', 'grows');
  });

  it('an unschedulable pod gets FailedScheduling', async function () {
    const store = berth!.store;
    await store.create<Pod>(K.pod, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'nowhere', namespace: 'default' },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': 'node-9' },
        containers: [{ name: 'c', image: 'busybox' }],
      },
    });
    const event = await eventually('FailedScheduling', async () =>
      (await store.list<Event>(K.event, { namespace: 'default' })).items.find(
        (e) => e.reason === 'FailedScheduling' && e.involvedObject.name === 'nowhere',
      ),
    );
    assert.match(
      event.message ?? '',
      /^0\/2 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector/,
    );
    assert.equal(existsSync(join(dir, 'nodes', 'node-9')), false);
  });
});
