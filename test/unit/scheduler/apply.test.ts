import assert from 'node:assert/strict';
import {
  claimWithSelectedNode,
  volumeBoundTo,
  withScheduledCondition,
} from '../../../src/scheduler/apply.js';
import { WrittenObjects } from '../../../src/scheduler/written.js';
import { newClaim, newPod, newVolume } from '../../helpers/builders.js';

describe('scheduler writes', function () {
  it('pre-binds a volume the way the binder expects: claimRef with uid, bound-by-controller', function () {
    const volume = newVolume('pv-1', '1Gi', { phase: 'Available' });
    volume.metadata.resourceVersion = '7';
    const bound = volumeBoundTo(volume, newClaim('data', '1Gi'));
    assert.deepEqual(bound.spec.claimRef, {
      kind: 'PersistentVolumeClaim',
      apiVersion: 'v1',
      namespace: 'default',
      name: 'data',
      uid: 'uid-data',
    });
    assert.equal(bound.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.equal(bound.metadata.resourceVersion, '7', 'the write is compare-and-swap on what was read');
    assert.equal(volume.spec.claimRef, undefined, 'the input is not changed');
  });

  it('selects a node by annotation', function () {
    const claim = claimWithSelectedNode(newClaim('data', '1Gi', { annotations: { keep: 'me' } }), 'node-2');
    assert.deepEqual(claim.metadata.annotations, {
      keep: 'me',
      'volume.kubernetes.io/selected-node': 'node-2',
    });
  });

  it('PodScheduled changes only when status, reason or message do', function () {
    const now = new Date('2025-01-01T00:00:00Z');
    const pod = newPod('app', []);
    const first = withScheduledCondition(
      pod,
      { status: 'False', reason: 'Unschedulable', message: 'm' },
      now,
    );
    assert.deepEqual(first, [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: 'm',
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ]);
    pod.status = { conditions: first ?? [] };
    assert.equal(
      withScheduledCondition(pod, { status: 'False', reason: 'Unschedulable', message: 'm' }, now),
      undefined,
    );
    const later = new Date('2025-01-01T00:01:00Z');
    const scheduled = withScheduledCondition(pod, { status: 'True' }, later);
    assert.deepEqual(scheduled, [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-01-01T00:01:00Z' },
    ]);
  });

  it('remembers its own writes until the informer catches up', function () {
    const written = new WrittenObjects();
    const cached = newVolume('pv-1', '1Gi', { uid: 'u1' });
    cached.metadata.resourceVersion = '5';
    const ours = { ...cached, metadata: { ...cached.metadata, resourceVersion: '6' } };
    written.remember(ours);
    assert.equal(written.fresher(cached), ours);
    const caughtUp = { ...cached, metadata: { ...cached.metadata, resourceVersion: '6' } };
    written.observe(caughtUp);
    assert.equal(written.size(), 0);
    assert.equal(written.fresher(cached), cached);
    // A recreated object (new uid) is never shadowed by a write to its predecessor.
    written.remember(ours);
    const recreated = { ...cached, metadata: { ...cached.metadata, uid: 'u2', resourceVersion: '3' } };
    assert.equal(written.fresher(recreated), recreated);
  });
});
