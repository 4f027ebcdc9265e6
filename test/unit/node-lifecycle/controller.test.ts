// The node lifecycle controller against a real embedded store and the node agent's own heartbeat
// parts (the Lease in kube-node-lease and the Ready condition): a node whose Lease stops being
// renewed turns Ready=Unknown with the unreachable taints within the grace period, and recovers
// when its heartbeat returns. Short periods stand in for the 10 s / 40 s defaults.
import assert from 'node:assert/strict';
import { K } from '../../../src/api/kinds.js';
import type { Lease, Node } from '../../../src/api/types.js';
import { silentLogger, systemClock } from '../../../src/machinery/index.js';
import { NodeLifecycleController } from '../../../src/node-lifecycle/index.js';
import { NodeLease } from '../../../src/node/node-lease.js';
import { NodeObject } from '../../../src/node/node-object.js';
import { eventually } from '../../helpers/eventually.js';
import { tempStore, type TempStore } from '../machinery/helpers.js';

describe('node lifecycle controller with a heartbeating node', function () {
  let temp: TempStore;
  let controller: NodeLifecycleController | undefined;
  const parts: { stop(): void }[] = [];

  beforeEach(async function () {
    temp = await tempStore();
  });
  afterEach(async function () {
    for (const p of parts.splice(0)) p.stop();
    await controller?.stop();
    controller = undefined;
    await temp.cleanup();
  });

  function heartbeat(): { lease: NodeLease; node: NodeObject } {
    const deps = { store: temp.store, nodeName: 'n1', clock: systemClock, log: silentLogger };
    const node = new NodeObject({ ...deps, heartbeatMs: 100 });
    const lease = new NodeLease({ ...deps, renewMs: 100 });
    parts.push(node, lease);
    return { lease, node };
  }

  const getNode = () => temp.store.get<Node>(K.node, undefined, 'n1');
  const ready = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready');
  const taintKeys = (n: Node) =>
    ((n.spec as { taints?: { key: string; effect: string }[] }).taints ?? []).map(
      (t) => `${t.key}:${t.effect}`,
    );

  it('renews a Lease owned by the Node; marks the node Unknown when it stops; recovers', async function () {
    this.timeout(20_000);
    const first = heartbeat();
    const created = await first.node.ensure();
    first.lease.start();
    first.node.startHeartbeat();
    const lease = await eventually('the node lease', () =>
      temp.store.get<Lease>(K.lease, 'kube-node-lease', 'n1').catch(() => undefined),
    );
    assert.equal(lease.spec.holderIdentity, 'n1');
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    assert.deepEqual(lease.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: created.metadata.uid },
    ]);
    await eventually('a renewal', async () => {
      const again = await temp.store.get<Lease>(K.lease, 'kube-node-lease', 'n1');
      return again.spec.renewTime !== lease.spec.renewTime ? again : undefined;
    });

    controller = new NodeLifecycleController({ store: temp.store, gracePeriodMs: 600 });
    await controller.start();
    // well past the grace period while the lease is renewed: still Ready, untainted
    await new Promise((r) => setTimeout(r, 1200));
    let n = await getNode();
    assert.equal(ready(n)?.status, 'True');
    assert.deepEqual(taintKeys(n), []);

    // the node agent dies
    first.lease.stop();
    first.node.stop();
    const stoppedAt = Date.now();
    n = await eventually('Ready=Unknown', async () => {
      const x = await getNode();
      return ready(x)?.status === 'Unknown' ? x : undefined;
    });
    assert.ok(Date.now() - stoppedAt < 3000, 'marked within the grace period (plus a little)');
    assert.equal((ready(n) as { reason?: string }).reason, 'NodeStatusUnknown');
    n = await eventually('unreachable taints', async () => {
      const x = await getNode();
      return taintKeys(x).length === 2 ? x : undefined;
    });
    assert.deepEqual(taintKeys(n).sort(), [
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/unreachable:NoSchedule',
    ]);

    // it comes back: the agent sees Ready=Unknown and posts Ready=True; the taints go
    const second = heartbeat();
    second.lease.start();
    second.node.startHeartbeat();
    n = await eventually('recovered', async () => {
      const x = await getNode();
      return ready(x)?.status === 'True' && taintKeys(x).length === 0 ? x : undefined;
    });
    assert.equal((ready(n) as { reason?: string }).reason, 'KubeletReady');
  });

  it('leaves a node alone that stays away less than the grace period', async function () {
    this.timeout(20_000);
    const hb = heartbeat();
    await hb.node.ensure();
    await hb.lease.renew();
    controller = new NodeLifecycleController({ store: temp.store, gracePeriodMs: 1500 });
    await controller.start();
    await new Promise((r) => setTimeout(r, 1000));
    await hb.lease.renew();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(ready(await getNode())?.status, 'True');
  });
});
