// A pod's status as the kubelet writes it (PURE), for a node agent that runs no containers.
// berth's containers "start" when every volume of the pod is mounted: from then on each container
// is running, started and ready, and the pod is Running and READY n/n. Before that they wait in
// ContainerCreating (PodInitializing behind init containers), as on a kubelet waiting for volumes.
//
// Completion (berth's rule, for Jobs and run-once pods): a pod whose restartPolicy is Never or
// OnFailure runs to completion once it has been Running: its containers exit with the code the
// annotation `berth.io/exit-code` names (default 0). Exit 0 makes the pod Succeeded, any other
// code (or a value that is not an integer in 0..255) Failed. A pod with restartPolicy Always
// (the default) runs until it is deleted. A deleted pod's containers stop with exit code 0.
import { isDeepStrictEqual } from 'node:util';
import type { Container, ContainerStatus, Pod, PodCondition, PodStatus } from '../api/types.js';

export const EXIT_CODE_ANNOTATION = 'berth.io/exit-code';

export interface VolumeReadiness {
  /** Every volume of the pod is mounted (or needs no mount). */
  ready: boolean;
  /** The volumes not mounted yet, each with why: the waiting containers' message. */
  waiting: readonly string[];
}

type Phase = NonNullable<PodStatus['phase']>;

/** `value` when it is a string (a time written before), else `fallback`. */
function timeOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** How the pod's containers end, once they run: undefined while they keep running. */
export function podExit(pod: Pod): { exitCode: number; message?: string } | undefined {
  if (pod.metadata.deletionTimestamp) return { exitCode: 0 };
  const policy = pod.spec['restartPolicy'];
  if (policy !== 'Never' && policy !== 'OnFailure') return undefined;
  const raw = pod.metadata.annotations?.[EXIT_CODE_ANNOTATION];
  if (raw === undefined) return { exitCode: 0 };
  if (/^(0|[1-9]\d{0,2})$/.test(raw) && Number(raw) <= 255) return { exitCode: Number(raw) };
  return {
    exitCode: 1,
    message: `annotation ${EXIT_CODE_ANNOTATION}: Invalid value: ${JSON.stringify(raw.slice(0, 64))}: must be an integer in 0..255`,
  };
}

interface Stage {
  phase: Phase;
  /** Containers run (or ran): the pod got every volume once. */
  started: boolean;
  exit: { exitCode: number; message?: string } | undefined;
}

function stageOf(pod: Pod, volumes: VolumeReadiness): Stage {
  const old = pod.status?.phase;
  const started = volumes.ready || old === 'Running' || old === 'Succeeded' || old === 'Failed';
  // A pod finishes only after a status write showed it Running, so its volumes were really used.
  const exit = old === 'Running' ? podExit(pod) : undefined;
  if (exit && !pod.metadata.deletionTimestamp)
    return { phase: exit.exitCode === 0 ? 'Succeeded' : 'Failed', started, exit };
  return { phase: started ? 'Running' : 'Pending', started, exit };
}

function names(containers: readonly Container[]): string {
  return `[${containers.map((c) => c.name).join(' ')}]`;
}

function containerStatus(
  container: Container,
  stage: Stage,
  ready: boolean,
  old: ContainerStatus | undefined,
  now: string,
  waiting: Record<string, string>,
): ContainerStatus {
  const base = {
    name: container.name,
    image: container.image ?? '',
    imageID: '',
    restartCount: typeof old?.['restartCount'] === 'number' ? old['restartCount'] : 0,
  };
  if (!stage.started) {
    return { ...base, ready: false, started: false, state: { waiting } };
  }
  const startedAt = timeOr(old?.state?.running?.['startedAt'] ?? old?.state?.terminated?.['startedAt'], now);
  if (stage.exit) {
    const finishedAt = timeOr(old?.state?.terminated?.['finishedAt'], now);
    const { exitCode, message } = stage.exit;
    const terminated = {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      ...(message ? { message } : {}),
      startedAt,
      finishedAt,
    };
    return { ...base, ready: false, started: false, state: { terminated } };
  }
  return { ...base, ready, started: true, state: { running: { startedAt } } };
}

function initContainerStatus(
  container: Container,
  stage: Stage,
  old: ContainerStatus | undefined,
  now: string,
) {
  if (!stage.started) {
    return containerStatus(container, stage, false, old, now, { reason: 'PodInitializing' });
  }
  const startedAt = timeOr(old?.state?.terminated?.['startedAt'], now);
  const finishedAt = timeOr(old?.state?.terminated?.['finishedAt'], now);
  return {
    name: container.name,
    image: container.image ?? '',
    imageID: '',
    restartCount: 0,
    ready: true,
    started: false,
    state: { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt } },
  };
}

interface WantedCondition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

function wantedConditions(pod: Pod, stage: Stage, ready: boolean): WantedCondition[] {
  const containers = pod.spec.containers ?? [];
  const inits = pod.spec.initContainers ?? [];
  const finished = stage.phase === 'Succeeded' || stage.phase === 'Failed';
  const notReady = (type: string): WantedCondition =>
    finished
      ? { type, status: 'False', reason: 'PodCompleted' }
      : {
          type,
          status: 'False',
          reason: 'ContainersNotReady',
          message: `containers with unready status: ${names(containers)}`,
        };
  const initialized: WantedCondition =
    stage.started || inits.length === 0
      ? { type: 'Initialized', status: 'True', ...(finished ? { reason: 'PodCompleted' } : {}) }
      : {
          type: 'Initialized',
          status: 'False',
          reason: 'ContainersNotInitialized',
          message: `containers with incomplete status: ${names(inits)}`,
        };
  return [
    { type: 'PodReadyToStartContainers', status: stage.started && !finished ? 'True' : 'False' },
    initialized,
    ready ? { type: 'Ready', status: 'True' } : notReady('Ready'),
    ready ? { type: 'ContainersReady', status: 'True' } : notReady('ContainersReady'),
    { type: 'PodScheduled', status: 'True' },
  ];
}

/**
 * The status the node agent wants the pod to have, keeping every timestamp of a state that has not
 * changed (so a second call with the written status is equal to it).
 */
export function desiredPodStatus(pod: Pod, volumes: VolumeReadiness, now: Date): PodStatus {
  const at = rfc3339(now);
  const old = pod.status ?? {};
  const stage = stageOf(pod, volumes);
  const ready = stage.phase === 'Running' && volumes.ready && !stage.exit;
  const conditions: PodCondition[] = wantedConditions(pod, stage, ready).map((w) => {
    const prev = (old.conditions ?? []).find((c) => c.type === w.type);
    const since = prev && prev.status === w.status && prev.lastTransitionTime ? prev.lastTransitionTime : at;
    return { ...w, lastTransitionTime: since };
  });
  const oldStatus = (list: unknown, name: string): ContainerStatus | undefined =>
    (Array.isArray(list) ? (list as ContainerStatus[]) : []).find((s) => s.name === name);
  const inits = pod.spec.initContainers ?? [];
  const waiting = {
    reason: inits.length > 0 ? 'PodInitializing' : 'ContainerCreating',
    ...(volumes.waiting.length > 0 ? { message: `volumes not ready: ${volumes.waiting.join(', ')}` } : {}),
  };
  const containerStatuses = (pod.spec.containers ?? []).map((c) =>
    containerStatus(c, stage, ready, oldStatus(old.containerStatuses, c.name), at, waiting),
  );
  const initContainerStatuses = inits.map((c) =>
    initContainerStatus(c, stage, oldStatus(old['initContainerStatuses'], c.name), at),
  );
  return {
    phase: stage.phase,
    conditions,
    startTime: timeOr(old['startTime'], at),
    containerStatuses,
    ...(inits.length > 0 ? { initContainerStatuses } : {}),
  };
}

function comparable(status: PodStatus): unknown {
  const { phase, conditions, startTime, containerStatuses } = status;
  return { phase, conditions, startTime, containerStatuses, init: status['initContainerStatuses'] };
}

/** The status to write, or undefined when the pod already has it. */
export function podStatusChange(pod: Pod, volumes: VolumeReadiness, now: Date): PodStatus | undefined {
  const wanted = desiredPodStatus(pod, volumes, now);
  return isDeepStrictEqual(comparable(wanted), comparable(pod.status ?? {})) ? undefined : wanted;
}
