import assert from 'node:assert/strict';
import { kinds } from '../../../src/api/kinds.js';
import type { KubeObject, OwnerReference } from '../../../src/api/meta.js';
import { finalizerWork, findOrphans } from '../../../src/store/gc.js';

const PVC = kinds.find((k) => k.kind === 'PersistentVolumeClaim')!;

function dependent(name: string, owners: OwnerReference[]): { kind: typeof PVC; object: KubeObject } {
  return {
    kind: PVC,
    object: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, ownerReferences: owners } },
  };
}
const sts = (uid: string): OwnerReference => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 's', uid });
const foreign: OwnerReference = { apiVersion: 'example.com/v1', kind: 'Thing', name: 't', uid: 'gone' };

describe('store/gc findOrphans', function () {
  const live = new Set(['alive']);
  const cases: Array<[string, OwnerReference[], boolean]> = [
    ['no owners: kept', [], false],
    ['owner alive: kept', [sts('alive')], false],
    ['owner gone: collected', [sts('gone')], true],
    ['one of two owners alive: kept', [sts('gone'), sts('alive')], false],
    ['all owners gone: collected', [sts('gone'), sts('gone2')], true],
    ['owner of an unscanned kind: kept', [foreign], false],
    ['unscanned owner beside a gone one: kept', [sts('gone'), foreign], false],
  ];
  for (const [title, owners, collected] of cases) {
    it(title, function () {
      assert.equal(findOrphans([dependent('d', owners)], kinds, live).length, collected ? 1 : 0);
    });
  }
});

describe('store/gc finalizerWork (orphan and foreground propagation)', function () {
  const STS = kinds.find((k) => k.kind === 'StatefulSet')!;
  const owner = (finalizers: string[], deleting = true): { kind: typeof STS; object: KubeObject } => ({
    kind: STS,
    object: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: {
        name: 's',
        uid: 'owner',
        finalizers,
        ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
      },
    },
  });
  const child = (name: string, deleting = false) => {
    const d = dependent(name, [sts('owner')]);
    if (deleting) d.object.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    return d;
  };
  const summary = (objects: Array<{ kind: typeof PVC; object: KubeObject }>) =>
    finalizerWork(objects).map((a) =>
      a.type === 'removeFinalizer' ? `${a.type} ${a.finalizer}` : `${a.type} ${a.object.metadata.name ?? ''}`,
    );

  const cases: Array<[string, Array<{ kind: typeof PVC; object: KubeObject }>, string[]]> = [
    [
      'orphan: dependents lose their reference first',
      [owner(['orphan']), child('a'), child('b')],
      ['dropOwnerReference a', 'dropOwnerReference b'],
    ],
    ['orphan: no dependents left, the finalizer goes', [owner(['orphan'])], ['removeFinalizer orphan']],
    [
      'foreground: dependents are deleted first',
      [owner(['foregroundDeletion']), child('a')],
      ['deleteDependent a'],
    ],
    [
      'foreground: a dependent already deleting is waited for',
      [owner(['foregroundDeletion']), child('a', true)],
      [],
    ],
    [
      'foreground: no dependents left, the finalizer goes',
      [owner(['foregroundDeletion'])],
      ['removeFinalizer foregroundDeletion'],
    ],
    ['an owner not being deleted is left alone', [owner(['orphan'], false), child('a')], []],
    ["other finalizers are not the collector's", [owner(['kubernetes.io/pvc-protection']), child('a')], []],
  ];
  for (const [title, objects, want] of cases) {
    it(title, function () {
      assert.deepEqual(summary(objects), want);
    });
  }
});
