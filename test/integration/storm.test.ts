// The unsatisfiable claim (issue: a 100Ti WaitForFirstConsumer claim of the local driver, used by
// one pod) against a started berth with two nodes: the local driver's published capacity keeps the
// scheduler from picking a node, and for 60 s every component backs off, so the
// store sees under 60 writes (the nodes' heartbeats aside) and under 10 Event objects; deleting
// the pod and the claim then finishes within 10 s and leaves no volume behind on either node.
// bench/storm.ts prints the same figures and the CPU share.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { Event } from '../../src/api/types.js';
import type { EmbeddedBerth } from '../../src/cli/embedded.js';
import { startEmbeddedBerth } from '../../src/cli/embedded.js';
import { RestClient } from '../../src/client/rest.js';
import { DRIVER_NAME } from '../../src/drivers/local/names.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { isRoot, skipUnless } from '../helpers/skip.js';
import { deleteStorm, measureStorm, unsatisfiableClaim } from '../../bench/helpers/storm.js';
import { csiCallCount, fetchMetrics } from '../helpers/metrics.js';

const CREATE_VOLUME = '/csi.v1.Controller/CreateVolume';
const NODES = ['node-a', 'node-b'];

/** The driver's volumes in its data directory (its snapshots live in a folder of their own). */
async function volumesOn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name !== 'snapshots' && name !== 'volumes.log');
  } catch {
    return [];
  }
}

describe('an unsatisfiable claim in a started berth (no storm)', function () {
  this.timeout(120_000);
  let dir: string;
  let berth: EmbeddedBerth | undefined;

  before(async function () {
    skipUnless(this, isRoot, 'needs root: the local CSI driver makes loop devices');
    dir = await mkdtemp(join(tmpdir(), 'berth-storm-test-'));
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

  it('backs off for 60 s, explains itself in few Events, and deletes cleanly', async function () {
    const store = berth!.store;
    const createVolumeCalls = async () =>
      csiCallCount(await fetchMetrics(berth!.kubeconfigPath), DRIVER_NAME, CREATE_VOLUME);
    const createsBefore = await createVolumeCalls();
    const objects = unsatisfiableClaim(DRIVER_NAME);
    await store.create(K.sc, objects.storageClass);
    await new Promise((r) => setTimeout(r, 2000));
    const figures = await measureStorm(store, async () => {
      await store.create(K.pvc, objects.claim);
      await store.create(K.pod, objects.pod);
      await new Promise((r) => setTimeout(r, 60_000));
    });
    const claimWrites = figures.writes - figures.nodeWrites;
    assert.ok(claimWrites < 60, `store writes in 60 s: ${claimWrites} (goal < 60)`);
    assert.ok(figures.events <= 10, `Event objects in 60 s: ${figures.events} (goal <= 10)`);
    const reasons = new Set((await store.list<Event>(K.event)).items.map((e) => e.reason));
    // The local driver publishes its capacity: the scheduler sees no node has room, so the pod
    // waits with FailedScheduling, the claim says why, and the driver is never asked.
    for (const reason of ['WaitForPodScheduled', 'FailedScheduling']) {
      assert.ok(reasons.has(reason), `a ${reason} event explains it (saw ${[...reasons].join(', ')})`);
    }

    // /metrics tells the same story in the names Kubernetes and the CSI sidecars use.
    const client = await RestClient.fromKubeconfig(berth!.kubeconfigPath);
    const metrics = (await client.getBytes('/metrics')).toString();
    assert.equal(await createVolumeCalls(), createsBefore, 'the driver is never asked to CreateVolume');
    assert.match(
      metrics,
      /csi_sidecar_operations_seconds_count\{driver_name="local.csi.berth.io",method_name="\/csi.v1.Controller\/GetCapacity",grpc_status_code="OK"\} [1-9]/,
    );
    // the claim waits for its pod to be scheduled: the provisioner has nothing to queue for it
    assert.match(metrics, /workqueue_depth\{name="provisioner-claims"\} 0/);
    assert.match(metrics, /# TYPE workqueue_retries_total counter/);
    assert.match(metrics, /workqueue_depth\{name="scheduler"\} \d/);
    assert.match(metrics, /workqueue_adds_total\{name="scheduler"\} [1-9]/);
    assert.match(metrics, /workqueue_queue_duration_seconds_bucket\{le="[^"]+",name="scheduler"\}/);
    assert.match(metrics, /volume_manager_total_volumes|# TYPE volume_manager_total_volumes gauge/);
    assert.match(metrics, /# TYPE storage_operation_duration_seconds histogram/);

    const seconds = await deleteStorm(store, objects, 10_000);
    assert.notEqual(seconds, undefined, 'pod and claim are gone within 10 s of their delete');
    for (const node of NODES) {
      assert.deepEqual(await volumesOn(join(dir, node, 'local-volumes')), [], `no volume left on ${node}`);
    }
  });
});
