// The namespace controller's wiring: one reconcile per namespace being deleted, from the Namespace
// informer. Its content is listed live from the store, kind by kind (only while a namespace is
// being emptied, so no cache of every kind is kept for it). While objects remain it looks again
// after a per-namespace exponential back-off (1 s doubling to 1 min, with jitter) that starts over
// whenever fewer objects remain than last time: prompt while deletion progresses, calm while a
// finalizer holds it. The namespace's conditions say what is left and which finalizers hold it.
import { isStatusError } from '../api/errors.js';
import { K, kinds } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import {
  type Clock,
  Controller,
  DEFAULT_JITTER,
  ItemBackoff,
  ItemExponentialFailureRateLimiter,
  type ReconcileResult,
  ControllerInformers,
  type Informer,
  type Logger,
  onAnyChange,
  type SharedInformerCache,
  silentLogger,
  systemClock,
} from '../machinery/index.js';
import { QueueController } from '../machinery/queue-controller.js';
import type { ObjectStore } from '../store/types.js';
import { decideNamespace, isBeingEmptied, type NamespaceAction, type NamespaceContent } from './decide.js';

export interface NamespaceControllerDeps {
  store: ObjectStore;
  clock?: Clock;
  log?: Logger;
  informers?: SharedInformerCache;
}

const namespacedKinds = kinds.filter((k) => k.namespaced);

export class NamespaceController extends QueueController {
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  protected readonly informers: ControllerInformers;
  private readonly namespaces: Informer<KubeObject>;
  protected readonly controller: Controller;
  private readonly backoff: ItemBackoff;
  /** How many objects each namespace being emptied held at its last look. */
  private readonly remaining = new Map<string, number>();

  constructor(deps: NamespaceControllerDeps) {
    super();
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: 'namespace-controller' });
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.namespaces = this.informers.informer<KubeObject>(K.namespace);
    this.backoff = new ItemBackoff(
      this.clock,
      new ItemExponentialFailureRateLimiter(1000, 60_000, { jitter: DEFAULT_JITTER }),
    );
    this.controller = new Controller({
      name: 'namespace',
      reconcile: (name) => this.reconcile(name),
      workers: 2,
      clock: this.clock,
      logger: this.log,
    });
    this.informers.on(
      this.namespaces,
      onAnyChange((ns) => {
        if (isBeingEmptied(ns)) this.controller.enqueue(ns.metadata.name ?? '');
      }),
    );
  }

  private async reconcile(name: string): Promise<ReconcileResult> {
    const namespace = this.namespaces.get(undefined, name);
    if (!namespace || !isBeingEmptied(namespace)) {
      this.forget(name);
      return;
    }
    const content: NamespaceContent[] = [];
    for (const kind of namespacedKinds) {
      const { items } = await this.store.list(kind, { namespace: name, readOnly: true });
      content.push({ kind, objects: items });
    }
    const decision = decideNamespace(namespace, content, this.clock.now());
    let current = namespace;
    for (const action of decision.actions) current = await this.apply(current, action);
    if (!decision.contentRemains) {
      this.forget(name);
      return;
    }
    const count = content.reduce((n, c) => n + c.objects.length, 0);
    if (count < (this.remaining.get(name) ?? Infinity)) this.backoff.forget(name);
    this.remaining.set(name, count);
    return { requeueAfterMs: this.backoff.failed(name) };
  }

  private forget(name: string): void {
    this.backoff.forget(name);
    this.remaining.delete(name);
  }

  /** Does one action; returns the namespace as it now is (a write's answer, else unchanged). */
  private async apply(namespace: KubeObject, action: NamespaceAction): Promise<KubeObject> {
    const name = namespace.metadata.name ?? '';
    if (action.kind === 'Delete') {
      try {
        await this.store.delete(action.of, name, action.name, action.uid ? { uid: action.uid } : {});
      } catch (err) {
        // gone already, or replaced by a newer object of that name: the next pass sees it
        if (!isStatusError(err, 'NotFound') && !isStatusError(err, 'Conflict')) throw err;
      }
      return namespace;
    }
    try {
      if (action.kind === 'SetConditions') {
        const status = { ...(namespace['status'] as object | undefined), conditions: action.conditions };
        return await this.store.update(K.namespace, { ...namespace, status }, { subresource: 'status' });
      }
      const spec = { ...(namespace['spec'] as object | undefined), finalizers: action.finalizers };
      const finalized = await this.store.update(
        K.namespace,
        { ...namespace, spec },
        { subresource: 'finalize' },
      );
      this.log.info('namespace emptied: its kubernetes finalizer is removed', { namespace: name });
      return finalized;
    } catch (err) {
      // finalized already (by an earlier pass, or by hand): nothing left to do
      if (isStatusError(err, 'NotFound')) return namespace;
      throw err;
    }
  }
}
