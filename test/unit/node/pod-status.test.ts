import assert from 'node:assert/strict';
import type { Pod, PodStatus } from '../../../src/api/types.js';
import { isPodTerminated } from '../../../src/volume/pods.js';
import { desiredPodStatus, EXIT_CODE_ANNOTATION, podStatusChange } from '../../../src/node/pod-status.js';
import type { VolumeReadiness } from '../../../src/node/pod-status.js';

const t0 = new Date('2025-03-01T10:00:00Z');
const t1 = new Date('2025-03-01T10:05:00Z');
const t2 = new Date('2025-03-01T10:09:00Z');
const mounted: VolumeReadiness = { ready: true, waiting: [] };
const waitingForData: VolumeReadiness = { ready: false, waiting: ['data (not mounted yet)'] };

function pod(
  options: { restartPolicy?: string; exitCode?: string; inits?: boolean; status?: PodStatus } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'default',
      uid: 'u1',
      ...(options.exitCode !== undefined
        ? { annotations: { [EXIT_CODE_ANNOTATION]: options.exitCode } }
        : {}),
    },
    spec: {
      nodeName: 'n1',
      containers: [
        { name: 'web', image: 'nginx' },
        { name: 'log', image: 'busybox' },
      ],
      ...(options.inits ? { initContainers: [{ name: 'setup', image: 'busybox' }] } : {}),
      ...(options.restartPolicy ? { restartPolicy: options.restartPolicy } : {}),
    },
    status: options.status ?? { phase: 'Pending' },
  };
}

/** The pod after the agent wrote what it wanted at `now`. */
function written(p: Pod, volumes: VolumeReadiness, now: Date): Pod {
  return { ...p, status: desiredPodStatus(p, volumes, now) };
}

function conditions(status: PodStatus): string[] {
  return (status.conditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? `:${c.reason}` : ''}`);
}

describe('node pod status', function () {
  it('waits in ContainerCreating, naming the volumes, until every volume is mounted', function () {
    const status = desiredPodStatus(pod(), waitingForData, t0);
    assert.equal(status.phase, 'Pending');
    assert.deepEqual(conditions(status), [
      'PodReadyToStartContainers=False',
      'Initialized=True',
      'Ready=False:ContainersNotReady',
      'ContainersReady=False:ContainersNotReady',
      'PodScheduled=True',
    ]);
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.message, 'containers with unready status: [web log]');
    for (const c of status.containerStatuses ?? []) {
      assert.equal(c['ready'], false);
      assert.equal(c['started'], false);
      assert.equal(c.state?.waiting?.['reason'], 'ContainerCreating');
      assert.equal(c.state?.waiting?.['message'], 'volumes not ready: data (not mounted yet)');
    }
  });

  it('is Running and ready (READY 2/2) once its volumes are mounted, with every condition True', function () {
    const status = desiredPodStatus(pod(), mounted, t0);
    assert.equal(status.phase, 'Running');
    assert.deepEqual(conditions(status), [
      'PodReadyToStartContainers=True',
      'Initialized=True',
      'Ready=True',
      'ContainersReady=True',
      'PodScheduled=True',
    ]);
    assert.ok(status.conditions?.every((c) => c.lastTransitionTime === '2025-03-01T10:00:00Z'));
    assert.deepEqual(status.containerStatuses?.[0], {
      name: 'web',
      image: 'nginx',
      imageID: '',
      restartCount: 0,
      ready: true,
      started: true,
      state: { running: { startedAt: '2025-03-01T10:00:00Z' } },
    });
    assert.equal(status['startTime'], '2025-03-01T10:00:00Z');
  });

  it('keeps transition and start times: a second pass writes nothing', function () {
    const pending = written(pod(), waitingForData, t0);
    const running = written(pending, mounted, t1);
    const ready = running.status?.conditions?.find((c) => c.type === 'Ready');
    const scheduled = running.status?.conditions?.find((c) => c.type === 'PodScheduled');
    assert.equal(ready?.lastTransitionTime, '2025-03-01T10:05:00Z');
    assert.equal(
      scheduled?.lastTransitionTime,
      '2025-03-01T10:00:00Z',
      'unchanged conditions keep their time',
    );
    assert.equal(running.status?.['startTime'], '2025-03-01T10:00:00Z');
    assert.equal(podStatusChange(running, mounted, t2), undefined);
  });

  it('a Running pod whose volume goes away stays Running, not ready', function () {
    const running = written(pod(), mounted, t0);
    const status = desiredPodStatus(running, waitingForData, t1);
    assert.equal(status.phase, 'Running');
    assert.equal(status.containerStatuses?.[0]?.['ready'], false);
    assert.equal(status.containerStatuses?.[0]?.state?.running?.['startedAt'], '2025-03-01T10:00:00Z');
    assert.equal(status.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  });

  it('init containers: PodInitializing first, then Completed once the volumes are mounted', function () {
    const waiting = desiredPodStatus(pod({ inits: true }), waitingForData, t0);
    assert.deepEqual(conditions(waiting).slice(0, 2), [
      'PodReadyToStartContainers=False',
      'Initialized=False:ContainersNotInitialized',
    ]);
    const initWaiting = waiting['initContainerStatuses'] as PodStatus['containerStatuses'];
    assert.equal(initWaiting?.[0]?.state?.waiting?.['reason'], 'PodInitializing');
    assert.equal(waiting.containerStatuses?.[0]?.state?.waiting?.['reason'], 'PodInitializing');
    const running = desiredPodStatus(pod({ inits: true }), mounted, t0);
    const inits = running['initContainerStatuses'] as PodStatus['containerStatuses'];
    assert.equal(inits?.[0]?.state?.terminated?.['reason'], 'Completed');
    assert.equal(running.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
  });

  it('a pod that always restarts keeps running', function () {
    const running = written(pod(), mounted, t0);
    assert.equal(podStatusChange(running, mounted, t1), undefined);
    assert.equal(isPodTerminated(running), false);
  });

  it('a run-once pod succeeds after it was Running, and then counts as terminated', function () {
    const running = written(pod({ restartPolicy: 'Never' }), mounted, t0);
    assert.equal(running.status?.phase, 'Running', 'it runs first, so its volumes are used');
    const done = written(running, mounted, t1);
    assert.equal(done.status?.phase, 'Succeeded');
    const terminated = done.status?.containerStatuses?.[0]?.state?.terminated;
    assert.deepEqual(terminated, {
      exitCode: 0,
      reason: 'Completed',
      startedAt: '2025-03-01T10:00:00Z',
      finishedAt: '2025-03-01T10:05:00Z',
    });
    assert.deepEqual(conditions(done.status ?? {}), [
      'PodReadyToStartContainers=False',
      'Initialized=True:PodCompleted',
      'Ready=False:PodCompleted',
      'ContainersReady=False:PodCompleted',
      'PodScheduled=True',
    ]);
    assert.equal(isPodTerminated(done), true);
  });

  it('the exit-code annotation fails an OnFailure pod; a value out of range fails it with the reason', function () {
    const running = written(pod({ restartPolicy: 'OnFailure', exitCode: '3' }), mounted, t0);
    const failed = desiredPodStatus(running, mounted, t1);
    assert.equal(failed.phase, 'Failed');
    assert.equal(failed.containerStatuses?.[0]?.state?.terminated?.['exitCode'], 3);
    assert.equal(failed.containerStatuses?.[0]?.state?.terminated?.['reason'], 'Error');
    for (const bad of ['256', '-1', 'abc', '0x1', '1'.repeat(5000)]) {
      const p = written(pod({ restartPolicy: 'Never', exitCode: bad }), mounted, t0);
      const s = desiredPodStatus(p, mounted, t1);
      assert.equal(s.phase, 'Failed', bad);
      const message = String(s.containerStatuses?.[0]?.state?.terminated?.['message']);
      assert.match(message, /annotation berth\.io\/exit-code: Invalid value/);
      assert.ok(message.length < 200, 'a huge value is not echoed whole');
    }
  });

  it('a deleted pod: its containers stop, so it counts as terminated and its volumes can go', function () {
    const running = written(pod(), mounted, t0);
    const deleting: Pod = {
      ...running,
      metadata: { ...running.metadata, deletionTimestamp: '2025-03-01T10:06:00Z' },
    };
    assert.equal(isPodTerminated(deleting), false, 'a running container holds the volumes');
    const stopped = written(deleting, mounted, t1);
    assert.equal(stopped.status?.phase, 'Running');
    assert.equal(stopped.status?.containerStatuses?.[0]?.state?.terminated?.['exitCode'], 0);
    assert.equal(isPodTerminated(stopped), true);
  });
});
