// Every stuck claim and pod explains itself, seen the way a user sees it: real kubectl against a
// started berth with two nodes. Each case is one reason a claim stays Pending or a pod stays
// unscheduled; `kubectl describe` must show the event that names it, in Kubernetes' words.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedBerth } from '../../src/cli/embedded.js';
import { startEmbeddedBerth } from '../../src/cli/embedded.js';
import { RestClient } from '../../src/client/rest.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { LOCAL_DRIVER_NAME } from '../../src/volume/node-local.js';
import { eventuallyWithin } from '../helpers/eventually.js';
import { kubectlOn } from '../helpers/kubectl-on.js';
import { kubectlAvailable } from '../helpers/kubectl-server.js';
import { isRoot, skipUnless } from '../helpers/skip.js';

const eventually = eventuallyWithin(30_000, 250);

function storageClass(name: string, provisioner: string, mode?: string, extra: object = {}): object {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner,
    ...(mode ? { volumeBindingMode: mode } : {}),
    ...extra,
  };
}

function claim(name: string, size: string, className: string): object {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: className,
      resources: { requests: { storage: size } },
    },
  };
}

function pod(name: string, claimName: string, nodeSelector?: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      containers: [{ name: 'c', image: 'busybox' }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
      ...(nodeSelector ? { nodeSelector } : {}),
    },
  };
}

describe('stuck claims and pods explain themselves (kubectl describe, started berth)', function () {
  this.timeout(180_000);
  let dir: string;
  let berth: EmbeddedBerth | undefined;

  const { kubectl, create: apply, describes } = kubectlOn(() => berth!.kubeconfigPath);

  before(async function () {
    skipUnless(this, isRoot, 'needs root: the local CSI driver makes loop devices');
    skipUnless(this, kubectlAvailable, 'needs kubectl');
    dir = await mkdtemp(join(tmpdir(), 'berth-stuck-'));
    berth = await startEmbeddedBerth({
      dataDir: join(dir, 'data'),
      port: 0,
      logger: silentLogger,
      nodes: ['node-a', 'node-b'].map((name) => ({ name, rootDir: join(dir, name) })),
    });
  });
  after(async function () {
    await berth?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a node-local class with Immediate binding: kubectl prints the admission Warning, the claim says why', async function () {
    const created = await apply(storageClass('local-now', LOCAL_DRIVER_NAME));
    assert.match(
      created.stderr,
      /Warning: StorageClass "local-now" uses volumeBindingMode Immediate, but local.csi.berth.io makes node-local volumes/,
    );
    await apply(claim('now', '1Gi', 'local-now'));
    await describes('pvc', 'now', /UnsuitableBindingMode/, /set volumeBindingMode: WaitForFirstConsumer/);
  });

  it('no matching PV: FailedBinding names the closest candidates and why each was rejected', async function () {
    await apply(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'small' },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: '',
          hostPath: { path: join(dir, 'small') },
        },
      },
      claim('wants-5gi', '5Gi', ''),
    );
    await describes(
      'pvc',
      'wants-5gi',
      /FailedBinding/,
      /no persistent volumes available for this claim and no storage class is set/,
      /small: capacity 1Gi < requested 5Gi/,
    );
  });

  it('a missing class: Pending and ProvisioningFailed, also for a StatefulSet made before its class', async function () {
    await apply(claim('early', '1Gi', 'later'));
    await describes('pvc', 'early', /Status:\s+Pending/, /storageclass.storage.k8s.io "later" not found/);
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        serviceName: 'web',
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'www', mountPath: '/w' }] }],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'www' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: 'later-too',
              resources: { requests: { storage: '1Gi' } },
            },
          },
        ],
      },
    });
    await describes(
      'pvc',
      'www-web-0',
      /Status:\s+Pending/,
      /storageclass.storage.k8s.io "later-too" not found/,
    );
    const phase = await kubectl(['get', 'pvc', 'www-web-0', '-o', 'jsonpath={.status.phase}']);
    assert.equal(phase.stdout, 'Pending');
    await describes('pod', 'web-0', /FailedScheduling/, /pod has unbound immediate PersistentVolumeClaims/);
  });

  it('WaitForFirstConsumer, WaitForPodScheduled and ExternalProvisioning', async function () {
    await apply(
      storageClass('local-later', LOCAL_DRIVER_NAME, 'WaitForFirstConsumer'),
      storageClass('nobody', 'example.com/nobody'),
      claim('unused', '1Gi', 'local-later'),
      claim('orphan', '1Gi', 'nobody'),
      claim('pinned', '1Gi', 'local-later'),
      pod('nowhere', 'pinned', { 'kubernetes.io/hostname': 'node-z' }),
    );
    await describes(
      'pvc',
      'unused',
      /WaitForFirstConsumer/,
      /waiting for first consumer to be created before binding/,
    );
    await describes(
      'pvc',
      'orphan',
      /ExternalProvisioning/,
      /Waiting for a volume to be created either by the external provisioner 'example.com\/nobody' or manually by the system administrator/,
    );
    await describes('pvc', 'pinned', /WaitForPodScheduled/, /waiting for pod nowhere to be scheduled/);
    await describes(
      'pod',
      'nowhere',
      /FailedScheduling/,
      /0\/2 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector/,
    );
  });

  it('a volume pinned to another node: volume node affinity conflict', async function () {
    await apply(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'on-b' },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'pinned-static',
          local: { path: join(dir, 'on-b') },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-b'] }] },
              ],
            },
          },
        },
      },
      storageClass('pinned-static', 'kubernetes.io/no-provisioner'),
      claim('static', '1Gi', 'pinned-static'),
    );
    await eventually('claim static Bound', async () => {
      const r = await kubectl(['get', 'pvc', 'static', '-o', 'jsonpath={.status.phase}']);
      return r.stdout === 'Bound';
    });
    await apply(pod('on-a', 'static', { 'kubernetes.io/hostname': 'node-a' }));
    await describes('pod', 'on-a', /FailedScheduling/, /node\(s\) had volume node affinity conflict/);
  });

  it("the selected node has no room: ProvisioningFailed with the driver's words, and the node is given back", async function () {
    // as when a node was picked on capacity published before the disk filled up
    await apply(storageClass('local-full', LOCAL_DRIVER_NAME, 'WaitForFirstConsumer'), {
      ...claim('no-room', '100Ti', 'local-full'),
      metadata: {
        name: 'no-room',
        namespace: 'default',
        annotations: { 'volume.kubernetes.io/selected-node': 'node-a' },
      },
    });
    await describes(
      'pvc',
      'no-room',
      /ProvisioningFailed/,
      /failed to provision volume with StorageClass "local-full": RESOURCE_EXHAUSTED: \d+ bytes requested/,
    );
    await eventually('the selected node is given back for the scheduler to pick again', async () => {
      const r = await kubectl(['get', 'pvc', 'no-room', '-o', 'jsonpath={.metadata.annotations}']);
      return !r.stdout.includes('selected-node');
    });
  });

  it('a class whose topology excludes the only node the pod may use: the pod and the claim say so', async function () {
    const onlyB = {
      allowedTopologies: [
        { matchLabelExpressions: [{ key: 'topology.local.csi.berth.io/node', values: ['node-b'] }] },
      ],
    };
    await apply(
      storageClass('local-b', LOCAL_DRIVER_NAME, 'WaitForFirstConsumer', onlyB),
      claim('b-only', '1Gi', 'local-b'),
      pod('wants-a', 'b-only', { 'kubernetes.io/hostname': 'node-a' }),
    );
    const reasons =
      /0\/2 nodes are available: 1 node\(s\) didn't find available persistent volumes to bind, 1 node\(s\) didn't match Pod's node affinity\/selector/;
    await describes('pod', 'wants-a', /FailedScheduling/, reasons);
    await describes(
      'pvc',
      'b-only',
      /WaitForPodScheduled/,
      /waiting for pod wants-a to be scheduled: /,
      reasons,
    );
    // and a node picked by hand against the class's topology is refused by the provisioner
    await apply({
      ...claim('b-only-on-a', '1Gi', 'local-b'),
      metadata: {
        name: 'b-only-on-a',
        namespace: 'default',
        annotations: { 'volume.kubernetes.io/selected-node': 'node-a' },
      },
    });
    await describes(
      'pvc',
      'b-only-on-a',
      /ProvisioningFailed/,
      /of selected node "node-a" is not in the allowed topologies/,
    );
  });

  it('volume_manager_total_volumes counts what a node wants mounted and what it has mounted', async function () {
    const source = join(dir, 'host-data');
    await mkdir(source, { recursive: true });
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hostpath-user', namespace: 'default' },
      spec: {
        nodeName: 'node-a',
        containers: [{ name: 'c', image: 'busybox' }],
        volumes: [{ name: 'data', hostPath: { path: source } }],
      },
    });
    const client = await RestClient.fromKubeconfig(berth!.kubeconfigPath);
    for (const state of ['desired_state_of_world', 'actual_state_of_world']) {
      const series = new RegExp(
        `volume_manager_total_volumes\\{plugin_name="kubernetes.io/host-path",state="${state}"\\} [1-9]`,
      );
      await eventually(`${state} in /metrics`, async () =>
        series.test((await client.getBytes('/metrics')).toString()),
      );
    }
    const deleted = await kubectl(['delete', 'pod', 'hostpath-user', '--wait=true', '--timeout=30s']);
    assert.equal(deleted.exitCode, 0, deleted.stderr);
  });
});
