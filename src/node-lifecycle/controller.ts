// The node lifecycle controller's wiring: one reconcile per node, from the Node and Lease informers,
// doing what decideNode says. The probe times live here, in memory, measured on this controller's
// clock: a new controller (a restart, a new leader) starts every node's grace period afresh, as
// Kubernetes' does. Writes are compare-and-swap on the node's resourceVersion, so a node agent
// posting Ready=True at the same moment wins or is re-read, never overwritten.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { Lease, Node } from '../api/types.js';
import {
  type Clock,
  Controller,
  ControllerInformers,
  type Informer,
  type Logger,
  onAnyChange,
  type SharedInformerCache,
  silentLogger,
  systemClock,
} from '../machinery/index.js';
import type { ObjectStore } from '../store/types.js';
import { DEFAULT_NODE_MONITOR_GRACE_MS, NODE_LEASE_NAMESPACE } from '../volume/node-health.js';
import {
  decideNode,
  DEFAULT_NODE_STARTUP_GRACE_MS,
  type NodeLifecycleAction,
  type NodeProbe,
} from './decide.js';
import { QueueController } from '../machinery/queue-controller.js';

export interface NodeLifecycleDeps {
  store: ObjectStore;
  /** --node-monitor-grace-period; default 40 s. */
  gracePeriodMs?: number;
  /** --node-startup-grace-period; default 60 s. */
  startupGracePeriodMs?: number;
  clock?: Clock;
  log?: Logger;
  informers?: SharedInformerCache;
}

export class NodeLifecycleController extends QueueController {
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly timing: { gracePeriodMs: number; startupGracePeriodMs: number };
  protected readonly informers: ControllerInformers;
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  protected readonly controller: Controller;
  private readonly probes = new Map<string, NodeProbe>();

  constructor(deps: NodeLifecycleDeps) {
    super();
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: 'node-lifecycle-controller' });
    this.timing = {
      gracePeriodMs: deps.gracePeriodMs ?? DEFAULT_NODE_MONITOR_GRACE_MS,
      startupGracePeriodMs: deps.startupGracePeriodMs ?? DEFAULT_NODE_STARTUP_GRACE_MS,
    };
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.nodes = this.informers.informer<Node>(K.node);
    this.leases = this.informers.informer<Lease>(K.lease);
    this.controller = new Controller({
      name: 'node-lifecycle',
      reconcile: (name) => this.reconcile(name),
      workers: 2,
      clock: this.clock,
      logger: this.log,
    });
    this.informers.on(
      this.nodes,
      onAnyChange((n) => this.controller.enqueue(n.metadata.name ?? '')),
    );
    this.informers.on(
      this.leases,
      onAnyChange((l) => {
        if (l.metadata.namespace === NODE_LEASE_NAMESPACE) this.controller.enqueue(l.metadata.name ?? '');
      }),
    );
  }

  private async reconcile(name: string): Promise<{ requeueAfterMs?: number } | void> {
    const node = this.nodes.get(undefined, name);
    if (!node) {
      this.probes.delete(name);
      return;
    }
    const lease = this.leases.get(NODE_LEASE_NAMESPACE, name);
    const decision = decideNode(node, lease, this.probes.get(name), this.clock.now(), this.timing);
    this.probes.set(name, decision.probe);
    let current = node;
    for (const action of decision.actions) current = await this.apply(current, action);
    if (decision.recheckAfterMs !== undefined) return { requeueAfterMs: decision.recheckAfterMs };
  }

  private async apply(node: Node, action: NodeLifecycleAction): Promise<Node> {
    const name = node.metadata.name ?? '';
    try {
      if (action.kind === 'SetConditions') {
        this.log.info('node stopped posting status: conditions set to Unknown', { node: name });
        return await this.store.update<Node>(
          K.node,
          { ...node, status: { ...node.status, conditions: action.conditions } },
          { subresource: 'status' },
        );
      }
      this.log.info('node taints follow its Ready condition', {
        node: name,
        taints: action.taints.map((t) => `${t.key}:${t.effect}`),
      });
      return await this.store.update<Node>(K.node, {
        ...node,
        spec: { ...node.spec, taints: action.taints },
      });
    } catch (err) {
      // a newer node (say, the agent back with Ready=True): the informer brings it; decide again
      if (isStatusError(err, 'Conflict') || isStatusError(err, 'NotFound')) {
        this.log.debug('node changed while being updated; deciding again', { node: name });
      }
      throw err;
    }
  }
}
