// Taint-based eviction through real processes: `berth controller-manager --node-monitor-grace-period=2s`
// against `berth apiserver` on a real etcd. A node that stops heartbeating turns Ready=Unknown with
// the unreachable taints; a pod tolerating them for 3 s is deleted after that (a
// TaintManagerEviction Event, the DisruptionTarget condition), one tolerating them forever stays,
// and one with the API server's default tolerations (300 s) is still there within the test's window.
// The pods stay Terminating (no node agent confirms), so their volumes would stay attached.
import assert from 'node:assert/strict';
import { K } from '../../src/api/kinds.js';
import type { Lease, Node, Pod, Toleration } from '../../src/api/types.js';
import type { RestStore } from '../../src/machinery/rest-store.js';
import { microTime, rfc3339 } from '../../src/volume/node-health.js';
import { waitForOutput } from '../helpers/berth-process.js';
import { ControlPlane } from '../helpers/control-plane.js';
import { etcdUnavailable, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { eventually } from '../helpers/eventually.js';
import { skipUnless } from '../helpers/skip.js';

const UNREACHABLE = 'node.kubernetes.io/unreachable';

function pod(name: string, tolerations?: Toleration[]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: 'far-node',
      containers: [{ name: 'app', image: 'busybox' }],
      ...(tolerations ? { tolerations } : {}),
    },
  };
}

describe('taint-based eviction (processes, real etcd)', function () {
  this.timeout(240_000);
  let etcd: EtcdServer | undefined;
  let plane: ControlPlane | undefined;
  let store: RestStore | undefined;

  before(async function () {
    const why = etcdUnavailable();
    skipUnless(this, why === undefined, why ?? '');
    etcd = await startEtcd();
    plane = new ControlPlane(etcd.endpoint);
  });
  after(async function () {
    await store?.close();
    await plane?.stop();
    await etcd?.stop();
  });

  it('evicts after tolerationSeconds once the node is unreachable, keeps who tolerates it', async function () {
    const api = await plane!.apiserver();
    store = await plane!.store(api.kubeconfig, [api.url]);
    const now = new Date();
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'far-node' },
      status: {
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: rfc3339(now) },
        ],
      },
    };
    await store.create(K.node, node);
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'far-node', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'far-node', leaseDurationSeconds: 40, renewTime: microTime(now) },
    };
    await store.create(K.lease, lease);
    await store.create(
      K.pod,
      pod('brief', [{ key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3 }]),
    );
    await store.create(
      K.pod,
      pod('steadfast', [{ key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute' }]),
    );
    const defaulted = await store.create<Pod>(K.pod, pod('defaulted'));
    assert.deepEqual(
      (defaulted.spec.tolerations ?? []).map((t) => `${t.key}:${t.effect}:${t.tolerationSeconds}`),
      ['node.kubernetes.io/not-ready:NoExecute:300', 'node.kubernetes.io/unreachable:NoExecute:300'],
    );

    const manager = await plane!.controllerManager([
      `--kubeconfig=${api.kubeconfig}`,
      '--leader-elect=false',
      '--node-monitor-grace-period=2s',
    ]);
    await waitForOutput(manager.proc, /controllers started/, 60_000);

    const tainted = await eventually(
      'the unreachable NoExecute taint',
      async () => {
        const n = await store!.get<Node>(K.node, undefined, 'far-node');
        return (
          n.spec?.['taints'] as { key: string; effect: string; timeAdded?: string }[] | undefined
        )?.find((t) => t.key === UNREACHABLE && t.effect === 'NoExecute');
      },
      60_000,
    );
    const brief = await eventually(
      'the pod tolerating 3 s is deleted',
      async () => {
        const p = await store!.get<Pod>(K.pod, 'default', 'brief').catch(() => undefined);
        return p === undefined || p.metadata.deletionTimestamp ? (p ?? 'gone') : undefined;
      },
      60_000,
    );
    const evictedAt = Date.now();
    const addedAt = Date.parse(tainted.timeAdded ?? '');
    assert.ok(evictedAt - addedAt >= 3000 - 1000, `evicted ${evictedAt - addedAt} ms after the taint`);
    if (brief !== 'gone') {
      const condition = brief.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
      assert.equal(condition?.reason, 'DeletionByTaintManager');
    }
    const events = await eventually(
      'the eviction Event',
      async () => {
        const list = await store!.list(K.event, { namespace: 'default' });
        const found = list.items.filter(
          (e) => (e as { reason?: string }).reason === 'TaintManagerEviction',
        ) as { message?: string; involvedObject?: { name?: string } }[];
        return found.length > 0 ? found : undefined;
      },
      30_000,
    );
    assert.ok(
      events.some((e) => e.message === 'Marking for deletion Pod default/brief'),
      JSON.stringify(events),
    );
    // a few seconds more: the others are untouched
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const name of ['steadfast', 'defaulted']) {
      const p: Pod = await store.get<Pod>(K.pod, 'default', name);
      assert.equal(p.metadata.deletionTimestamp, undefined, `${name} stays`);
    }
    assert.ok(events.every((e) => e.involvedObject?.name === 'brief'));
  });
});
