import assert from 'node:assert/strict';
import { kinds } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { compileFilter } from '../../../src/store/object-filter.js';
import {
  checkNotStale,
  decideCreate,
  decideDelete,
  decideUpdate,
  generatedName,
  rfc3339Seconds,
} from '../../../src/store/object-rules.js';
import { filteredEvent } from '../../../src/store/watch-hub.js';

const PVC = kinds.find((k) => k.kind === 'PersistentVolumeClaim')!;
const CM = kinds.find((k) => k.kind === 'ConfigMap')!;
const ctx = { now: new Date('2024-05-06T07:08:09.456Z'), newUid: () => 'uid-1' };

function stored(extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: 'c',
      namespace: 'ns',
      uid: 'uid-1',
      resourceVersion: '5',
      generation: 1,
      creationTimestamp: '2024-01-01T00:00:00Z',
      ...extra,
    },
    spec: { volumeName: '' },
    status: { phase: 'Pending' },
  };
}

describe('store/object-rules', function () {
  it('create fills uid, timestamp to whole seconds, generation, apiVersion and kind', function () {
    const created = decideCreate(
      PVC,
      { apiVersion: '', kind: '', metadata: { namespace: 'ns', resourceVersion: '9' } },
      'x',
      ctx,
    );
    assert.deepEqual(created.metadata, {
      namespace: 'ns',
      name: 'x',
      uid: 'uid-1',
      creationTimestamp: '2024-05-06T07:08:09Z',
      generation: 1,
    });
    assert.equal(created.apiVersion, 'v1');
    assert.equal(created.kind, 'PersistentVolumeClaim');
    assert.equal(rfc3339Seconds(new Date(0)), '1970-01-01T00:00:00Z');
  });

  it("create and update keep the metadata keys in the order given, the store's own appended", function () {
    const given = JSON.parse(
      '{"metadata":{"labels":{"a":"b"},"name":"ignored","resourceVersion":"9","generateName":"g-"},"data":{}}',
    ) as KubeObject;
    const created = decideCreate(
      CM,
      { ...given, metadata: { ...given.metadata, namespace: 'ns' } },
      'x',
      ctx,
    );
    assert.equal(
      JSON.stringify(created.metadata),
      '{"labels":{"a":"b"},"name":"x","generateName":"g-","namespace":"ns","uid":"uid-1","creationTimestamp":"2024-05-06T07:08:09Z","generation":1}',
    );
    const updated = decideUpdate(
      CM,
      { ...created, metadata: { ...created.metadata, resourceVersion: '3' } },
      {
        ...created,
        metadata: { annotations: { n: 'v' }, labels: { a: 'c' } },
      },
    ).object;
    assert.equal(
      JSON.stringify(updated.metadata),
      '{"annotations":{"n":"v"},"labels":{"a":"c"},"name":"x","namespace":"ns","uid":"uid-1","creationTimestamp":"2024-05-06T07:08:09Z","generation":1,"resourceVersion":"3","generateName":"g-"}',
    );
  });

  it('create requires a name, and a namespace for namespaced kinds', function () {
    assert.throws(
      () => decideCreate(PVC, { apiVersion: 'v1', kind: 'x', metadata: { namespace: 'n' } }, '', ctx),
      /Required/,
    );
    assert.throws(
      () => decideCreate(PVC, { apiVersion: 'v1', kind: 'x', metadata: {} }, 'a', ctx),
      /namespace/,
    );
  });

  it('generatedName appends five characters from [a-z0-9]', function () {
    assert.match(generatedName('pvc-'), /^pvc-[a-z0-9]{5}$/);
    assert.equal(
      generatedName('x-', () => 0),
      'x-aaaaa',
    );
    assert.equal(
      generatedName('x-', () => 0.9999),
      'x-99999',
    );
  });

  it('update of a status kind keeps status; of another kind replaces everything', function () {
    const next = decideUpdate(PVC, stored(), { ...stored(), status: { phase: 'Bound' } });
    assert.equal(next.action, 'unchanged');
    const cm = { ...stored(), kind: 'ConfigMap', data: { a: '1' } };
    const cmNext = decideUpdate(CM, cm, { ...cm, status: { any: 1 } });
    assert.equal(cmNext.action, 'write');
    assert.deepEqual(cmNext.object['status'], { any: 1 });
  });

  it('a stale resourceVersion is a 409 naming the object; none, or the stored one, passes', function () {
    assert.throws(
      () => checkNotStale(PVC, stored(), '4'),
      (err: Error & { code?: number; reason?: string }) =>
        err.code === 409 &&
        err.reason === 'Conflict' &&
        /persistentvolumeclaims "c": the object has been modified/.test(err.message),
    );
    assert.doesNotThrow(() => checkNotStale(PVC, stored(), '5'));
    assert.doesNotThrow(() => checkNotStale(PVC, stored(), undefined));
    assert.throws(() => decideUpdate(PVC, stored(), stored({ resourceVersion: '4' })), /has been modified/);
  });

  it('an update that empties the finalizers of a deleting object removes it', function () {
    const deleting = stored({ deletionTimestamp: '2024-01-02T00:00:00Z', finalizers: ['a', 'b'] });
    const one = decideUpdate(PVC, deleting, {
      ...deleting,
      metadata: { ...deleting.metadata, finalizers: ['b'] },
    });
    assert.equal(one.action, 'write');
    const none = decideUpdate(PVC, deleting, {
      ...deleting,
      metadata: { ...deleting.metadata, finalizers: [] },
    });
    assert.equal(none.action, 'remove');
  });

  it('delete: removes, marks deleting (bumping generation), or does nothing', function () {
    assert.equal(decideDelete(PVC, stored(), {}, ctx).action, 'remove');
    const marked = decideDelete(PVC, stored({ finalizers: ['f'] }), {}, ctx);
    assert.equal(marked.action, 'write');
    assert.equal(marked.object.metadata.deletionTimestamp, '2024-05-06T07:08:09Z');
    assert.equal(marked.object.metadata.generation, 2);
    assert.equal(decideDelete(PVC, marked.object, {}, ctx).action, 'unchanged');
  });

  it('delete of an object being deleted only shortens its grace period (a force delete after an eviction)', function () {
    const evicted = decideDelete(PVC, stored({ finalizers: ['f'] }), { gracePeriodSeconds: 30 }, ctx).object;
    assert.equal(evicted.metadata.deletionTimestamp, '2024-05-06T07:08:39Z');
    assert.equal(evicted.metadata.deletionGracePeriodSeconds, 30);
    for (const longer of [{}, { gracePeriodSeconds: 30 }, { gracePeriodSeconds: 60 }])
      assert.equal(decideDelete(PVC, evicted, longer, ctx).action, 'unchanged');
    const shorter = decideDelete(PVC, evicted, { gracePeriodSeconds: 10 }, ctx);
    assert.equal(shorter.action, 'write');
    assert.equal(shorter.object.metadata.deletionTimestamp, '2024-05-06T07:08:19Z');
    const forced = decideDelete(PVC, shorter.object, { gracePeriodSeconds: 0 }, ctx);
    assert.equal(forced.object.metadata.deletionTimestamp, '2024-05-06T07:08:09Z');
    assert.equal(forced.object.metadata.deletionGracePeriodSeconds, 0);
    assert.equal(forced.object.metadata.generation, evicted.metadata.generation);
    assert.equal(decideDelete(PVC, forced.object, { gracePeriodSeconds: 0 }, ctx).action, 'unchanged');
    assert.throws(
      () => decideDelete(PVC, stored(), { resourceVersion: '4' }, ctx),
      /ResourceVersion in precondition: 4/,
    );
  });

  describe('watch filter transitions', function () {
    const filter = compileFilter({ labelSelector: 'app=db' });
    const labelled = (app: string): KubeObject => ({
      ...stored(),
      metadata: { ...stored().metadata, labels: { app } },
    });
    const cases: Array<
      [string, KubeObject | undefined, KubeObject, 'ADDED' | 'MODIFIED' | 'DELETED', string | undefined]
    > = [
      ['add matching', undefined, labelled('db'), 'ADDED', 'ADDED'],
      ['add other', undefined, labelled('web'), 'ADDED', undefined],
      ['modify matching', labelled('db'), labelled('db'), 'MODIFIED', 'MODIFIED'],
      ['start matching', labelled('web'), labelled('db'), 'MODIFIED', 'ADDED'],
      ['stop matching', labelled('db'), labelled('web'), 'MODIFIED', 'DELETED'],
      ['modify other', labelled('web'), labelled('x'), 'MODIFIED', undefined],
      ['delete matching', labelled('db'), labelled('db'), 'DELETED', 'DELETED'],
      ['delete other', labelled('web'), labelled('web'), 'DELETED', undefined],
    ];
    for (const [title, previous, object, type, expected] of cases) {
      it(title, function () {
        assert.equal(filteredEvent({ rev: 1, kind: 'k', type, previous, object }, filter)?.type, expected);
      });
    }
  });
});
