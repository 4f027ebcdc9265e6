import assert from 'node:assert/strict';
import type { PersistentVolumeClaim, Pod, StatefulSet } from '../../../src/api/types.js';
import type { StatefulSetAction } from '../../../src/workloads/decide.js';
import { decideStatefulSet } from '../../../src/workloads/decide.js';
import { buildClaims, buildPod, ordinalOf } from '../../../src/workloads/identity.js';

function web(spec: Partial<StatefulSet['spec']> = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web', generation: 1 },
    spec: {
      replicas: 3,
      serviceName: 'nginx',
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: {
          containers: [
            { name: 'nginx', volumeMounts: [{ name: 'www', mountPath: '/usr/share/nginx/html' }] },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'www' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...spec,
    },
  };
}

function pod(
  set: StatefulSet,
  ordinal: number,
  phase?: 'Running' | 'Pending' | 'Failed',
  deleting = false,
): Pod {
  const p = buildPod(set, ordinal);
  p.metadata.uid = `uid-pod-${ordinal}`;
  if (phase) p.status = { phase };
  if (deleting) p.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
  return p;
}

function claims(set: StatefulSet, ...ordinals: number[]): PersistentVolumeClaim[] {
  return ordinals.flatMap((o) =>
    buildClaims(set, o).map((c) => ({
      ...c,
      metadata: { ...c.metadata, uid: `uid-${c.metadata.name ?? ''}` },
    })),
  );
}

/** Actions as short strings, status left out unless asked. */
function summary(actions: StatefulSetAction[], withStatus = false): string[] {
  return actions.flatMap((a) => {
    switch (a.type) {
      case 'createClaim':
        return [`createClaim ${a.claim.metadata.name ?? ''}`];
      case 'createPod':
        return [`createPod ${a.pod.metadata.name ?? ''}`];
      case 'deletePod':
        return [`deletePod ${a.pod.metadata.name ?? ''} (${a.why})`];
      case 'deleteClaim':
        return [`deleteClaim ${a.claim.metadata.name ?? ''}`];
      case 'updateClaim':
        return [`updateClaim ${a.claim.metadata.name ?? ''}`];
      case 'updateStatus':
        return withStatus
          ? [`status ${a.status.replicas}/${a.status.readyReplicas}/${a.status.currentReplicas}`]
          : [];
    }
  });
}

describe('statefulset decideStatefulSet', function () {
  const set = web();

  const table: {
    name: string;
    set?: StatefulSet;
    pods: Pod[];
    claims: PersistentVolumeClaim[];
    want: string[];
  }[] = [
    {
      name: 'a new set creates ordinal 0 and its claim first',
      pods: [],
      claims: [],
      want: ['createClaim www-web-0', 'createPod web-0'],
    },
    {
      name: 'OrderedReady waits while web-0 is not Running',
      pods: [pod(set, 0, 'Pending')],
      claims: claims(set, 0),
      want: [],
    },
    {
      name: 'web-1 follows once web-0 is Running',
      pods: [pod(set, 0, 'Running')],
      claims: claims(set, 0),
      want: ['createClaim www-web-1', 'createPod web-1'],
    },
    {
      name: 'Parallel creates every ordinal at once',
      set: web({ podManagementPolicy: 'Parallel' }),
      pods: [],
      claims: [],
      want: [
        'createClaim www-web-0',
        'createPod web-0',
        'createClaim www-web-1',
        'createPod web-1',
        'createClaim www-web-2',
        'createPod web-2',
      ],
    },
    {
      name: 'a deleted pod is recreated with its existing claim',
      pods: [pod(set, 0, 'Running'), pod(set, 2, 'Running')],
      claims: claims(set, 0, 1, 2),
      want: ['createPod web-1'],
    },
    {
      name: 'scale down removes the highest ordinal first and keeps claims',
      set: web({ replicas: 1 }),
      pods: [pod(set, 0, 'Running'), pod(set, 1, 'Running'), pod(set, 2, 'Running')],
      claims: claims(set, 0, 1, 2),
      want: ['deletePod web-2 (scaleDown)'],
    },
    {
      name: 'scale down waits for the terminating pod',
      set: web({ replicas: 1 }),
      pods: [pod(set, 0, 'Running'), pod(set, 1, 'Running'), pod(set, 2, 'Running', true)],
      claims: claims(set, 0, 1, 2),
      want: [],
    },
    {
      name: 'Parallel scale down deletes every condemned pod',
      set: web({ replicas: 1, podManagementPolicy: 'Parallel' }),
      pods: [pod(set, 0, 'Running'), pod(set, 1, 'Running'), pod(set, 2, 'Pending')],
      claims: claims(set, 0, 1, 2),
      want: ['deletePod web-2 (scaleDown)', 'deletePod web-1 (scaleDown)'],
    },
    {
      name: 'whenScaled: Delete removes the claims of ordinals whose pods are gone',
      set: web({ replicas: 1, persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete' } }),
      pods: [pod(set, 0, 'Running'), pod(set, 2, 'Running', true)],
      claims: claims(set, 0, 1, 2),
      want: ['deleteClaim www-web-1'],
    },
    {
      name: 'a failed pod is deleted to be recreated',
      pods: [pod(set, 0, 'Failed')],
      claims: claims(set, 0),
      want: ['deletePod web-0 (failed)'],
    },
    {
      name: 'a missing claim of a live pod is recreated',
      pods: [pod(set, 0, 'Pending')],
      claims: [],
      want: ['createClaim www-web-0'],
    },
    {
      name: 'whenDeleted: Delete gives existing claims the set as owner',
      set: web({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' } }),
      pods: [pod(set, 0, 'Pending')],
      claims: claims(set, 0),
      want: ['updateClaim www-web-0'],
    },
    {
      name: 'pods the set does not control are not its',
      pods: [{ ...pod(set, 0, 'Running'), metadata: { ...pod(set, 0).metadata, ownerReferences: [] } }],
      claims: claims(set, 0),
      want: ['createPod web-0'],
    },
  ];
  for (const row of table) {
    it(row.name, function () {
      const actions = decideStatefulSet({ set: row.set ?? set, pods: row.pods, claims: row.claims });
      assert.deepEqual(summary(actions), row.want);
    });
  }

  it('a deleting set is left to the garbage collector', function () {
    const deleting = web();
    deleting.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    assert.deepEqual(decideStatefulSet({ set: deleting, pods: [], claims: [] }), []);
  });

  it('status counts pods, ready pods and pods in range; unchanged status is not written', function () {
    const scaled = web({ replicas: 2 });
    const pods = [pod(set, 0, 'Running'), pod(set, 1, 'Pending'), pod(set, 2, 'Running')];
    const actions = decideStatefulSet({ set: scaled, pods, claims: claims(set, 0, 1, 2) });
    const status = actions.find((a) => a.type === 'updateStatus');
    assert.ok(status && status.type === 'updateStatus');
    assert.deepEqual(status.status, {
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: 2,
      currentReplicas: 2,
      updatedReplicas: 2,
      availableReplicas: 2,
    });
    const again = decideStatefulSet({
      set: { ...scaled, status: status.status },
      pods,
      claims: claims(set, 0, 1, 2),
    });
    assert.equal(again.filter((a) => a.type === 'updateStatus').length, 0);
  });

  it('claims carry the selector labels and an owner only when whenDeleted is Delete', function () {
    const [kept] = buildClaims(web(), 1);
    assert.equal(kept?.metadata.name, 'www-web-1');
    assert.deepEqual(kept?.metadata.labels, { app: 'nginx' });
    assert.equal(kept?.metadata.ownerReferences, undefined);
    const [owned] = buildClaims(web({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' } }), 1);
    assert.deepEqual(owned?.metadata.ownerReferences, [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-web' },
    ]);
  });

  it('pods get their identity and a volume per claim template', function () {
    const withVolume = web();
    withVolume.spec.template.spec.volumes = [
      { name: 'www', emptyDir: {} },
      { name: 'config', emptyDir: {} },
    ];
    const p = buildPod(withVolume, 2);
    assert.equal(p.metadata.name, 'web-2');
    assert.equal(p.spec['hostname'], 'web-2');
    assert.equal(p.spec['subdomain'], 'nginx');
    assert.equal(p.metadata.labels?.['statefulset.kubernetes.io/pod-name'], 'web-2');
    assert.deepEqual(p.spec.volumes, [
      { name: 'config', emptyDir: {} },
      { name: 'www', persistentVolumeClaim: { claimName: 'www-web-2' } },
    ]);
    assert.deepEqual(p.metadata.ownerReferences?.[0]?.controller, true);
  });

  it('ordinals parse only from the set name and a canonical number', function () {
    assert.equal(ordinalOf(set, 'web-12'), 12);
    assert.equal(ordinalOf(set, 'web-01'), undefined);
    assert.equal(ordinalOf(set, 'webby-1'), undefined);
    assert.equal(ordinalOf(set, 'web-x'), undefined);
  });
});
