import assert from 'node:assert/strict';
import { kinds } from '../../../src/api/kinds.js';
import type { KubeObject, OwnerReference } from '../../../src/api/meta.js';
import { findOrphans } from '../../../src/store/gc.js';

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
