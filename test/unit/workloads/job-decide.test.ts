import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/types.js';
import type { Job } from '../../../src/api/workload-types.js';
import { decideJob, LABEL_JOB_NAME } from '../../../src/workloads/job-decide.js';

const now = new Date('2025-05-01T12:00:00Z');

function job(spec: Partial<Job['spec']> = {}, status?: Job['status']): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'load', namespace: 'default', uid: 'job-1' },
    spec: { template: { spec: { containers: [{ name: 'c' }], restartPolicy: 'Never' } }, ...spec },
    ...(status ? { status } : {}),
  };
}

function pod(name: string, phase: string, finishedAt = '2025-05-01T11:59:55Z'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `u-${name}`,
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'Job', name: 'load', uid: 'job-1', controller: true },
      ],
    },
    spec: { containers: [{ name: 'c' }] },
    status: {
      phase: phase as 'Running',
      containerStatuses: [
        { name: 'c', state: phase === 'Failed' ? { terminated: { exitCode: 1, finishedAt } } : {} },
      ],
    },
  };
}

const creates = (j: Job, pods: Pod[]) =>
  decideJob({ job: j, pods, now }).actions.filter((a) => a.type === 'create');
const status = (j: Job, pods: Pod[]) => {
  const s = decideJob({ job: j, pods, now }).actions.find((a) => a.type === 'status');
  return s?.type === 'status' ? s.status : undefined;
};

describe('workloads decideJob', function () {
  it('runs one pod by default, labelled with the job, and starts the clock', function () {
    const made = creates(job(), []);
    assert.equal(made.length, 1);
    assert.equal(made[0]?.object.metadata.labels?.[LABEL_JOB_NAME], 'load');
    assert.equal(made[0]?.object.metadata.generateName, 'load-');
    assert.equal(status(job(), [])?.['startTime'], '2025-05-01T12:00:00Z');
  });

  it('keeps parallelism pods running until completions succeed, then is Complete', function () {
    const j = job({ completions: 3, parallelism: 2 });
    assert.equal(creates(j, []).length, 2);
    assert.equal(creates(j, [pod('a', 'Succeeded'), pod('b', 'Running')]).length, 1);
    assert.equal(creates(j, [pod('a', 'Succeeded'), pod('b', 'Succeeded'), pod('c', 'Running')]).length, 0);
    const done = status(j, [pod('a', 'Succeeded'), pod('b', 'Succeeded'), pod('c', 'Succeeded')]);
    assert.equal(done?.['succeeded'], 3);
    assert.equal(done?.['active'], 0);
    assert.equal(done?.['completionTime'], '2025-05-01T12:00:00Z');
    const conditions = done?.['conditions'] as { type: string; status: string }[];
    assert.deepEqual(
      conditions.map((c) => `${c.type}=${c.status}`),
      ['SuccessCriteriaMet=True', 'Complete=True'],
    );
    const finished = job({ completions: 3 }, { conditions: conditions as never, succeeded: 3 });
    assert.equal(creates(finished, []).length, 0, 'a finished job runs nothing more');
  });

  it('backs off after a failure (10 s doubling) and fails past backoffLimit', function () {
    const j = job({ backoffLimit: 1 });
    const plan = decideJob({ job: j, pods: [pod('a', 'Failed')], now });
    assert.equal(plan.actions.filter((a) => a.type === 'create').length, 0);
    assert.ok(plan.requeueAfterMs !== undefined && plan.requeueAfterMs > 0 && plan.requeueAfterMs <= 10_000);
    assert.equal(creates(j, [pod('a', 'Failed', '2025-05-01T11:00:00Z')]).length, 1, 'after the wait');
    const failed = status(j, [pod('a', 'Failed'), pod('b', 'Failed')]);
    const conditions = failed?.['conditions'] as { type: string; reason: string }[];
    assert.deepEqual(
      conditions.map((c) => `${c.type}:${c.reason}`),
      ['FailureTarget:BackoffLimitExceeded', 'Failed:BackoffLimitExceeded'],
    );
  });

  it('suspended: no pods; a hostile parallelism counts as 1', function () {
    assert.equal(creates(job({ suspend: true }), []).length, 0);
    assert.equal(creates(job({ parallelism: 1e10, completions: 5 }), []).length, 1);
  });
});
