import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/types.js';
import type { Deployment, ReplicaSet } from '../../../src/api/workload-types.js';
import {
  ANNOTATION_REVISION,
  decideDeployment,
  rollingLimits,
} from '../../../src/workloads/deployment-decide.js';
import { safeEncode, templateHash } from '../../../src/workloads/template-hash.js';
import type { WorkloadAction } from '../../../src/workloads/workload-actions.js';

const now = new Date('2025-05-01T12:00:00Z');

function deployment(
  replicas: number,
  image = 'nginx:1',
  strategy?: Deployment['spec']['strategy'],
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd-1', generation: 3 },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } },
      ...(strategy ? { strategy } : {}),
    },
  };
}

/** The set the decision created, as the store would return it, with a status. */
function asStored(
  action: WorkloadAction | undefined,
  uid: string,
  status: { replicas: number; available: number },
  created: string,
): ReplicaSet {
  assert.ok(action && (action.type === 'create' || action.type === 'update'));
  const rs = structuredClone(action.object) as ReplicaSet;
  rs.metadata.uid = uid;
  rs.metadata.creationTimestamp = created;
  rs.status = {
    replicas: status.replicas,
    readyReplicas: status.available,
    availableReplicas: status.available,
  };
  return rs;
}

function scaled(actions: WorkloadAction[]): Record<string, number | undefined> {
  return Object.fromEntries(
    actions
      .filter((a) => a.type === 'update' || a.type === 'create')
      .map((a) => [a.object.metadata.name, (a.object as ReplicaSet).spec.replicas]),
  );
}

describe('workloads decideDeployment', function () {
  it('limits: 25% surge rounds up, 25% unavailable rounds down; both 0 means 1 unavailable', function () {
    assert.deepEqual(rollingLimits(deployment(10), 10), { surge: 3, unavailable: 2 });
    assert.deepEqual(rollingLimits(deployment(1), 1), { surge: 1, unavailable: 0 });
    const zero = deployment(4, 'x', {
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' },
    });
    assert.deepEqual(rollingLimits(zero, 4), { surge: 0, unavailable: 1 });
    const hostile = deployment(4, 'x', { rollingUpdate: { maxSurge: '1e9%', maxUnavailable: -3 } });
    assert.deepEqual(rollingLimits(hostile, 4), { surge: 1, unavailable: 1 }, 'bad values fall back to 25%');
  });

  it('creates the new ReplicaSet "<name>-<hash>" with the hash label, owner and revision 1', function () {
    const plan = decideDeployment({ deployment: deployment(2), replicaSets: [], pods: [], now });
    const create = plan.actions.find((a) => a.type === 'create');
    assert.ok(create?.type === 'create');
    const rs = create.object as ReplicaSet;
    const hash = templateHash(deployment(2).spec.template);
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.equal(rs.spec.replicas, 2);
    assert.deepEqual(rs.spec.selector.matchLabels, { app: 'web', 'pod-template-hash': hash });
    assert.deepEqual(rs.spec.template.metadata?.labels, { app: 'web', 'pod-template-hash': hash });
    assert.equal(rs.metadata.annotations?.[ANNOTATION_REVISION], '1');
    assert.equal(rs.metadata.ownerReferences?.[0]?.controller, true);
    assert.equal(
      create.event?.message(rs.metadata.name ?? ''),
      `Scaled up replica set web-${hash} from 0 to 2`,
    );
    const status = plan.actions.find((a) => a.type === 'status');
    const conditions =
      status?.type === 'status' ? (status.status['conditions'] as { type: string; reason: string }[]) : [];
    assert.deepEqual(
      conditions.map((c) => `${c.type}:${c.reason}`),
      ['Available:MinimumReplicasUnavailable', 'Progressing:NewReplicaSetCreated'],
    );
  });

  it('safeEncode spells digits as Kubernetes does (no vowels, no look-alikes)', function () {
    assert.equal(safeEncode('0123456789'), '456789bcdf');
  });

  it('rolls a new template out within maxSurge/maxUnavailable, step by step, to completion', function () {
    const v1 = decideDeployment({ deployment: deployment(4), replicaSets: [], pods: [], now });
    let old = asStored(
      v1.actions.find((a) => a.type === 'create'),
      'rs-old',
      { replicas: 4, available: 4 },
      '2025-05-01T10:00:00Z',
    );
    const d2 = deployment(4, 'nginx:2');
    // surge 1: the new set starts at 1 (5 pods at most)
    const step1 = decideDeployment({ deployment: d2, replicaSets: [old], pods: [], now });
    const created = step1.actions.find((a) => a.type === 'create');
    assert.equal((created?.object as ReplicaSet).spec.replicas, 1);
    assert.equal((created?.object as ReplicaSet).metadata.annotations?.[ANNOTATION_REVISION], '2');
    let fresh = asStored(created, 'rs-new', { replicas: 1, available: 0 }, '2025-05-01T11:00:00Z');
    // total 5 = 4 + surge: no scale-up; 1 may be unavailable and the new pod is not yet: old goes to 3? no: 5-3-1 = 1
    const step2 = decideDeployment({ deployment: d2, replicaSets: [old, fresh], pods: [], now });
    assert.deepEqual(scaled(step2.actions), { [old.metadata.name ?? '']: 3 });
    old = { ...old, spec: { ...old.spec, replicas: 3 }, status: { replicas: 3, availableReplicas: 3 } };
    fresh = { ...fresh, status: { replicas: 1, availableReplicas: 1 } };
    const step3 = decideDeployment({ deployment: d2, replicaSets: [old, fresh], pods: [], now });
    assert.deepEqual(scaled(step3.actions), { [fresh.metadata.name ?? '']: 2 });
    fresh = { ...fresh, spec: { ...fresh.spec, replicas: 4 }, status: { replicas: 4, availableReplicas: 4 } };
    const step4 = decideDeployment({ deployment: d2, replicaSets: [old, fresh], pods: [], now });
    assert.deepEqual(scaled(step4.actions), { [old.metadata.name ?? '']: 0 });
    old = { ...old, spec: { ...old.spec, replicas: 0 }, status: { replicas: 0, availableReplicas: 0 } };
    const done = decideDeployment({ deployment: d2, replicaSets: [old, fresh], pods: [], now });
    const status = done.actions.find((a) => a.type === 'status');
    assert.ok(status?.type === 'status');
    assert.equal(status.status['updatedReplicas'], 4);
    assert.equal(status.status['availableReplicas'], 4);
    const progressing = (status.status['conditions'] as { type: string; reason: string }[]).find(
      (c) => c.type === 'Progressing',
    );
    assert.equal(progressing?.reason, 'NewReplicaSetAvailable');
  });

  it('Recreate: old sets go to 0, and the new one is made only once their pods are gone', function () {
    const recreate = { type: 'Recreate' as const };
    const v1 = decideDeployment({ deployment: deployment(1, 'a', recreate), replicaSets: [], pods: [], now });
    let old = asStored(
      v1.actions.find((a) => a.type === 'create'),
      'rs-old',
      { replicas: 1, available: 1 },
      '2025-05-01T10:00:00Z',
    );
    const d2 = deployment(1, 'b', recreate);
    const down = decideDeployment({ deployment: d2, replicaSets: [old], pods: [], now });
    assert.deepEqual(scaled(down.actions), { [old.metadata.name ?? '']: 0 });
    old = { ...old, spec: { ...old.spec, replicas: 0 } };
    const oldPod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'default',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: 'rs-old', controller: true },
        ],
      },
      spec: { containers: [] },
    } as Pod;
    const waiting = decideDeployment({ deployment: d2, replicaSets: [old], pods: [oldPod], now });
    assert.equal(
      waiting.actions.filter((a) => a.type === 'create').length,
      0,
      'waits: the old pod still holds its volume',
    );
    const up = decideDeployment({ deployment: d2, replicaSets: [old], pods: [], now });
    assert.equal((up.actions.find((a) => a.type === 'create')?.object as ReplicaSet).spec.replicas, 1);
  });

  it('scaling without a template change resizes the new set; old empty sets beyond the history limit go', function () {
    const v1 = decideDeployment({ deployment: deployment(1), replicaSets: [], pods: [], now });
    const current = asStored(
      v1.actions.find((a) => a.type === 'create'),
      'rs-1',
      { replicas: 1, available: 1 },
      '2025-05-01T10:00:00Z',
    );
    assert.deepEqual(
      scaled(decideDeployment({ deployment: deployment(3), replicaSets: [current], pods: [], now }).actions),
      {
        [current.metadata.name ?? '']: 3,
      },
    );
    const d = deployment(1);
    d.spec.revisionHistoryLimit = 0;
    const idle: ReplicaSet = {
      ...current,
      metadata: { ...current.metadata, name: 'web-old', uid: 'rs-0' },
      spec: { ...current.spec, replicas: 0, template: { spec: { containers: [] } } },
      status: { replicas: 0 },
    };
    const plan = decideDeployment({ deployment: d, replicaSets: [current, idle], pods: [], now });
    assert.deepEqual(
      plan.actions.filter((a) => a.type === 'delete').map((a) => a.object.metadata.name),
      ['web-old'],
    );
  });

  it('a name taken by a set with another template bumps collisionCount', function () {
    const hash = templateHash(deployment(1).spec.template);
    const squatter: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `web-${hash}`, namespace: 'default', uid: 'x' },
      spec: { selector: {}, template: { spec: { containers: [] } } },
    };
    const plan = decideDeployment({ deployment: deployment(1), replicaSets: [squatter], pods: [], now });
    assert.deepEqual(
      plan.actions.map((a) => a.type),
      ['status'],
    );
    assert.equal(plan.actions[0]?.type === 'status' && plan.actions[0].status['collisionCount'], 1);
  });
});
