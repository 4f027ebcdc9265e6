// One Job sync, pure: the Job and its namespace's pods in; the pods to create or delete and its
// status out. Up to `parallelism` pods run at once until `completions` pods have Succeeded (without
// completions: until one has and none runs). More than `backoffLimit` Failed pods fail the Job;
// after a failure the next pod waits 10 s, doubling per failure, at most 6 min. A finished Job
// keeps its pods and runs no more. How a berth pod finishes: see the node agent's pod status
// (run-once pods complete once their volumes were mounted).
import type { Pod } from '../api/types.js';
import type { Job, JobStatus, WorkloadCondition } from '../api/workload-types.js';
import { isPodReady } from './decide.js';
import {
  conditionsAt,
  controlledBy,
  count,
  deletionOrder,
  isPodActive,
  podFromTemplate,
  rfc3339,
  type WantedCondition,
} from './owned-pods.js';
import type { WorkloadAction, WorkloadPlan } from './workload-actions.js';

export const LABEL_CONTROLLER_UID = 'batch.kubernetes.io/controller-uid';
export const LABEL_JOB_NAME = 'batch.kubernetes.io/job-name';
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 360_000;

export interface JobState {
  job: Job;
  pods: readonly Pod[];
  now: Date;
}

function finishedCondition(job: Job): WorkloadCondition | undefined {
  return (job.status?.conditions ?? []).find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
}

/** When a failed pod's containers stopped (or it was last updated), for the back-off. */
function failedAt(pod: Pod): number {
  const times = (pod.status?.containerStatuses ?? []).map((c) => {
    const finished = c.state?.terminated?.['finishedAt'];
    return typeof finished === 'string' ? Date.parse(finished) : NaN;
  });
  const ready = (pod.status?.conditions ?? []).map((c) => Date.parse(c.lastTransitionTime ?? ''));
  return Math.max(0, ...[...times, ...ready].filter(Number.isFinite));
}

export function jobLabels(job: Job): Record<string, string> {
  const uid = job.metadata.uid ?? '';
  const name = job.metadata.name ?? '';
  return { [LABEL_CONTROLLER_UID]: uid, [LABEL_JOB_NAME]: name, 'controller-uid': uid, 'job-name': name };
}

export function decideJob(state: JobState): WorkloadPlan {
  const { job, now } = state;
  if (job.metadata.deletionTimestamp) return { actions: [] };
  const at = rfc3339(now);
  const pods = controlledBy(state.pods, job);
  const active = pods.filter(isPodActive);
  const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
  const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
  const failed = Math.max(failedPods.length, count(job.status?.failed, 0));
  const parallelism = count(job.spec.parallelism, 1);
  const completions =
    job.spec.completions === undefined && job.spec.parallelism === undefined ? 1 : job.spec.completions;
  const backoffLimit = count(job.spec.backoffLimit, 6);
  const actions: WorkloadAction[] = [];
  const deleteAll = (list: readonly Pod[]) => {
    for (const pod of list)
      actions.push({
        type: 'delete',
        kind: 'Pod',
        object: pod,
        event: { type: 'Normal', reason: 'SuccessfulDelete', message: (n) => `Deleted pod: ${n}` },
      });
  };

  const finished = finishedCondition(job);
  let wanted: WantedCondition[] = [];
  let event: WorkloadAction['event'];
  let requeueAfterMs: number | undefined;
  if (!finished) {
    const complete =
      typeof completions === 'number' ? succeeded >= completions : succeeded > 0 && active.length === 0;
    if (failed > backoffLimit) {
      const reason = 'BackoffLimitExceeded';
      const message = 'Job has reached the specified backoff limit';
      wanted = [
        { type: 'FailureTarget', status: 'True', reason, message },
        { type: 'Failed', status: 'True', reason, message },
      ];
      event = { type: 'Warning', reason, message: () => message };
      deleteAll(active);
    } else if (complete) {
      wanted = [
        {
          type: 'SuccessCriteriaMet',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
        },
        {
          type: 'Complete',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
        },
      ];
      event = { type: 'Normal', reason: 'Completed', message: () => 'Job completed' };
      deleteAll(active);
    } else {
      const remaining =
        typeof completions === 'number' ? completions - succeeded : succeeded > 0 ? 0 : parallelism;
      const want = job.spec.suspend === true ? 0 : Math.min(parallelism, Math.max(0, remaining));
      if (active.length > want) deleteAll(deletionOrder(active).slice(0, active.length - want));
      const lastFailure = Math.max(0, ...failedPods.map(failedAt));
      const delay = failed > 0 ? Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failed - 1)) : 0;
      const waitMs = lastFailure + delay - now.getTime();
      if (active.length < want && waitMs > 0) requeueAfterMs = waitMs;
      else {
        for (let i = active.length; i < want; i++) {
          actions.push({
            type: 'create',
            kind: 'Pod',
            object: podFromTemplate(job, job.spec.template, jobLabels(job)),
            event: { type: 'Normal', reason: 'SuccessfulCreate', message: (n) => `Created pod: ${n}` },
          });
        }
      }
    }
  }
  const stillActive = finished || wanted.length > 0 ? 0 : active.length;
  const conditions = finished
    ? (job.status?.conditions ?? [])
    : [
        ...(job.status?.conditions ?? []).filter((c) => !wanted.some((w) => w.type === c.type)),
        ...conditionsAt([], wanted, at, false).map((c) => ({ ...c, lastProbeTime: at })),
      ];
  const completedNow = wanted.some((w) => w.type === 'Complete');
  const status: JobStatus = {
    ...job.status,
    active: stillActive,
    ready: stillActive === 0 ? 0 : active.filter(isPodReady).length,
    succeeded,
    failed,
    ...(job.status?.startTime || job.spec.suspend === true ? {} : { startTime: at }),
    ...(completedNow ? { completionTime: at } : {}),
    ...(conditions.length > 0 ? { conditions } : {}),
  };
  const old = job.status ?? {};
  const changed = (Object.keys(status) as (keyof JobStatus)[]).some(
    (k) => JSON.stringify(old[k]) !== JSON.stringify(status[k]),
  );
  if (changed) actions.push({ type: 'status', status: { ...status }, ...(event ? { event } : {}) });
  return { actions, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}
