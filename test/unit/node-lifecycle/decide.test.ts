// Table tests of the node lifecycle decision (PURE): when a node's heartbeat is overdue, and which
// conditions and taints follow.
import assert from 'node:assert/strict';
import type { Lease, Node } from '../../../src/api/types.js';
import { decideNode, observeNode, type NodeProbe } from '../../../src/node-lifecycle/index.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const timing = { gracePeriodMs: 40_000, startupGracePeriodMs: 60_000 };

function node(ready: 'True' | 'False' | 'Unknown' | undefined, taints?: unknown[]): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', creationTimestamp: '2026-03-01T11:00:00Z' },
    spec: taints ? { taints } : {},
    status: {
      conditions: ready
        ? [
            {
              type: 'Ready',
              status: ready,
              reason: 'KubeletReady',
              lastHeartbeatTime: '2026-03-01T11:59:00Z',
              lastTransitionTime: '2026-03-01T11:00:00Z',
            } as { type: string; status: string },
          ]
        : [],
    },
  };
}

function lease(renewTime: string): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'n1', namespace: 'kube-node-lease' },
    spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime },
  };
}

function summary(d: ReturnType<typeof decideNode>): string[] {
  return d.actions.map((a) =>
    a.kind === 'SetConditions'
      ? `conditions ${a.conditions.map((c) => `${c.type}=${c.status}/${c.reason ?? ''}`).join(',')}`
      : `taints ${a.taints.map((t) => `${t.key}:${t.effect}`).join(',')}`,
  );
}

describe('node lifecycle: observeNode', function () {
  it('starts the probe at first sight, on the controller clock', function () {
    assert.equal(observeNode(undefined, node('True'), lease('a'), T0).probeAtMs, T0);
  });
  it('moves the probe when the lease is renewed or the heartbeat changes, not otherwise', function () {
    const first = observeNode(undefined, node('True'), lease('a'), T0);
    assert.equal(observeNode(first, node('True'), lease('a'), T0 + 5000).probeAtMs, T0);
    assert.equal(observeNode(first, node('True'), lease('b'), T0 + 5000).probeAtMs, T0 + 5000);
    const moved = node('True');
    (moved.status!.conditions![0] as { lastHeartbeatTime: string }).lastHeartbeatTime = 'later';
    assert.equal(observeNode(first, moved, lease('a'), T0 + 7000).probeAtMs, T0 + 7000);
  });
  it('a lease that disappears counts as a change (then runs out)', function () {
    const first = observeNode(undefined, node('True'), lease('a'), T0);
    assert.equal(observeNode(first, node('True'), undefined, T0 + 1).probeAtMs, T0 + 1);
  });
});

describe('node lifecycle: decideNode (table)', function () {
  const probe = (atMs: number, renew = 'a'): NodeProbe => ({
    heartbeat: '2026-03-01T11:59:00Z',
    leaseRenew: renew,
    probeAtMs: atMs,
  });
  const cases: {
    name: string;
    node: Node;
    previous: NodeProbe | undefined;
    lease?: Lease;
    nowMs: number;
    want: string[];
    recheck?: number | undefined;
  }[] = [
    {
      name: 'a fresh heartbeat: nothing to do, look again when the grace period would end',
      node: node('True'),
      previous: probe(T0),
      lease: lease('a'),
      nowMs: T0 + 10_000,
      want: [],
      recheck: 30_001,
    },
    {
      name: 'exactly at the grace period: not yet',
      node: node('True'),
      previous: probe(T0),
      lease: lease('a'),
      nowMs: T0 + 40_000,
      want: [],
      recheck: 1,
    },
    {
      name: 'overdue: Ready Unknown (NodeStatusUnknown) and the unreachable taints',
      node: node('True'),
      previous: probe(T0),
      lease: lease('a'),
      nowMs: T0 + 40_001,
      want: [
        'conditions Ready=Unknown/NodeStatusUnknown',
        'taints node.kubernetes.io/unreachable:NoSchedule,node.kubernetes.io/unreachable:NoExecute',
      ],
      recheck: undefined,
    },
    {
      name: 'already Unknown and tainted: nothing more',
      node: node('Unknown', [
        { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: 'x' },
      ]),
      previous: probe(T0),
      lease: lease('a'),
      nowMs: T0 + 100_000,
      want: [],
    },
    {
      name: 'a renewed lease after the outage does not by itself clear Unknown (the agent posts Ready)',
      node: node('Unknown', [
        { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
      ]),
      previous: probe(T0),
      lease: lease('b'),
      nowMs: T0 + 100_000,
      want: [],
      recheck: 40_001,
    },
    {
      name: 'recovered: Ready True again removes the unreachable taints, keeps the others',
      node: node('True', [
        { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
        { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
      ]),
      previous: probe(T0),
      lease: lease('b'),
      nowMs: T0 + 100_000,
      want: ['taints dedicated:NoSchedule'],
      recheck: 40_001,
    },
    {
      name: 'Ready False (posted by the node): the not-ready taints',
      node: node('False'),
      previous: probe(T0),
      lease: lease('a'),
      nowMs: T0 + 1000,
      want: ['taints node.kubernetes.io/not-ready:NoSchedule,node.kubernetes.io/not-ready:NoExecute'],
      recheck: 39_001,
    },
    {
      name: 'a node that never posted Ready gets the startup grace period',
      node: node(undefined),
      previous: { heartbeat: undefined, leaseRenew: undefined, probeAtMs: T0 },
      nowMs: T0 + 50_000,
      want: [],
      recheck: 10_001,
    },
    {
      name: 'a node that never posted Ready, past the startup grace: NodeStatusNeverUpdated',
      node: node(undefined),
      previous: { heartbeat: undefined, leaseRenew: undefined, probeAtMs: T0 },
      nowMs: T0 + 60_001,
      want: [
        'conditions Ready=Unknown/NodeStatusNeverUpdated',
        'taints node.kubernetes.io/unreachable:NoSchedule,node.kubernetes.io/unreachable:NoExecute',
      ],
    },
    {
      name: 'a new controller gives every node a full grace period from its first look',
      node: node('True'),
      previous: undefined,
      lease: lease('old'),
      nowMs: T0 + 3_600_000,
      want: [],
      recheck: 40_001,
    },
  ];
  for (const tc of cases) {
    it(tc.name, function () {
      const d = decideNode(tc.node, tc.lease, tc.previous, new Date(tc.nowMs), timing);
      assert.deepEqual(summary(d), tc.want);
      if ('recheck' in tc) assert.equal(d.recheckAfterMs, tc.recheck);
    });
  }

  it('keeps the Ready heartbeat time and stamps the transition; NoExecute taint gets timeAdded', function () {
    const d = decideNode(node('True'), lease('a'), probe(T0), new Date(T0 + 50_000), timing);
    const set = d.actions[0];
    assert.equal(set?.kind, 'SetConditions');
    const ready = set.kind === 'SetConditions' ? set.conditions[0] : undefined;
    assert.equal(ready?.lastHeartbeatTime, '2026-03-01T11:59:00Z');
    assert.equal(ready?.lastTransitionTime, '2026-03-01T12:00:50Z');
    assert.equal(ready?.message, 'Kubelet stopped posting node status.');
    const taints = d.actions[1];
    assert.ok(taints?.kind === 'SetTaints');
    assert.equal(taints.taints.find((t) => t.effect === 'NoExecute')?.timeAdded, '2026-03-01T12:00:50Z');
    assert.equal(taints.taints.find((t) => t.effect === 'NoSchedule')?.timeAdded, undefined);
  });

  it('other watched conditions go Unknown too; unrelated ones are left', function () {
    const n = node('True');
    n.status!.conditions!.push(
      { type: 'DiskPressure', status: 'False' },
      { type: 'NetworkUnavailable', status: 'False' },
    );
    const d = decideNode(n, lease('a'), probe(T0), new Date(T0 + 50_000), timing);
    assert.deepEqual(
      summary(d)[0],
      'conditions Ready=Unknown/NodeStatusUnknown,DiskPressure=Unknown/NodeStatusUnknown,NetworkUnavailable=False/',
    );
  });

  it('hostile node input: entries that are not objects are skipped', function () {
    const n = node('True', [null, 7, 'x', { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]);
    n.status!.conditions!.push(null as never);
    const d = decideNode(n, lease('a'), probe(T0), new Date(T0 + 50_000), timing);
    assert.deepEqual(summary(d), [
      'conditions Ready=Unknown/NodeStatusUnknown',
      'taints node.kubernetes.io/unreachable:NoSchedule,node.kubernetes.io/unreachable:NoExecute',
    ]);
  });

  it('hostile node input: conditions or taints not arrays are read as none', function () {
    const n = node('True');
    (n.status as { conditions: unknown }).conditions = 'garbage';
    (n as { spec: unknown }).spec = { taints: { key: 'x' } };
    const d = decideNode(n, undefined, undefined, new Date(T0), timing);
    assert.deepEqual(summary(d), []);
  });
});
