// One Deployment sync, pure: the Deployment, its namespace's ReplicaSets and pods in; the writes
// of Kubernetes' deployment controller out. The ReplicaSet whose template equals the Deployment's
// (ignoring pod-template-hash) is the new one, named "<deployment>-<hash>"; every other one it
// controls is old. RollingUpdate grows the new set while at most replicas+maxSurge pods exist and
// shrinks old sets while at least replicas-maxUnavailable are available (defaults 25% each, surge
// rounded up, unavailable down). Recreate empties the old sets and waits for their pods to go
// before the new set grows. A sync makes one step (scale up, else scale down); the ReplicaSets'
// status changes bring the next one.
import { isDeepStrictEqual } from 'node:util';
import type { Pod } from '../api/types.js';
import type { Deployment, DeploymentStatus, ReplicaSet } from '../api/workload-types.js';
import { conditionsAt, controlledBy, controllerReference, count, rfc3339 } from './owned-pods.js';
import { LABEL_TEMPLATE_HASH, templateHash, withoutHashLabel } from './template-hash.js';
import type { WorkloadAction, WorkloadPlan } from './workload-actions.js';

export const ANNOTATION_REVISION = 'deployment.kubernetes.io/revision';
export const ANNOTATION_DESIRED = 'deployment.kubernetes.io/desired-replicas';
export const ANNOTATION_MAX = 'deployment.kubernetes.io/max-replicas';
const DEFAULT_HISTORY = 10;

export interface DeploymentState {
  deployment: Deployment;
  replicaSets: readonly ReplicaSet[];
  pods: readonly Pod[];
  now: Date;
}

/** An int-or-percent of `total`: percentages round up for surge, down for unavailability. */
export function intOrPercent(value: unknown, total: number, roundUp: boolean, fallback: string): number {
  const v = value === undefined ? fallback : value;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  const m = typeof v === 'string' ? /^(\d{1,3})%$/.exec(v) : null;
  const pct = m ? Number(m[1]) : Number(fallback.slice(0, -1));
  const exact = (pct * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** maxSurge and maxUnavailable; both 0 would never progress, so unavailability is then 1. */
export function rollingLimits(d: Deployment, replicas: number): { surge: number; unavailable: number } {
  const ru = d.spec.strategy?.rollingUpdate;
  const surge = intOrPercent(ru?.maxSurge, replicas, true, '25%');
  let unavailable = intOrPercent(ru?.maxUnavailable, replicas, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable: Math.min(unavailable, replicas) };
}

const specReplicas = (rs: ReplicaSet): number => count(rs.spec.replicas, 1);
const available = (rs: ReplicaSet): number => count(rs.status?.availableReplicas, 0);
const revisionOf = (rs: ReplicaSet): number => Number(rs.metadata.annotations?.[ANNOTATION_REVISION]) || 0;
const created = (rs: ReplicaSet): number => Date.parse(rs.metadata.creationTimestamp ?? '') || 0;

function sameTemplate(rs: ReplicaSet, d: Deployment): boolean {
  return isDeepStrictEqual(
    JSON.parse(JSON.stringify(withoutHashLabel(rs.spec.template))),
    JSON.parse(JSON.stringify(withoutHashLabel(d.spec.template))),
  );
}

function newReplicaSetObject(
  d: Deployment,
  hash: string,
  replicas: number,
  revision: number,
  maxReplicas: number,
): ReplicaSet {
  const template = structuredClone(d.spec.template);
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [LABEL_TEMPLATE_HASH]: hash },
  };
  const selector = structuredClone(d.spec.selector);
  selector.matchLabels = { ...selector.matchLabels, [LABEL_TEMPLATE_HASH]: hash };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name ?? ''}-${hash}`,
      namespace: d.metadata.namespace ?? 'default',
      labels: { ...template.metadata.labels },
      annotations: {
        [ANNOTATION_REVISION]: String(revision),
        [ANNOTATION_DESIRED]: String(count(d.spec.replicas, 1)),
        [ANNOTATION_MAX]: String(maxReplicas),
      },
      ownerReferences: [controllerReference(d)],
    },
    spec: {
      replicas,
      ...(d.spec.minReadySeconds !== undefined ? { minReadySeconds: d.spec.minReadySeconds } : {}),
      selector,
      template,
    },
  };
}

function scaleAction(d: Deployment, rs: ReplicaSet, to: number, maxReplicas: number): WorkloadAction {
  const from = specReplicas(rs);
  const next = structuredClone(rs);
  next.spec.replicas = to;
  next.metadata.annotations = {
    ...next.metadata.annotations,
    [ANNOTATION_DESIRED]: String(count(d.spec.replicas, 1)),
    [ANNOTATION_MAX]: String(maxReplicas),
  };
  const way = to > from ? 'up' : 'down';
  return {
    type: 'update',
    kind: 'ReplicaSet',
    object: next,
    event: {
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      message: (name) => `Scaled ${way} replica set ${name} from ${from} to ${to}`,
    },
  };
}

/** Scale steps of a rolling update: grow the new set within the surge, else shrink old sets. */
function rollingSteps(
  d: Deployment,
  replicas: number,
  newRS: ReplicaSet,
  olds: readonly ReplicaSet[],
): WorkloadAction[] {
  const { surge, unavailable } = rollingLimits(d, replicas);
  const maxReplicas = replicas + surge;
  const all = [newRS, ...olds];
  const total = all.reduce((n, rs) => n + specReplicas(rs), 0);
  const current = specReplicas(newRS);
  if (current > replicas) return [scaleAction(d, newRS, replicas, maxReplicas)];
  if (current < replicas) {
    const up = Math.min(maxReplicas - total, replicas - current);
    if (up > 0) return [scaleAction(d, newRS, current + up, maxReplicas)];
  }
  const minAvailable = replicas - unavailable;
  const newUnavailable = Math.max(0, current - available(newRS));
  let budget = total - minAvailable - newUnavailable;
  if (budget <= 0) return [];
  const steps: WorkloadAction[] = [];
  const oldest = [...olds].filter((rs) => specReplicas(rs) > 0).sort((a, b) => created(a) - created(b));
  const target = new Map(oldest.map((rs) => [rs, specReplicas(rs)]));
  // Unhealthy old pods go first: they count against no one's availability.
  for (const rs of oldest) {
    const cut = Math.min(budget, specReplicas(rs) - available(rs));
    if (cut <= 0) continue;
    target.set(rs, specReplicas(rs) - cut);
    budget -= cut;
  }
  const availableAll = all.reduce((n, rs) => n + available(rs), 0);
  let healthyCut = Math.min(budget, availableAll - minAvailable);
  for (const rs of oldest) {
    if (healthyCut <= 0) break;
    const cut = Math.min(healthyCut, target.get(rs) ?? 0);
    target.set(rs, (target.get(rs) ?? 0) - cut);
    healthyCut -= cut;
  }
  for (const rs of oldest) {
    const to = target.get(rs) ?? 0;
    if (to !== specReplicas(rs)) steps.push(scaleAction(d, rs, to, maxReplicas));
  }
  return steps;
}

function statusOf(
  d: Deployment,
  replicas: number,
  owned: readonly ReplicaSet[],
  newRS: ReplicaSet | undefined,
  created: string | undefined,
  now: Date,
): DeploymentStatus {
  const sum = (f: (rs: ReplicaSet) => unknown) => owned.reduce((n, rs) => n + count(f(rs), 0), 0);
  const total = sum((rs) => rs.status?.replicas);
  const availableAll = sum((rs) => rs.status?.availableReplicas);
  const updated = newRS ? count(newRS.status?.replicas, 0) : 0;
  const { unavailable } = rollingLimits(d, replicas);
  const minAvailable = d.spec.strategy?.type === 'Recreate' ? replicas : replicas - unavailable;
  const complete =
    newRS !== undefined &&
    updated === replicas &&
    availableAll === replicas &&
    total === replicas &&
    count(newRS.status?.availableReplicas, 0) === replicas;
  const newName = newRS?.metadata.name ?? created ?? '';
  const progressing = created
    ? { reason: 'NewReplicaSetCreated', message: `Created new replica set "${newName}"` }
    : complete
      ? { reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${newName}" has successfully progressed.` }
      : { reason: 'ReplicaSetUpdated', message: `ReplicaSet "${newName}" is progressing.` };
  const conditions = conditionsAt(
    d.status?.conditions ?? [],
    [
      availableAll >= minAvailable
        ? {
            type: 'Available',
            status: 'True',
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          }
        : {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          },
      { type: 'Progressing', status: 'True', ...progressing },
    ],
    rfc3339(now),
    true,
  );
  return {
    ...(d.metadata.generation !== undefined ? { observedGeneration: d.metadata.generation } : {}),
    replicas: total,
    updatedReplicas: updated,
    readyReplicas: sum((rs) => rs.status?.readyReplicas),
    availableReplicas: availableAll,
    ...(replicas - availableAll > 0 ? { unavailableReplicas: replicas - availableAll } : {}),
    ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
    conditions,
  };
}

function sameStatus(old: DeploymentStatus | undefined, next: DeploymentStatus): boolean {
  const strip = (s: DeploymentStatus | undefined) =>
    JSON.parse(
      JSON.stringify({
        ...s,
        conditions: (s?.conditions ?? []).map(({ lastUpdateTime: _u, lastTransitionTime: _t, ...c }) => c),
      }),
    );
  return isDeepStrictEqual(strip(old), strip(next));
}

/** Old sets beyond revisionHistoryLimit that hold no pods, oldest first. */
function historyToDelete(d: Deployment, olds: readonly ReplicaSet[]): ReplicaSet[] {
  const limit = count(d.spec.revisionHistoryLimit, DEFAULT_HISTORY);
  const idle = olds
    .filter(
      (rs) => specReplicas(rs) === 0 && count(rs.status?.replicas, 0) === 0 && !rs.metadata.deletionTimestamp,
    )
    .sort((a, b) => revisionOf(a) - revisionOf(b) || created(a) - created(b));
  return idle.slice(0, Math.max(0, idle.length - limit));
}

export function decideDeployment(state: DeploymentState): WorkloadPlan {
  const { deployment: d, now } = state;
  if (d.metadata.deletionTimestamp) return { actions: [] };
  const replicas = count(d.spec.replicas, 1);
  const owned = controlledBy(state.replicaSets, d).filter((rs) => !rs.metadata.deletionTimestamp);
  const newRS = owned.find((rs) => sameTemplate(rs, d));
  const olds = owned.filter((rs) => rs !== newRS);
  const actions: WorkloadAction[] = [];
  let createdName: string | undefined;
  const recreate = d.spec.strategy?.type === 'Recreate';

  if (!d.spec.paused) {
    const oldPods = state.pods.filter((p) =>
      olds.some(
        (rs) => rs.metadata.uid && p.metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid),
      ),
    );
    const oldsRunning = olds.some((rs) => specReplicas(rs) > 0);
    if (recreate && oldsRunning) {
      for (const rs of olds) if (specReplicas(rs) > 0) actions.push(scaleAction(d, rs, 0, replicas));
    } else if (!newRS) {
      if (!(recreate && oldPods.length > 0)) {
        const collisionCount = count(d.status?.collisionCount, 0);
        const hash = templateHash(withoutHashLabel(d.spec.template), collisionCount);
        const name = `${d.metadata.name ?? ''}-${hash}`;
        if (state.replicaSets.some((rs) => rs.metadata.name === name)) {
          // Someone else's set (or an older template) has the name: hash again with one more collision.
          actions.push({ type: 'status', status: { ...d.status, collisionCount: collisionCount + 1 } });
          return { actions };
        }
        const { surge } = rollingLimits(d, replicas);
        const total = olds.reduce((n, rs) => n + specReplicas(rs), 0);
        const start = recreate ? replicas : Math.max(0, Math.min(replicas, replicas + surge - total));
        const revision = Math.max(0, ...olds.map(revisionOf)) + 1;
        const maxReplicas = recreate ? replicas : replicas + surge;
        actions.push({
          type: 'create',
          kind: 'ReplicaSet',
          object: newReplicaSetObject(d, hash, start, revision, maxReplicas),
          event: {
            type: 'Normal',
            reason: 'ScalingReplicaSet',
            message: (n) => `Scaled up replica set ${n} from 0 to ${start}`,
          },
        });
        createdName = name;
      }
    } else if (recreate) {
      if (oldPods.length === 0 && specReplicas(newRS) !== replicas)
        actions.push(scaleAction(d, newRS, replicas, replicas));
    } else {
      actions.push(...rollingSteps(d, replicas, newRS, olds));
    }
    for (const rs of historyToDelete(d, olds))
      actions.push({ type: 'delete', kind: 'ReplicaSet', object: rs });
  }

  const status = statusOf(d, replicas, owned, newRS, createdName, now);
  if (!sameStatus(d.status, status)) actions.push({ type: 'status', status: { ...status } });
  return { actions };
}
