// Which claims a VolumeSnapshot event wakes: only those still restoring from it, and only when it
// has just become ready.
import assert from 'node:assert/strict';
import type { VolumeSnapshot } from '../../../src/api/snapshot-types.js';
import type { PersistentVolumeClaim } from '../../../src/api/types.js';
import { claimsBySnapshotSource } from '../../../src/machinery/indexes.js';
import { claimsToWake } from '../../../src/provisioner/snapshot-wakeup.js';
import { newClaim } from '../../helpers/builders.js';

const snapshot = (ready: boolean | undefined, deleting = false): VolumeSnapshot => ({
  apiVersion: 'snapshot.storage.k8s.io/v1',
  kind: 'VolumeSnapshot',
  metadata: {
    name: 'snap',
    namespace: 'default',
    ...(deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
  },
  spec: { source: { persistentVolumeClaimName: 'data' } },
  ...(ready === undefined ? {} : { status: { readyToUse: ready } }),
});

function restoring(name: string, source: Record<string, string>, phase?: 'Bound'): PersistentVolumeClaim {
  const claim = newClaim(name, '1Gi', { className: 'fast' });
  claim.spec['dataSourceRef'] = source;
  if (phase) claim.status = { phase };
  return claim;
}
const fromSnap = { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap' };

describe('provisioner: snapshot events wake the claims restoring from them', () => {
  const claims = [
    restoring('a', fromSnap),
    restoring('bound', fromSnap, 'Bound'),
    restoring('other', { ...fromSnap, name: 'other-snap' }),
    restoring('clone', { kind: 'PersistentVolumeClaim', name: 'snap' }),
    newClaim('plain', '1Gi'),
  ];
  const index = (key: string) => claims.filter((c) => claimsBySnapshotSource.fn(c).includes(key));

  it('indexes claims by the namespace/name of the snapshot they restore from', () => {
    assert.deepEqual(claimsBySnapshotSource.fn(claims[0]!), ['default/snap']);
    assert.deepEqual(claimsBySnapshotSource.fn(claims[3]!), []);
    assert.deepEqual(claimsBySnapshotSource.fn(claims[4]!), []);
  });

  const cases: Array<[string, VolumeSnapshot | undefined, VolumeSnapshot, string[]]> = [
    ['becomes ready', snapshot(false), snapshot(true), ['default/a']],
    ['is first seen ready', undefined, snapshot(true), ['default/a']],
    ['was ready already', snapshot(true), snapshot(true), []],
    ['is not ready', snapshot(undefined), snapshot(false), []],
    ['is being deleted', snapshot(false), snapshot(true, true), []],
  ];
  for (const [what, old, current, expected] of cases) {
    it(`a snapshot that ${what} wakes ${expected.join(', ') || 'nobody'}`, () => {
      assert.deepEqual(claimsToWake(old, current, index), expected);
    });
  }
});
