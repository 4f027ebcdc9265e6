// Storage capacity tracking end to end, as a user sees it with kubectl against a started berth
// with two nodes and the local driver: the driver's CSIDriver says storageCapacity: true, its
// provisioners publish one CSIStorageCapacity per class and node, and the scheduler uses them:
// a claim larger than any node's free space leaves its pod unscheduled with one aggregated
// FailedScheduling ("did not have enough free storage"), the claim says why, and the driver is
// never asked to create it; a claim that fits provisions as before.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { K } from '../../src/api/kinds.js';
import { tryStorageBytes } from '../../src/api/quantity.js';
import type { CSIStorageCapacity, Event, StorageClass } from '../../src/api/types.js';
import type { EmbeddedBerth } from '../../src/cli/embedded.js';
import { startEmbeddedBerth } from '../../src/cli/embedded.js';
import { TOPOLOGY_KEY } from '../../src/drivers/local/names.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { LOCAL_DRIVER_NAME } from '../../src/volume/node-local.js';
import { eventuallyWithin } from '../helpers/eventually.js';
import { kubectlOn } from '../helpers/kubectl-on.js';
import { kubectlAvailable } from '../helpers/kubectl-server.js';
import { isRoot, skipUnless } from '../helpers/skip.js';
import { csiCallCount, fetchMetrics } from '../helpers/metrics.js';

const eventually = eventuallyWithin(30_000, 250);
const NODES = ['node-a', 'node-b'];
const CLASS = 'local-wait';
const NOT_ENOUGH = /0\/2 nodes are available: 2 node\(s\) did not have enough free storage/;

function claim(name: string, size: string): object {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: CLASS,
      resources: { requests: { storage: size } },
    },
  };
}

function pod(name: string, claimName: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      containers: [{ name: 'c', image: 'busybox' }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
    },
  };
}

describe('storage capacity tracking (CSIStorageCapacity, started berth, two nodes)', function () {
  this.timeout(180_000);
  let dir: string;
  let berth: EmbeddedBerth | undefined;

  const { kubectl, create, describes } = kubectlOn(() => berth!.kubeconfigPath);
  const capacities = async (): Promise<CSIStorageCapacity[]> =>
    (await berth!.store.list<CSIStorageCapacity>(K.csicapacity)).items.filter(
      (c) => c.storageClassName === CLASS,
    );

  before(async function () {
    skipUnless(this, isRoot, 'needs root: the local CSI driver makes loop devices');
    skipUnless(this, kubectlAvailable, 'needs kubectl');
    dir = await mkdtemp(join(tmpdir(), 'berth-capacity-'));
    berth = await startEmbeddedBerth({
      dataDir: join(dir, 'data'),
      port: 0,
      logger: silentLogger,
      nodes: NODES.map((name) => ({ name, rootDir: join(dir, name) })),
    });
  });
  after(async function () {
    await berth?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the local driver publishes its free space for each class, one object per node', async function () {
    const flag = await kubectl([
      'get',
      'csidriver',
      LOCAL_DRIVER_NAME,
      '-o',
      'jsonpath={.spec.storageCapacity}',
    ]);
    assert.equal(flag.stdout, 'true', flag.stderr);
    await create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: CLASS },
      provisioner: LOCAL_DRIVER_NAME,
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    const published = await eventually('a capacity per node', async () => {
      const items = await capacities();
      return items.length === NODES.length ? items : undefined;
    });
    const storageClass = await berth!.store.get<StorageClass>(K.sc, undefined, CLASS);
    const nodes = published.map((c) => c.nodeTopology?.matchLabels?.[TOPOLOGY_KEY]).sort();
    assert.deepEqual(nodes, NODES);
    for (const c of published) {
      assert.equal(c.metadata.namespace, 'kube-system');
      assert.ok((tryStorageBytes(c.capacity) ?? 0n) > 0n, `capacity ${String(c.capacity)}`);
      assert.ok((tryStorageBytes(c.maximumVolumeSize) ?? 0n) > 0n);
      assert.deepEqual(
        c.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
        [['StorageClass', CLASS, storageClass.metadata.uid]],
      );
      assert.equal(c.metadata.labels?.['csi.storage.k8s.io/drivername'], LOCAL_DRIVER_NAME);
    }

    const table = await kubectl(['get', 'csistoragecapacities', '-n', 'kube-system']);
    assert.equal(table.exitCode, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+STORAGECLASSNAME\s+CAPACITY\s*$/m);
    assert.match(table.stdout, new RegExp(`^csisc-\\S+\\s+${CLASS}\\s+\\d+\\S*\\s*$`, 'm'));

    // the inputs of the GetCapacity call an object records never change
    const name = published[0]!.metadata.name ?? '';
    const patched = await kubectl([
      'patch',
      'csistoragecapacity',
      name,
      '-n',
      'kube-system',
      '--type=merge',
      '-p',
      '{"storageClassName":"other"}',
    ]);
    assert.notEqual(patched.exitCode, 0);
    assert.match(patched.stderr, /storageClassName: Invalid value: "other": field is immutable/);
    const bad = await kubectl(
      ['create', '-f', '-'],
      stringify({
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSIStorageCapacity',
        metadata: { name: 'bad', namespace: 'default' },
        capacity: '-1Gi',
        nodeTopology: { matchExpressions: [{ key: 'k', operator: 'Sometimes' }] },
      }),
    );
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /storageClassName: Required value/);
    assert.match(bad.stderr, /capacity: Invalid value: "-1Gi": must be greater than or equal to 0/);
    assert.match(bad.stderr, /nodeTopology.matchExpressions\[0\].operator: Unsupported value: "Sometimes"/);
  });

  it('a claim larger than any node: one FailedScheduling for not enough free storage, the claim says why, no CreateVolume', async function () {
    const createVolumeCalls = async () =>
      csiCallCount(
        await fetchMetrics(berth!.kubeconfigPath),
        LOCAL_DRIVER_NAME,
        '/csi.v1.Controller/CreateVolume',
      );
    const createsBefore = await createVolumeCalls();
    await create(claim('huge', '100Ti'), pod('uses-huge', 'huge'));
    await describes('pod', 'uses-huge', /FailedScheduling/, NOT_ENOUGH);
    await describes(
      'pvc',
      'huge',
      /WaitForPodScheduled/,
      /waiting for pod uses-huge to be scheduled: 0\/2 nodes/,
    );
    // The scheduler retries with back-off; the same message is recorded on one Event object.
    await new Promise((r) => setTimeout(r, 5000));
    const events = (await berth!.store.list<Event>(K.event, { namespace: 'default' })).items;
    const failed = events.filter(
      (e) => e.involvedObject.name === 'uses-huge' && e.reason === 'FailedScheduling',
    );
    assert.equal(failed.length, 1, failed.map((e) => e.message).join('\n'));
    const claimEvents = events.filter((e) => e.involvedObject.name === 'huge').map((e) => e.reason);
    assert.ok(!claimEvents.includes('ProvisioningFailed'), `claim events: ${claimEvents.join(', ')}`);
    assert.equal(await createVolumeCalls(), createsBefore, 'the driver is never asked to CreateVolume');
    const phase = await kubectl(['get', 'pvc', 'huge', '-o', 'jsonpath={.status.phase}']);
    assert.equal(phase.stdout, 'Pending');
  });

  it('a claim that fits provisions and its pod is scheduled', async function () {
    await create(claim('small', '16Mi'), pod('uses-small', 'small'));
    await eventually('claim small Bound', async () => {
      const r = await kubectl(['get', 'pvc', 'small', '-o', 'jsonpath={.status.phase}']);
      return r.stdout === 'Bound';
    });
    const node = await kubectl(['get', 'pod', 'uses-small', '-o', 'jsonpath={.spec.nodeName}']);
    assert.ok(NODES.includes(node.stdout), `scheduled to ${node.stdout}`);
  });

  it('deleting the class withdraws what was published for it', async function () {
    for (const [kind, name] of [
      ['pod', 'uses-huge'],
      ['pod', 'uses-small'],
      ['pvc', 'huge'],
      ['pvc', 'small'],
      ['storageclass', CLASS],
    ] as const) {
      const r = await kubectl(['delete', kind, name, '--wait=false']);
      assert.equal(r.exitCode, 0, r.stderr);
    }
    await eventually('no capacity left for the class', async () => (await capacities()).length === 0);
  });
});
