// The one pod-termination rule every controller and the node agent share (Kubernetes' volume rule).
import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/types.js';
import { isPodTerminated } from '../../../src/volume/pods.js';
import { newPod } from '../../helpers/builders.js';

function deleted(pod: Pod, gracePeriodSeconds?: number): Pod {
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      deletionTimestamp: '2026-01-01T00:00:00Z',
      ...(gracePeriodSeconds !== undefined ? { deletionGracePeriodSeconds: gracePeriodSeconds } : {}),
    },
  };
}

describe('isPodTerminated', () => {
  const cases: [string, Pod, boolean][] = [
    ['a running pod', newPod('p', ['c'], { nodeName: 'n1', phase: 'Running' }), false],
    ['a pending pod', newPod('p', ['c'], { phase: 'Pending' }), false],
    ['a pod with no status', newPod('p', ['c']), false],
    ['a succeeded pod', newPod('p', ['c'], { phase: 'Succeeded' }), true],
    ['a failed pod', newPod('p', ['c'], { phase: 'Failed' }), true],
    [
      'a deleted pod with no containers reported (berth runs none)',
      deleted(newPod('p', ['c'], { phase: 'Running' })),
      true,
    ],
    ['a deleted pod with a grace period left', deleted(newPod('p', ['c'], { phase: 'Running' }), 30), true],
    ['a deleted pod with a zero grace period', deleted(newPod('p', ['c']), 0), true],
  ];
  for (const [name, pod, want] of cases) {
    it(`${name}: ${want ? 'terminated' : 'holds its volumes'}`, () =>
      assert.equal(isPodTerminated(pod), want));
  }

  it('a deleted pod whose kubelet still reports a running container holds its volumes', () => {
    const pod = deleted(newPod('p', ['c'], { phase: 'Running' }), 30);
    pod.status = {
      phase: 'Running',
      containerStatuses: [
        { name: 'app', state: { running: { startedAt: '2026-01-01T00:00:00Z' } } },
        { name: 'sidecar', state: { terminated: { exitCode: 0 } } },
      ],
    };
    assert.equal(isPodTerminated(pod), false);
    pod.status.containerStatuses = [{ name: 'app', state: { terminated: { exitCode: 0 } } }];
    assert.equal(isPodTerminated(pod), true);
  });

  it('a force-deleted pod (grace period 0) is terminated whatever its dead node last reported', () => {
    const pod = deleted(newPod('p', ['c'], { phase: 'Running' }), 0);
    pod.status = { phase: 'Running', containerStatuses: [{ name: 'app', state: { running: {} } }] };
    assert.equal(isPodTerminated(pod), true);
  });

  it('a terminal phase wins over running containers', () => {
    const pod = newPod('p', ['c'], { phase: 'Failed' });
    pod.status = { phase: 'Failed', containerStatuses: [{ name: 'app', state: { running: {} } }] };
    assert.equal(isPodTerminated(pod), true);
  });
});
