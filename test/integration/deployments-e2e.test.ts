// Deployments and Jobs end to end with real mounts (root): an embedded berth with two nodes and
// the local CSI driver. A Deployment with a ReadWriteOnce claim runs a READY 1/1 pod through its
// ReplicaSet, rolls a new template out onto the same claim, and goes with its ReplicaSets and pods
// when deleted; a Job's pod mounts its claim, completes, and lets the volume go.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { Event, PersistentVolumeClaim, Pod, StorageClass } from '../../src/api/types.js';
import type { Deployment, Job, ReplicaSet } from '../../src/api/workload-types.js';
import { type EmbeddedBerth, startEmbeddedBerth } from '../../src/cli/embedded.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { isRoot, skipUnless } from '../helpers/skip.js';
import { eventually } from '../helpers/eventually.js';

const claim = (name: string): PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'default' },
  spec: {
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'local-dynamic',
    resources: { requests: { storage: '16Mi' } },
  },
});

const podSpec = (claimName: string, image: string) => ({
  containers: [{ name: 'app', image, volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
  volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
});

describe('deployments and jobs end to end (local CSI volumes, real mounts)', function () {
  this.timeout(120_000);
  let dir: string;
  let berth: EmbeddedBerth | undefined;

  before(async function () {
    skipUnless(this, isRoot, 'needs root: loop devices and mounts');
    dir = await mkdtemp(join(tmpdir(), 'berth-deploy-'));
    berth = await startEmbeddedBerth({
      dataDir: join(dir, 'data'),
      port: 0,
      logger: silentLogger,
      nodes: ['node-1', 'node-2'].map((name) => ({ name, rootDir: join(dir, 'nodes', name) })),
    });
    const sc: StorageClass = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-dynamic' },
      provisioner: 'local.csi.berth.io',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    };
    await berth.store.create(K.sc, sc);
  });

  after(async function () {
    if (berth) {
      const store = berth.store;
      for (const kind of [K.deploy, K.job, K.rs, K.pod, K.pvc])
        for (const o of (await store.list(kind)).items)
          await store.delete(kind, 'default', o.metadata.name ?? '').catch(() => undefined);
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

  it('a Deployment with a claim: ReplicaSet, READY pod, rolling replace on the same claim, cascading delete', async function () {
    const store = berth!.store;
    await store.create(K.pvc, claim('web-data'));
    const d: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: podSpec('web-data', 'nginx:1') },
      },
    };
    const created = await store.create(K.deploy, d);
    const readyPod = async (image: string) => {
      const pods = (await store.list<Pod>(K.pod)).items.filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.spec.containers[0]?.image === image &&
          p.status?.containerStatuses?.[0]?.['ready'] === true,
      );
      return pods.length === 1 ? pods[0] : undefined;
    };
    const first = await eventually('a ready pod', () => readyPod('nginx:1'));
    const sets = (await store.list<ReplicaSet>(K.rs)).items;
    assert.equal(sets.length, 1);
    const rs = sets[0]!;
    const hash = rs.metadata.labels?.['pod-template-hash'] ?? '';
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.equal(rs.metadata.ownerReferences?.[0]?.uid, created.metadata.uid);
    assert.equal(first.metadata.ownerReferences?.[0]?.uid, rs.metadata.uid);
    assert.equal(first.metadata.labels?.['pod-template-hash'], hash);
    assert.match(first.metadata.name ?? '', new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
    assert.deepEqual(
      first.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      [
        'PodReadyToStartContainers=True',
        'Initialized=True',
        'Ready=True',
        'ContainersReady=True',
        'PodScheduled=True',
      ],
    );
    const available = await eventually('deployment available', async () => {
      const got = await store.get<Deployment>(K.deploy, 'default', 'web');
      return got.status?.availableReplicas === 1 && got.status.updatedReplicas === 1 ? got : undefined;
    });
    assert.equal(available.status?.observedGeneration, available.metadata.generation);
    assert.deepEqual(
      available.status?.conditions?.map((c) => `${c.type}=${c.status}:${c.reason}`),
      ['Available=True:MinimumReplicasAvailable', 'Progressing=True:NewReplicaSetAvailable'],
    );

    // A new template: a second ReplicaSet; its pod gets the same claim (same node: local volume).
    await store.patch(K.deploy, 'default', 'web', {
      spec: { template: { spec: { containers: [{ ...podSpec('web-data', 'nginx:2').containers[0] }] } } },
    });
    const second = await eventually('the new pod ready', () => readyPod('nginx:2'));
    assert.equal(second.spec.nodeName, first.spec.nodeName);
    await eventually('the old set emptied', async () => {
      const all = (await store.list<ReplicaSet>(K.rs)).items;
      const old = all.find((s) => s.metadata.uid === rs.metadata.uid);
      return all.length === 2 && old?.spec.replicas === 0 && (old.status?.replicas ?? 0) === 0;
    });
    const newer = (await store.list<ReplicaSet>(K.rs)).items.find((s) => s.metadata.uid !== rs.metadata.uid);
    assert.equal(newer?.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    const events = (await store.list<Event>(K.event)).items.filter((e) => e.involvedObject.name === 'web');
    assert.ok(
      events.some(
        (e) =>
          e.reason === 'ScalingReplicaSet' &&
          /^Scaled down replica set web-\S+ from 1 to 0$/.test(e.message ?? ''),
      ),
      JSON.stringify(events.map((e) => e.message)),
    );

    await store.delete(K.deploy, 'default', 'web');
    await eventually('sets and pods collected', async () => {
      const left = [...(await store.list(K.rs)).items, ...(await store.list(K.pod)).items];
      return left.length === 0;
    });
  });

  it('a Job mounts its claim, completes, and releases the volume', async function () {
    const store = berth!.store;
    await store.create(K.pvc, claim('job-data'));
    const job: Job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'load', namespace: 'default' },
      spec: {
        completions: 2,
        template: { spec: { ...podSpec('job-data', 'busybox'), restartPolicy: 'Never' } },
      },
    };
    await store.create(K.job, job);
    const done = await eventually('job complete', async () => {
      const got = await store.get<Job>(K.job, 'default', 'load');
      return got.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')
        ? got
        : undefined;
    });
    assert.equal(done.status?.succeeded, 2);
    assert.equal(done.status?.active, 0);
    assert.ok(done.status?.completionTime);
    const pods = await eventually('pods released their volumes', async () => {
      const list = (await store.list<Pod>(K.pod)).items;
      return list.every((p) => !(p.metadata.finalizers ?? []).length) ? list : undefined;
    });
    assert.equal(pods.length, 2);
    for (const p of pods) {
      assert.equal(p.status?.phase, 'Succeeded');
      assert.equal(p.status?.containerStatuses?.[0]?.state?.terminated?.['reason'], 'Completed');
    }
    assert.ok(
      !readFileSync('/proc/self/mountinfo', 'utf8').includes(
        join(dir, 'nodes', pods[0]!.spec.nodeName ?? '', 'pods'),
      ),
    );
  });
});
