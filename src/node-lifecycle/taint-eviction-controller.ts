// The taint eviction controller's wiring: one reconcile per pod bound to a node, from the Pod and
// Node informers (a node's pods are looked at again when its NoExecute taints change), doing what
// decideTaintEviction says. An eviction is recorded as Kubernetes' taint manager does: a
// TaintManagerEviction Event, the pod's DisruptionTarget condition, then an ordinary delete (the
// pod's own grace period; uid precondition, so a new pod of the same name is never hit). A pod
// on a node that stopped reporting stays Terminating, its volumes attached, until it is removed:
// force-deleted by a user, or, once the node has the out-of-service taint, marked Failed and
// force-deleted here as Kubernetes' pod garbage collector does.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { Node, Pod, PodCondition } from '../api/types.js';
import {
  type Clock,
  Controller,
  ControllerInformers,
  type EventRecorder,
  type Informer,
  keyOf,
  type Logger,
  podsByNode,
  type SharedInformerCache,
  silentLogger,
  systemClock,
} from '../machinery/index.js';
import type { ObjectStore } from '../store/types.js';
import { nodeTaints, rfc3339, TAINT_OUT_OF_SERVICE } from '../volume/node-health.js';
import { decideTaintEviction, isStrandedOnOutOfServiceNode } from './taint-eviction.js';
import { QueueController } from '../machinery/queue-controller.js';

export interface TaintEvictionDeps {
  store: ObjectStore;
  clock?: Clock;
  log?: Logger;
  informers?: SharedInformerCache;
  recorder?: EventRecorder;
}

/** The taints of a node this controller acts on (NoExecute, and out-of-service of any effect), comparable. */
function noExecuteKey(node: Node): string {
  return JSON.stringify(
    nodeTaints(node).filter((t) => t.effect === 'NoExecute' || t.key === TAINT_OUT_OF_SERVICE),
  );
}

export const DISRUPTION_CONDITION = {
  type: 'DisruptionTarget',
  status: 'True' as const,
  reason: 'DeletionByTaintManager',
  message: 'Taint manager: deleting due to NoExecute taint',
};

export class TaintEvictionController extends QueueController {
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recorder: EventRecorder | undefined;
  protected readonly informers: ControllerInformers;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  protected readonly controller: Controller;
  /** When each pod's eviction was first wanted (ms, this controller's clock). */
  private readonly pending = new Map<string, number>();

  constructor(deps: TaintEvictionDeps) {
    super();
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: 'taint-eviction-controller' });
    this.recorder = deps.recorder;
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.nodes = this.informers.informer<Node>(K.node);
    this.pods = this.informers.informer<Pod>(K.pod, podsByNode);
    this.controller = new Controller({
      name: 'taint-eviction',
      reconcile: (key) => this.reconcile(key),
      workers: 2,
      clock: this.clock,
      logger: this.log,
    });
    const enqueuePod = (pod: Pod): void => {
      if (pod.spec.nodeName) this.controller.enqueue(keyOf(pod));
    };
    this.informers.on(this.pods, { onAdd: enqueuePod, onUpdate: (_old, pod) => enqueuePod(pod) });
    const enqueueNode = (node: Node): void => {
      for (const pod of this.pods.byIndex(podsByNode, node.metadata.name ?? '')) enqueuePod(pod);
    };
    this.informers.on(this.nodes, {
      onAdd: enqueueNode,
      onUpdate: (old, node) => {
        if (noExecuteKey(old) !== noExecuteKey(node)) enqueueNode(node);
      },
      onDelete: enqueueNode,
    });
  }

  private async reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const pod = this.pods.getByKey(key);
    const node = pod?.spec.nodeName ? this.nodes.get(undefined, pod.spec.nodeName) : undefined;
    if (pod && isStrandedOnOutOfServiceNode(pod, node)) return this.forceDelete(pod, key);
    const nowMs = this.clock.now().getTime();
    const decision = pod
      ? decideTaintEviction(pod, node, nowMs, this.pending.get(key))
      : ({ kind: 'Keep' } as const);
    if (decision.kind === 'Keep') {
      if (this.pending.delete(key) && pod && !pod.metadata.deletionTimestamp) {
        this.recorder?.event(pod, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
      }
      return;
    }
    if (decision.kind === 'EvictLater') {
      if (!this.pending.has(key)) this.pending.set(key, decision.startMs);
      return { requeueAfterMs: decision.atMs - nowMs + 1 };
    }
    await this.evict(pod!, key, decision.reason);
    this.pending.delete(key);
  }

  /** Marks a pod its out-of-service node will never confirm Failed, and deletes it at once. */
  private async forceDelete(pod: Pod, key: string): Promise<void> {
    this.log.info('force-deleting a terminating pod on an out-of-service node', {
      pod: key,
      node: pod.spec.nodeName,
    });
    try {
      await this.store.update<Pod>(
        K.pod,
        { ...pod, status: { ...pod.status, phase: 'Failed' } },
        { subresource: 'status' },
      );
      await this.store.delete(K.pod, pod.metadata.namespace, pod.metadata.name ?? '', {
        gracePeriodSeconds: 0,
        ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
      });
    } catch (err) {
      if (isStatusError(err, 'NotFound')) return;
      throw err;
    }
  }

  private async evict(pod: Pod, key: string, reason: string): Promise<void> {
    this.log.info('evicting pod from a node with NoExecute taints', {
      pod: key,
      node: pod.spec.nodeName,
      reason,
    });
    this.recorder?.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    const name = pod.metadata.name ?? '';
    try {
      const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== DISRUPTION_CONDITION.type);
      const condition: PodCondition = {
        ...DISRUPTION_CONDITION,
        lastTransitionTime: rfc3339(this.clock.now()),
      };
      await this.store.update<Pod>(
        K.pod,
        { ...pod, status: { ...pod.status, conditions: [...conditions, condition] } },
        { subresource: 'status' },
      );
      await this.store.delete(K.pod, pod.metadata.namespace, name, {
        ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
      });
    } catch (err) {
      // gone already, or changed (the informer brings the new pod and it is decided again)
      if (isStatusError(err, 'NotFound')) return;
      throw err;
    }
  }
}
