import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/types.js';
import type { ReplicaSet } from '../../../src/api/workload-types.js';
import { decideReplicaSet } from '../../../src/workloads/replicaset-decide.js';
import { deletionOrder } from '../../../src/workloads/owned-pods.js';

const now = new Date('2025-05-01T12:00:00Z');

function set(replicas: unknown): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-abc', namespace: 'default', uid: 'rs-1', generation: 2 },
    spec: {
      replicas: replicas as number,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c' }] } },
    },
  };
}

function pod(
  name: string,
  options: { phase?: string; ready?: boolean; node?: string; owner?: string; created?: string } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: { app: 'web' },
      creationTimestamp: options.created ?? '2025-05-01T11:00:00Z',
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-abc',
          uid: options.owner ?? 'rs-1',
          controller: true,
        },
      ],
    },
    spec: { containers: [{ name: 'c' }], ...(options.node ? { nodeName: options.node } : {}) },
    status: {
      phase: (options.phase ?? 'Running') as 'Running',
      conditions: [
        {
          type: 'Ready',
          status: options.ready === false ? 'False' : 'True',
          lastTransitionTime: '2025-05-01T11:30:00Z',
        },
      ],
    },
  };
}

describe('workloads decideReplicaSet', function () {
  it('creates the missing pods from the template, controller-owned, named after the set', function () {
    const plan = decideReplicaSet({ set: set(3), pods: [pod('web-abc-1')], now });
    const creates = plan.actions.filter((a) => a.type === 'create');
    assert.equal(creates.length, 2);
    const created = creates[0]?.object;
    assert.equal(created?.metadata.generateName, 'web-abc-');
    assert.deepEqual(created?.metadata.labels, { app: 'web' });
    assert.deepEqual(created?.metadata.ownerReferences, [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'web-abc',
        uid: 'rs-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(creates[0]?.event?.message('web-abc-x1'), 'Created pod: web-abc-x1');
  });

  it('ignores pods another controller owns, finished pods and pods being deleted', function () {
    const other = pod('other', { owner: 'rs-2' });
    const done = pod('done', { phase: 'Succeeded' });
    const going = {
      ...pod('going'),
      metadata: { ...pod('going').metadata, deletionTimestamp: '2025-05-01T11:59:00Z' },
    };
    const plan = decideReplicaSet({ set: set(1), pods: [other, done, going], now });
    assert.equal(plan.actions.filter((a) => a.type === 'create').length, 1);
  });

  it('deletes surplus pods: unscheduled, then pending, then not ready, then newest', function () {
    const pods = [
      pod('ready-old', { node: 'n1', created: '2025-05-01T10:00:00Z' }),
      pod('ready-new', { node: 'n1', created: '2025-05-01T11:00:00Z' }),
      pod('unready', { node: 'n1', ready: false }),
      pod('pending', { node: 'n1', phase: 'Pending', ready: false }),
      pod('unscheduled', { phase: 'Pending', ready: false }),
    ];
    assert.deepEqual(
      deletionOrder(pods).map((p) => p.metadata.name),
      ['unscheduled', 'pending', 'unready', 'ready-new', 'ready-old'],
    );
    const plan = decideReplicaSet({ set: set(2), pods, now });
    assert.deepEqual(
      plan.actions.filter((a) => a.type === 'delete').map((a) => a.object.metadata.name),
      ['unscheduled', 'pending', 'unready'],
    );
  });

  it('reports status as observed and writes it only when it changed', function () {
    const pods = [pod('a', { node: 'n1' }), pod('b', { node: 'n1', ready: false })];
    const plan = decideReplicaSet({ set: set(2), pods, now });
    const status = plan.actions.find((a) => a.type === 'status');
    assert.deepEqual(status?.type === 'status' && status.status, {
      replicas: 2,
      fullyLabeledReplicas: 2,
      readyReplicas: 1,
      availableReplicas: 1,
      observedGeneration: 2,
    });
    const again = { ...set(2), status: status?.type === 'status' ? status.status : {} };
    assert.deepEqual(decideReplicaSet({ set: again, pods, now }).actions, []);
  });

  it('treats a hostile replicas value as the default (1), never as a huge or negative count', function () {
    for (const bad of [-1, 1e12, 'three', null, 2.5]) {
      const plan = decideReplicaSet({ set: set(bad), pods: [], now });
      assert.equal(plan.actions.filter((a) => a.type === 'create').length, 1, String(bad));
    }
  });

  it('a large scale-up creates at most 500 pods per sync', function () {
    const plan = decideReplicaSet({ set: set(2000), pods: [], now });
    assert.equal(plan.actions.filter((a) => a.type === 'create').length, 500);
  });

  it('waits for minReadySeconds before counting a ready pod available', function () {
    const s = set(1);
    s.spec.minReadySeconds = 3600;
    const plan = decideReplicaSet({ set: s, pods: [pod('a', { node: 'n1' })], now });
    const status = plan.actions.find((a) => a.type === 'status');
    assert.equal(status?.type === 'status' && status.status['availableReplicas'], 0);
    assert.ok((plan.requeueAfterMs ?? 0) > 0);
  });
});
