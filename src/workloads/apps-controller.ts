// Wiring of the ReplicaSet, Deployment and Job controllers: shared informers for the three kinds
// and pods, one queue per kind. A pod change wakes the ReplicaSet or Job that controls it; a
// ReplicaSet change wakes it and the Deployment that controls it. Pods made with generated names
// are tracked with expectations, so a sync never acts on a cache that has not seen its last writes.
import type { KindInfo } from '../api/kinds.js';
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { objectKey } from '../api/meta.js';
import type { Pod } from '../api/types.js';
import type { Deployment, Job, ReplicaSet } from '../api/workload-types.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import { Controller, type ReconcileResult } from '../machinery/controller.js';
import { EventRecorder } from '../machinery/events.js';
import { byNamespace } from '../machinery/indexes.js';
import type { Informer } from '../machinery/informer.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { ItemExponentialFailureRateLimiter } from '../machinery/rate-limiter.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import { ControllerInformers } from '../machinery/shared-cache.js';
import type { ObjectStore } from '../store/types.js';
import { decideDeployment } from './deployment-decide.js';
import { Expectations } from './expectations.js';
import { decideJob } from './job-decide.js';
import { controllerUid } from './owned-pods.js';
import { decideReplicaSet } from './replicaset-decide.js';
import { applyWorkloadActions } from './workload-apply.js';
import type { WorkloadPlan } from './workload-actions.js';

const RESYNC_MS = 30_000;
const RETRY_BASE_MS = 50;
const RETRY_MAX_MS = 30_000;

export interface AppsControllersDeps {
  store: ObjectStore;
  clock?: Clock;
  log?: Logger;
  /** The process's shared informers; default: informers of its own. */
  informers?: SharedInformerCache;
}

interface Loop<T extends KubeObject> {
  kind: KindInfo;
  component: string;
  informer: Informer<T>;
  controller: Controller;
  recorder: EventRecorder;
}

export class AppsControllers {
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly informers: ControllerInformers;
  private readonly pods: Informer<Pod>;
  private readonly deployments: Loop<Deployment>;
  private readonly replicaSets: Loop<ReplicaSet>;
  private readonly jobs: Loop<Job>;
  private readonly expectations = new Expectations();
  private started = false;

  constructor(deps: AppsControllersDeps) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: 'apps-controllers' });
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.pods = this.informers.informer<Pod>(K.pod, byNamespace);
    this.deployments = this.loop<Deployment>(K.deploy, 'deployment-controller', (key) =>
      this.syncDeployment(key),
    );
    this.replicaSets = this.loop<ReplicaSet>(K.rs, 'replicaset-controller', (key) =>
      this.syncReplicaSet(key),
    );
    this.jobs = this.loop<Job>(K.job, 'job-controller', (key) => this.syncJob(key));
    this.wireHandlers();
  }

  private loop<T extends KubeObject>(
    kind: KindInfo,
    component: string,
    reconcile: (key: string) => Promise<ReconcileResult>,
  ): Loop<T> {
    return {
      kind,
      component,
      informer: this.informers.informer<T>(kind, byNamespace),
      controller: new Controller({
        name: kind.plural,
        reconcile,
        clock: this.clock,
        logger: this.log,
        rateLimiter: new ItemExponentialFailureRateLimiter(RETRY_BASE_MS, RETRY_MAX_MS),
      }),
      recorder: new EventRecorder({ store: this.store, component, clock: this.clock, logger: this.log }),
    };
  }

  private get loops(): Loop<KubeObject>[] {
    return [this.deployments, this.replicaSets, this.jobs] as unknown as Loop<KubeObject>[];
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.informers.sync();
    for (const l of this.loops) l.controller.start();
    this.log.info('deployment, replicaset and job controllers started');
  }

  async stop(): Promise<void> {
    for (const l of this.loops) await l.controller.stop();
    await this.informers.close();
    for (const l of this.loops) await l.recorder.flush();
  }

  /** Resolves once nothing is queued or being synced. For tests. */
  async whenIdle(): Promise<void> {
    for (const l of this.loops) await l.controller.whenIdle();
  }

  private wireHandlers(): void {
    const on = this.informers.on.bind(this.informers);
    for (const l of this.loops) {
      const enqueue = (o: KubeObject): void => l.controller.enqueue(objectKey(o));
      on(
        l.informer,
        { onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue },
        { resyncMs: RESYNC_MS },
      );
    }
    // A dependent wakes its controller: found by the controller reference's uid among the owner kind.
    const wakeOwner = (obj: KubeObject, owners: Loop<KubeObject>): void => {
      const uid = controllerUid(obj);
      if (!uid) return;
      const ref = obj.metadata.ownerReferences?.find((r) => r.uid === uid);
      if (ref?.kind !== owners.kind.kind) return;
      owners.controller.enqueue(`${obj.metadata.namespace ?? ''}/${ref.name}`);
    };
    const onPod = (pod: Pod): void => {
      wakeOwner(pod, this.replicaSets as unknown as Loop<KubeObject>);
      wakeOwner(pod, this.jobs as unknown as Loop<KubeObject>);
    };
    on(this.pods, { onAdd: onPod, onUpdate: (_o, p) => onPod(p), onDelete: onPod });
    const onSet = (rs: ReplicaSet): void => wakeOwner(rs, this.deployments as unknown as Loop<KubeObject>);
    on(this.replicaSets.informer, { onAdd: onSet, onUpdate: (_o, s) => onSet(s), onDelete: onSet });
  }

  /** Whether the pod cache has seen this owner's last creations and deletions. */
  private podsCaughtUp(loop: Loop<KubeObject>, key: string, namespace: string): boolean {
    const pods = this.pods.byIndex(byNamespace, namespace);
    return this.expectations.satisfied(
      `${loop.kind.kind}/${key}`,
      (name) => pods.some((p) => p.metadata.name === name),
      (uid) => !pods.some((p) => p.metadata.uid === uid && !p.metadata.deletionTimestamp),
      this.clock.now().getTime(),
    );
  }

  private async run<T extends KubeObject>(
    loop: Loop<T>,
    key: string,
    obj: T,
    plan: WorkloadPlan,
  ): Promise<ReconcileResult> {
    if (plan.actions.length > 0) {
      this.log.debug('syncing', { kind: loop.kind.kind, key, actions: plan.actions.map((a) => a.type) });
      try {
        const done = await applyWorkloadActions(this.store, loop.recorder, obj, loop.kind, plan.actions);
        const pods = done.created.filter((c) => c.kind === 'Pod').map((c) => c.name);
        this.expectations.expect(`${loop.kind.kind}/${key}`, pods, done.deleted, this.clock.now().getTime());
      } catch (err) {
        this.expectations.forget(`${loop.kind.kind}/${key}`);
        throw err;
      }
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : undefined;
  }

  private async syncReplicaSet(key: string): Promise<ReconcileResult> {
    const set = this.replicaSets.informer.getByKey(key);
    if (!set) return this.expectations.forget(`ReplicaSet/${key}`);
    const namespace = set.metadata.namespace ?? '';
    if (!this.podsCaughtUp(this.replicaSets as unknown as Loop<KubeObject>, key, namespace)) return;
    const pods = this.pods.byIndex(byNamespace, namespace);
    return this.run(this.replicaSets, key, set, decideReplicaSet({ set, pods, now: this.clock.now() }));
  }

  private async syncJob(key: string): Promise<ReconcileResult> {
    const job = this.jobs.informer.getByKey(key);
    if (!job) return this.expectations.forget(`Job/${key}`);
    const namespace = job.metadata.namespace ?? '';
    if (!this.podsCaughtUp(this.jobs as unknown as Loop<KubeObject>, key, namespace)) return;
    const pods = this.pods.byIndex(byNamespace, namespace);
    return this.run(this.jobs, key, job, decideJob({ job, pods, now: this.clock.now() }));
  }

  private async syncDeployment(key: string): Promise<ReconcileResult> {
    const deployment = this.deployments.informer.getByKey(key);
    if (!deployment) return;
    const namespace = deployment.metadata.namespace ?? '';
    const plan = decideDeployment({
      deployment,
      replicaSets: this.replicaSets.informer.byIndex(byNamespace, namespace),
      pods: this.pods.byIndex(byNamespace, namespace),
      now: this.clock.now(),
    });
    return this.run(this.deployments, key, deployment, plan);
  }
}
