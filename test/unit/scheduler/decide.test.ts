import assert from 'node:assert/strict';
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  StorageClass,
  Toleration,
} from '../../../src/api/types.js';
import type { ScheduleDecision } from '../../../src/scheduler/decide.js';
import { decideSchedule } from '../../../src/scheduler/decide.js';
import { fitErrorMessage } from '../../../src/scheduler/reasons.js';
import type { StorageCapacity, ViewObjects } from '../../../src/scheduler/view.js';
import { viewOf } from '../../../src/scheduler/view.js';
import { newClaim, newClass, newVolume } from '../../helpers/builders.js';
import { newCsiDriver, newCsiNode, newNode, podWithClaims } from './fixtures.js';

const SELECTED = 'volume.kubernetes.io/selected-node';
const COMPLETED = 'pv.kubernetes.io/bind-completed';

const local = newClass('local', { bindingMode: 'WaitForFirstConsumer' });
const fast = (extra: Partial<StorageClass> = {}): StorageClass => ({
  ...newClass('fast', { bindingMode: 'WaitForFirstConsumer', provisioner: 'fast.csi.test' }),
  ...extra,
});
const immediate = newClass('std', { provisioner: 'std.csi.test' });

const twoNodes = [newNode('node-1'), newNode('node-2')];
const wffc = (name: string, request = '1Gi', className = 'local', annotations?: Record<string, string>) =>
  newClaim(name, request, { className, ...(annotations ? { annotations } : {}) });
const boundClaim = (name: string, volumeName: string): PersistentVolumeClaim =>
  newClaim(name, '1Gi', {
    className: 'local',
    volumeName,
    phase: 'Bound',
    annotations: { [COMPLETED]: 'yes' },
  });
const localPv = (
  name: string,
  size: string,
  node: string,
  extra: Partial<Parameters<typeof newVolume>[2]> = {},
) => newVolume(name, size, { className: 'local', phase: 'Available', node, source: 'local', ...extra });

function placed(d: ScheduleDecision): Extract<ScheduleDecision, { outcome: 'place' }> {
  assert.equal(d.outcome, 'place', JSON.stringify(d));
  return d;
}
function unschedulable(d: ScheduleDecision): Extract<ScheduleDecision, { outcome: 'unschedulable' }> {
  assert.equal(d.outcome, 'unschedulable', JSON.stringify(d));
  return d;
}
const actionSummary = (d: ScheduleDecision): string[] =>
  placed(d).actions.map((a) =>
    a.type === 'bindVolume'
      ? `bind ${a.volume.metadata.name ?? ''}->${a.claim.metadata.name ?? ''}`
      : `select ${a.node} for ${a.claim.metadata.name ?? ''}`,
  );

function decide(pod: ReturnType<typeof podWithClaims>, objects: ViewObjects): ScheduleDecision {
  return decideSchedule(pod, viewOf({ nodes: twoNodes, classes: [local], ...objects }));
}

describe('scheduler decideSchedule', function () {
  describe('static WaitForFirstConsumer volumes', function () {
    it('seed: pv-1 on node-1, pv-2 on node-2, pod allowed only on node-2 binds pv-2', function () {
      const d = decide(podWithClaims('app', ['data'], { hostnames: ['node-2'] }), {
        claims: [wffc('data')],
        volumes: [localPv('pv-1', '5Gi', 'node-1'), localPv('pv-2', '5Gi', 'node-2')],
      });
      assert.equal(placed(d).node, 'node-2');
      assert.deepEqual(actionSummary(d), ['bind pv-2->data']);
      assert.equal(placed(d).bindPod, false);
      assert.deepEqual(placed(d).waitingFor, ['data']);
    });

    it('picks the smallest volume that fits on the node', function () {
      const d = decide(
        podWithClaims('app', ['data'], { nodeSelector: { 'kubernetes.io/hostname': 'node-1' } }),
        {
          claims: [wffc('data', '3Gi')],
          volumes: [
            localPv('big', '10Gi', 'node-1'),
            localPv('small', '2Gi', 'node-1'),
            localPv('mid', '4Gi', 'node-1'),
          ],
        },
      );
      assert.deepEqual(actionSummary(d), ['bind mid->data']);
    });

    it('binds the smaller claim first so both claims of one pod fit', function () {
      const d = decide(podWithClaims('app', ['big', 'small']), {
        nodes: [newNode('node-1')],
        claims: [wffc('big', '5Gi'), wffc('small', '1Gi')],
        volumes: [localPv('pv-2g', '2Gi', 'node-1'), localPv('pv-6g', '6Gi', 'node-1')],
      });
      assert.deepEqual(actionSummary(d).sort(), ['bind pv-2g->small', 'bind pv-6g->big']);
    });

    it('a volume pre-bound by an earlier pass needs no write; the pod waits for the binder', function () {
      const claim = wffc('data');
      const pv = localPv('pv-2', '5Gi', 'node-2', { claim: { name: 'data', uid: 'uid-data' } });
      const d = decide(podWithClaims('app', ['data']), { claims: [claim], volumes: [pv] });
      assert.equal(placed(d).node, 'node-2');
      assert.deepEqual(placed(d).actions, []);
      assert.deepEqual(placed(d).waitingFor, ['data']);
    });

    it('volumes that are not Available, of another class, or too small are not candidates', function () {
      const d = decide(podWithClaims('app', ['data']), {
        claims: [wffc('data', '5Gi')],
        volumes: [
          newVolume('pending', '10Gi', { className: 'local', node: 'node-1' }),
          newVolume('other', '10Gi', { className: 'other', phase: 'Available', node: 'node-1' }),
          localPv('tiny', '1Gi', 'node-2'),
        ],
      });
      assert.equal(
        unschedulable(d).message,
        "0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind.",
      );
    });
  });

  describe('bound claims', function () {
    it('a bound local volume pins the pod to its node, which then gets spec.nodeName', function () {
      const d = decide(podWithClaims('app', ['data']), {
        claims: [boundClaim('data', 'pv-2')],
        volumes: [
          localPv('pv-2', '5Gi', 'node-2', { claim: { name: 'data', uid: 'uid-data' }, phase: 'Bound' }),
        ],
      });
      assert.equal(placed(d).node, 'node-2');
      assert.equal(placed(d).bindPod, true);
      assert.deepEqual(placed(d).actions, []);
    });

    it('the message of the issue: one node lacks a volume, the other conflicts with a bound one', function () {
      const d = decide(podWithClaims('app', ['a', 'b']), {
        claims: [boundClaim('a', 'pv-a'), wffc('b')],
        volumes: [
          localPv('pv-a', '1Gi', 'node-1', { claim: { name: 'a', uid: 'uid-a' }, phase: 'Bound' }),
          localPv('pv-b', '1Gi', 'node-2'),
        ],
      });
      assert.equal(
        unschedulable(d).message,
        "0/2 nodes are available: 1 node(s) didn't find available persistent volumes to bind, 1 node(s) had volume node affinity conflict.",
      );
    });

    it('a claim bound to a missing volume makes every node unavailable', function () {
      const d = decide(podWithClaims('app', ['a']), { claims: [boundClaim('a', 'gone')] });
      assert.match(
        unschedulable(d).message,
        /2 node\(s\) unavailable due to one or more pvc\(s\) bound to non-existent pv\(s\)/,
      );
    });
  });

  describe('dynamic provisioning', function () {
    it('selects a node the class allowedTopologies allow', function () {
      const cls = fast({ allowedTopologies: [{ matchLabelExpressions: [{ key: 'zone', values: ['b'] }] }] });
      const d = decideSchedule(
        podWithClaims('app', ['data']),
        viewOf({
          nodes: [newNode('node-1', { labels: { zone: 'a' } }), newNode('node-2', { labels: { zone: 'b' } })],
          classes: [cls],
          claims: [wffc('data', '1Gi', 'fast')],
        }),
      );
      assert.deepEqual(actionSummary(d), ['select node-2 for data']);
    });

    it('only nodes where the CSI driver runs and whose labels carry its topology keys', function () {
      const d = decideSchedule(
        podWithClaims('app', ['data']),
        viewOf({
          nodes: [newNode('node-1'), newNode('node-2'), newNode('node-3', { labels: { zone: 'c' } })],
          classes: [fast()],
          claims: [wffc('data', '1Gi', 'fast')],
          csiNodes: [
            newCsiNode('node-2', [{ name: 'fast.csi.test', topologyKeys: ['zone'] }]),
            newCsiNode('node-3', [{ name: 'fast.csi.test', topologyKeys: ['zone'] }]),
          ],
        }),
      );
      assert.deepEqual(actionSummary(d), ['select node-3 for data']);
    });

    it('checks published capacity when the driver asks for it', function () {
      const capacity = (node: string, size: string): StorageCapacity => ({
        metadata: { name: `cap-${node}` },
        storageClassName: 'fast',
        capacity: size,
        nodeTopology: { matchLabels: { 'kubernetes.io/hostname': node } },
      });
      const objects: ViewObjects = {
        nodes: twoNodes,
        classes: [fast()],
        claims: [wffc('data', '5Gi', 'fast')],
        csiDrivers: [newCsiDriver('fast.csi.test', { storageCapacity: true })],
      };
      const pod = podWithClaims('app', ['data']);
      const fits = decideSchedule(
        pod,
        viewOf({ ...objects, capacities: [capacity('node-1', '1Gi'), capacity('node-2', '10Gi')] }),
      );
      assert.deepEqual(actionSummary(fits), ['select node-2 for data']);
      const full = decideSchedule(pod, viewOf({ ...objects, capacities: [capacity('node-1', '1Gi')] }));
      assert.equal(
        unschedulable(full).message,
        '0/2 nodes are available: 2 node(s) did not have enough free storage.',
      );
      // Capacity not tracked at all: not checked.
      assert.deepEqual(actionSummary(decideSchedule(pod, viewOf(objects))), ['select node-1 for data']);
    });

    it('a static volume is preferred to provisioning on the chosen node', function () {
      const d = decide(podWithClaims('app', ['data'], { hostnames: ['node-1'] }), {
        classes: [fast()],
        claims: [wffc('data', '1Gi', 'fast')],
        volumes: [newVolume('pv-fast', '2Gi', { className: 'fast', phase: 'Available', node: 'node-1' })],
      });
      assert.deepEqual(actionSummary(d), ['bind pv-fast->data']);
    });

    it('no-provisioner classes without a fitting volume cannot be satisfied', function () {
      const d = decide(podWithClaims('app', ['data']), { claims: [wffc('data')] });
      assert.equal(d.outcome, 'unschedulable');
    });

    it('a claim with selected-node keeps the pod on that node while it is provisioned', function () {
      const d = decide(podWithClaims('app', ['data']), {
        classes: [fast()],
        claims: [wffc('data', '1Gi', 'fast', { [SELECTED]: 'node-2' })],
      });
      assert.equal(placed(d).node, 'node-2');
      assert.deepEqual(placed(d).actions, []);
      assert.equal(placed(d).bindPod, false);
    });

    it('once selected-node is removed (provisioning failed), any node is eligible again', function () {
      const d = decide(podWithClaims('app', ['data'], { hostnames: ['node-1'] }), {
        classes: [fast()],
        claims: [wffc('data', '1Gi', 'fast')],
      });
      assert.deepEqual(actionSummary(d), ['select node-1 for data']);
    });
  });

  describe('node filters and pre-filter', function () {
    it('counts not-ready, unschedulable and selector mismatches per node', function () {
      const d = decideSchedule(
        podWithClaims('app', [], { nodeSelector: { disk: 'ssd' } }),
        viewOf({
          nodes: [
            newNode('a', { ready: false, labels: { disk: 'ssd' } }),
            newNode('b', { unschedulable: true, labels: { disk: 'ssd' } }),
            newNode('c'),
            newNode('d'),
          ],
        }),
      );
      assert.equal(
        unschedulable(d).message,
        "0/4 nodes are available: 1 node(s) were not ready, 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector.",
      );
    });

    it('taints: NoSchedule and NoExecute block unless tolerated, PreferNoSchedule never does', function () {
      const nodes = [
        newNode('a', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] }),
        newNode('b', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] }),
        newNode('c', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
        newNode('d', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }], unschedulable: true }),
      ];
      const cases: { tolerations: Toleration[]; result: string }[] = [
        {
          tolerations: [],
          result:
            '0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable, 2 node(s) had untolerated taint {dedicated: db}.',
        },
        // Equal compares the value; an empty effect matches both NoSchedule and NoExecute.
        { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db' }], result: 'placed on b or c' },
        { tolerations: [{ key: 'dedicated', value: 'web' }], result: 'unschedulable' },
        // The effect must match when given: NoExecute tolerates node b only.
        {
          tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }],
          result: 'placed on b',
        },
        // A cordoned node takes pods that tolerate node.kubernetes.io/unschedulable.
        {
          tolerations: [
            { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
          ],
          result: 'placed on d',
        },
      ];
      for (const c of cases) {
        const pod = podWithClaims('app', []);
        pod.spec.tolerations = c.tolerations;
        const d = decideSchedule(pod, viewOf({ nodes }));
        const got =
          d.outcome === 'unschedulable'
            ? c.result.startsWith('0/')
              ? d.message
              : 'unschedulable'
            : `placed on ${placed(d).node}`;
        const want = c.result === 'placed on b or c' && /placed on [bc]/.test(got) ? got : c.result;
        assert.equal(got, want, JSON.stringify(c.tolerations));
      }
    });

    it('a pod without volumes goes to the node with the fewest pods', function () {
      const d = decideSchedule(
        podWithClaims('app', []),
        viewOf({ nodes: twoNodes, podCounts: { 'node-1': 3 } }),
      );
      assert.equal(placed(d).node, 'node-2');
      assert.equal(placed(d).bindPod, true);
    });

    it('waits for unbound immediate claims, missing claims and deleting claims', function () {
      const pod = podWithClaims('app', ['data']);
      const cases: [PersistentVolumeClaim[], string][] = [
        [
          [newClaim('data', '1Gi', { className: 'std' })],
          '0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
        ],
        [[], '0/2 nodes are available: persistentvolumeclaim "data" not found.'],
        [
          [newClaim('data', '1Gi', { className: 'local', deletionTimestamp: '2025-01-01T00:00:00Z' })],
          '0/2 nodes are available: persistentvolumeclaim "data" is being deleted.',
        ],
      ];
      for (const [claims, message] of cases) {
        const d = decideSchedule(pod, viewOf({ nodes: twoNodes, classes: [local, immediate], claims }));
        assert.equal(unschedulable(d).message, message);
      }
    });

    it('ignores pods it does not own, deleting pods and finished pods', function () {
      assert.equal(decide(podWithClaims('x', [], { schedulerName: 'other' }), {}).outcome, 'ignore');
      const deleting = podWithClaims('y', []);
      deleting.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
      assert.equal(decide(deleting, {}).outcome, 'ignore');
      const done = podWithClaims('z', []);
      done.status = { phase: 'Succeeded' };
      assert.equal(decide(done, {}).outcome, 'ignore');
    });

    it('no nodes at all', function () {
      assert.equal(fitErrorMessage(0, new Map()), 'no nodes available to schedule pods');
    });
  });

  describe('pods that arrive with spec.nodeName', function () {
    it('get their WaitForFirstConsumer claims provisioned on that node', function () {
      const d = decide(podWithClaims('app', ['data'], { nodeName: 'node-1' }), {
        classes: [fast()],
        claims: [wffc('data', '1Gi', 'fast')],
      });
      assert.deepEqual(actionSummary(d), ['select node-1 for data']);
      assert.equal(placed(d).bindPod, false);
    });

    it('get a static volume on that node, even when the node object is unknown', function () {
      const d = decideSchedule(
        podWithClaims('app', ['data'], { nodeName: 'edge-7' }),
        viewOf({ classes: [local], claims: [wffc('data')], volumes: [localPv('pv-edge', '5Gi', 'edge-7')] }),
      );
      assert.deepEqual(actionSummary(d), ['bind pv-edge->data']);
    });

    it('report when the assigned node cannot have the volume', function () {
      const d = decide(podWithClaims('app', ['data'], { nodeName: 'node-1' }), {
        claims: [wffc('data')],
        volumes: [localPv('pv-2', '5Gi', 'node-2')],
      });
      assert.match(
        unschedulable(d).message,
        /assigned node "node-1".*didn't find available persistent volumes/,
      );
    });

    it('are left alone once their claims are bound', function () {
      const volumes: PersistentVolume[] = [
        localPv('pv-1', '1Gi', 'node-1', { claim: { name: 'data' }, phase: 'Bound' }),
      ];
      const d = decide(podWithClaims('app', ['data'], { nodeName: 'node-1' }), {
        claims: [boundClaim('data', 'pv-1')],
        volumes,
      });
      assert.equal(d.outcome, 'ignore');
    });
  });
  describe('ReadWriteOncePod (VolumeRestrictions)', function () {
    const rwop = (modes: Array<'ReadWriteOncePod' | 'ReadWriteOnce'>) =>
      newClaim('data', '1Gi', {
        className: 'local',
        volumeName: 'pv-1',
        phase: 'Bound',
        accessModes: modes,
        annotations: { [COMPLETED]: 'yes' },
      });
    const pv = localPv('pv-1', '1Gi', 'node-1', { claim: { name: 'data', uid: 'uid-data' } });
    const running = (): ReturnType<typeof podWithClaims> => {
      const p = podWithClaims('first', ['data'], { nodeName: 'node-1' });
      p.metadata.uid = 'uid-first';
      return p;
    };
    const second = (): ReturnType<typeof podWithClaims> => {
      const p = podWithClaims('second', ['data']);
      p.metadata.uid = 'uid-second';
      return p;
    };

    it('refuses a second pod of a ReadWriteOncePod claim on every node, with the upstream reason', function () {
      const d = unschedulable(
        decide(second(), { claims: [rwop(['ReadWriteOncePod'])], volumes: [pv], pods: [running()] }),
      );
      assert.equal(
        d.message,
        '0/2 nodes are available: 2 node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode.',
      );
    });

    it('admits the pod once the other pod has terminated', function () {
      const done = running();
      done.status = { phase: 'Succeeded' };
      const d = decide(second(), { claims: [rwop(['ReadWriteOncePod'])], volumes: [pv], pods: [done] });
      assert.equal(placed(d).node, 'node-1');
    });

    it('does not count the pod itself, or pods of a ReadWriteOnce claim', function () {
      const self = second();
      delete self.spec.nodeName;
      assert.equal(
        decide(self, { claims: [rwop(['ReadWriteOncePod'])], volumes: [pv], pods: [self] }).outcome,
        'place',
      );
      assert.equal(
        decide(second(), { claims: [rwop(['ReadWriteOnce'])], volumes: [pv], pods: [running()] }).outcome,
        'place',
      );
    });
  });
});
