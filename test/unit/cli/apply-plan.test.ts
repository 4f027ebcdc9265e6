import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/meta.js';
import {
  LAST_APPLIED_ANNOTATION,
  containedIn,
  objectToCreate,
  planApply,
} from '../../../src/cli/apply-plan.js';

function claim(spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'c', namespace: 'default', ...(labels ? { labels } : {}) },
    spec,
  };
}

/** What the server would hold after `apply` created the manifest, plus server-set fields. */
function liveFrom(manifest: KubeObject, extra: Record<string, unknown> = {}): KubeObject {
  const created = objectToCreate(manifest);
  return {
    ...created,
    metadata: {
      ...created.metadata,
      uid: 'u1',
      resourceVersion: '7',
      creationTimestamp: '2025-01-01T00:00:00Z',
    },
    spec: { ...(created['spec'] as object), volumeMode: 'Filesystem', ...extra },
    status: { phase: 'Pending' },
  };
}

describe('cli apply plan', () => {
  const base = claim(
    { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    { app: 'a' },
  );

  it('reports unchanged when every manifest field equals the live object', () => {
    assert.equal(planApply(base, liveFrom(base)), undefined);
  });

  it('ignores status and server-owned metadata in the manifest', () => {
    const withExtras: KubeObject = {
      ...base,
      metadata: { ...base.metadata, resourceVersion: '1', uid: 'x' },
      status: { phase: 'Bound' },
    };
    assert.equal(planApply(withExtras, liveFrom(base)), undefined);
  });

  it('treats equal quantities and numbers-as-text as unchanged', () => {
    const live = liveFrom(
      claim({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }, { app: 'a' }),
    );
    const manifest = claim(
      { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1024Mi' } } },
      { app: 'a' },
    );
    assert.equal(planApply(manifest, live), undefined);
    assert.ok(containedIn({ n: 1 }, { n: '1' }));
    assert.ok(!containedIn({ b: true }, { b: '1' }));
  });

  it('patches only the changed fields and records the new manifest', () => {
    const changed = claim(
      { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
      { app: 'a' },
    );
    const patch = planApply(changed, liveFrom(base));
    assert.deepEqual(patch?.['spec'], { resources: { requests: { storage: '2Gi' } } });
    const annotations = (patch?.['metadata'] as { annotations: Record<string, string> }).annotations;
    assert.deepEqual(
      JSON.parse(annotations[LAST_APPLIED_ANNOTATION] ?? '{}').spec.resources.requests.storage,
      '2Gi',
    );
  });

  it('removes fields an earlier apply set and this manifest dropped (three-way)', () => {
    const withoutLabels = claim({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    });
    const patch = planApply(withoutLabels, liveFrom(base));
    assert.deepEqual((patch?.['metadata'] as Record<string, unknown>)['labels'], null);
  });

  it('keeps fields others set (not in the last-applied manifest)', () => {
    const live = liveFrom(base);
    live.metadata.labels = { app: 'a', 'added-by': 'someone' };
    assert.equal(planApply(base, live), undefined);
  });

  it('replaces a list whose elements differ', () => {
    const changed = claim(
      { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } },
      { app: 'a' },
    );
    assert.deepEqual(planApply(changed, liveFrom(base))?.['spec'], { accessModes: ['ReadWriteMany'] });
  });

  it('does not count a missing last-applied annotation as a change', () => {
    const live = liveFrom(base);
    live.metadata.annotations = {};
    assert.equal(planApply(base, live), undefined);
  });
});
