// The resizer's decision table: which claims get their volume grown, and which wait for the node.
import assert from 'node:assert/strict';
import type { PersistentVolume, PersistentVolumeClaim } from '../../../src/api/types.js';
import { ANN_PROVISIONED_ON_NODE } from '../../../src/volume/provisioning-names.js';
import {
  claimResizeInputs,
  withErrorCondition,
  withResizeStatus,
  CONDITION_FS_RESIZE_PENDING,
  CONDITION_RESIZING,
  decideResize,
  grownCapacity,
  withCondition,
  withoutResizeConditions,
} from '../../../src/resizer/decide.js';
import { newClaim, newVolume } from '../../helpers/builders.js';

const DRIVER = 'example.csi.berth.dev';

function boundClaim(request: string, capacity: string, conditions: string[] = []): PersistentVolumeClaim {
  const claim = newClaim('c', request, { volumeName: 'pv-c', phase: 'Bound' });
  claim.status = {
    phase: 'Bound',
    capacity: { storage: capacity },
    conditions: conditions.map((type) => ({ type, status: 'True' })),
  };
  return claim;
}

function csiVolume(capacity: string, driver = DRIVER, node?: string): PersistentVolume {
  const pv = newVolume('pv-c', capacity, { source: 'csi', claim: { name: 'c', uid: 'uid-c' } });
  pv.spec.csi = { driver, volumeHandle: 'vol-1' };
  if (node) pv.metadata.annotations = { [ANN_PROVISIONED_ON_NODE]: node };
  return pv;
}

describe('resizer decisions', function () {
  const cases: {
    name: string;
    claim: PersistentVolumeClaim;
    volume: PersistentVolume | undefined;
    node?: string;
    want: 'skip' | bigint;
  }[] = [
    {
      name: 'request above capacity: grow',
      claim: boundClaim('2Gi', '1Gi'),
      volume: csiVolume('1Gi'),
      want: 2n << 30n,
    },
    {
      name: 'request equals capacity',
      claim: boundClaim('1Gi', '1Gi'),
      volume: csiVolume('1Gi'),
      want: 'skip',
    },
    {
      name: 'same size in other units',
      claim: boundClaim('1024Mi', '1Gi'),
      volume: csiVolume('1Gi'),
      want: 'skip',
    },
    {
      name: 'request below capacity (FS larger)',
      claim: boundClaim('1Gi', '2Gi'),
      volume: csiVolume('2Gi'),
      want: 'skip',
    },
    {
      name: 'already grown, waiting for the node',
      claim: boundClaim('2Gi', '1Gi', [CONDITION_FS_RESIZE_PENDING]),
      volume: csiVolume('2Gi'),
      want: 'skip',
    },
    {
      name: 'waiting for the node, but asked for more again',
      claim: boundClaim('3Gi', '1Gi', [CONDITION_FS_RESIZE_PENDING]),
      volume: csiVolume('2Gi'),
      want: 3n << 30n,
    },
    {
      name: 'volume grown but claim not told (crash in between): ask again',
      claim: boundClaim('2Gi', '1Gi', [CONDITION_RESIZING]),
      volume: csiVolume('2Gi'),
      want: 2n << 30n,
    },
    {
      name: 'another driver',
      claim: boundClaim('2Gi', '1Gi'),
      volume: csiVolume('1Gi', 'other'),
      want: 'skip',
    },
    { name: 'volume not known yet', claim: boundClaim('2Gi', '1Gi'), volume: undefined, want: 'skip' },
    {
      name: 'claim not bound',
      claim: { ...boundClaim('2Gi', '1Gi'), status: { phase: 'Pending' } },
      volume: csiVolume('1Gi'),
      want: 'skip',
    },
    {
      name: 'claim being deleted',
      claim: { ...boundClaim('2Gi', '1Gi'), metadata: { name: 'c', uid: 'uid-c', deletionTimestamp: 'x' } },
      volume: csiVolume('1Gi'),
      want: 'skip',
    },
    {
      name: 'volume bound to another claim of that name',
      claim: { ...boundClaim('2Gi', '1Gi'), metadata: { name: 'c', namespace: 'default', uid: 'uid-new' } },
      volume: csiVolume('1Gi'),
      want: 'skip',
    },
    {
      name: 'node mode: this node made it',
      claim: boundClaim('2Gi', '1Gi'),
      volume: csiVolume('1Gi', DRIVER, 'n1'),
      node: 'n1',
      want: 2n << 30n,
    },
    {
      name: 'node mode: another node made it',
      claim: boundClaim('2Gi', '1Gi'),
      volume: csiVolume('1Gi', DRIVER, 'n2'),
      node: 'n1',
      want: 'skip',
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      const decision = decideResize(c.claim, c.volume, DRIVER, c.node);
      if (c.want === 'skip') assert.deepEqual(decision, { type: 'skip' });
      else
        assert.deepEqual(decision, {
          type: 'expand',
          bytes: c.want,
          requested: c.claim.spec.resources?.requests?.['storage'],
        });
    });
  }

  it("keeps a condition's transition time while it holds, and drops only the resize conditions", function () {
    const t0 = new Date('2026-01-01T00:00:00.123Z');
    const t1 = new Date('2026-01-02T00:00:00Z');
    const first = withCondition(undefined, { type: CONDITION_RESIZING, status: 'True' }, t0);
    assert.deepEqual(first, [
      { type: CONDITION_RESIZING, status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
    assert.deepEqual(withCondition(first, { type: CONDITION_RESIZING, status: 'True' }, t1), first);
    const other = { type: 'ModifyingVolume', status: 'True' as const };
    assert.deepEqual(
      withoutResizeConditions([...first, other, { type: CONDITION_FS_RESIZE_PENDING, status: 'True' }]),
      [other],
    );
  });

  it('records the request unless the driver reports another size', function () {
    assert.equal(grownCapacity(2n << 30n, '2Gi', 2n << 30n), '2Gi');
    assert.equal(grownCapacity(0n, '2Gi', 2n << 30n), '2Gi', 'no size in the answer');
    assert.equal(grownCapacity((2n << 30n) + 4096n, '2Gi', 2n << 30n), '2147487744');
  });

  it("the resizer's own status writes and unrelated edits leave its inputs unchanged; a new request does not", function () {
    const claim = newClaim('c', '2Gi', { volumeName: 'pv', phase: 'Bound' });
    claim.status = { phase: 'Bound', capacity: { storage: '1Gi' } };
    const now = new Date('2026-01-01T00:00:00Z');
    const inputs = claimResizeInputs(claim);
    const marked: PersistentVolumeClaim = {
      ...claim,
      metadata: { ...claim.metadata, labels: { app: 'web' }, resourceVersion: '9' },
      status: {
        ...withResizeStatus(claim.status, 'ControllerResizeInfeasible', '2Gi'),
        conditions: withErrorCondition(
          withCondition(undefined, { type: CONDITION_RESIZING, status: 'True' }, now),
          'ControllerResizeError',
          'pool offline',
          now,
        )!,
      },
    };
    assert.equal(claimResizeInputs(marked), inputs);
    const larger = { ...claim, spec: { ...claim.spec, resources: { requests: { storage: '3Gi' } } } };
    assert.notEqual(claimResizeInputs(larger), inputs);
    const grown = { ...claim, status: { ...claim.status, capacity: { storage: '2Gi' } } };
    assert.notEqual(claimResizeInputs(grown), inputs);
  });
});
