// One pod on this node ("pod|<namespace>/<name>" keys): sets up its bind and flex mounts, then
// writes what decidePod says about it: the volumes finalizer (added before its volumes are set
// up, removed once they are torn down), the volume paths annotation, and its status.
import { withFinalizer, withoutFinalizer } from '../api/finalizers.js';
import { K } from '../api/kinds.js';
import type { Pod } from '../api/types.js';
import { isPodTerminated } from '../volume/pods.js';
import type { Clock } from '../machinery/index.js';
import type { ObjectStore } from '../store/types.js';
import type { ActualState } from './actual-state.js';
import { decidePod, type PodAction } from './decide.js';
import { hasFinalizer, NODE_VOLUMES_FINALIZER, VOLUME_PATHS_ANNOTATION } from './desired-state.js';
import type { NodeCache } from './node-cache.js';
import type { PodMounts } from './pod-mounts.js';
import type { PodEvents } from './volume-reconciler.js';

export interface PodReconcilerDeps {
  store: ObjectStore;
  nodeName: string;
  clock: Clock;
  cache: NodeCache;
  actual: ActualState;
  mounts: PodMounts;
  events: PodEvents;
}

export class PodReconciler {
  private readonly deps: PodReconcilerDeps;

  constructor(deps: PodReconcilerDeps) {
    this.deps = deps;
  }

  /** `key` is "namespace/name". */
  async reconcile(key: string): Promise<void> {
    const { cache, actual, mounts, events, nodeName } = this.deps;
    const cached = cache.pods.getByKey(key);
    if (!cached || cached.spec.nodeName !== nodeName) return;
    const uid = cached.metadata.uid ?? '';
    const records = actual.publishesOfPod(uid);
    const mounted = new Map(
      records.filter((r) => r.state === 'mounted').map((r) => [r.uniqueName, r.targetPath]),
    );
    const volumes = cache.desiredState([cached]).podVolumes.get(uid) ?? [];
    for (const v of volumes) {
      if (v.kind === 'pending' && v.failedMount) events([uid], 'Warning', 'FailedMount', v.failedMount);
    }
    const wantBinds =
      hasFinalizer(cached) && !isPodTerminated(cached)
        ? volumes.flatMap((v) => (v.kind === 'bind' ? [v.bind] : []))
        : [];
    const binds = await mounts.reconcileBinds(uid, wantBinds);
    for (const [uniqueName, target] of binds.mounted) mounted.set(uniqueName, target);
    const flexBusy = await mounts.reconcileFlex(cached, volumes, mounted);
    const actions = decidePod({
      pod: cached,
      volumes,
      mounted,
      hasMounts: records.length > 0 || binds.remaining > 0 || flexBusy,
      now: this.deps.clock.now(),
    });
    await this.write(cached, actions);
    if (binds.error) throw binds.error;
  }

  private async write(pod: Pod, actions: readonly PodAction[]): Promise<void> {
    const { store } = this.deps;
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    for (const action of actions) {
      switch (action.kind) {
        case 'AddFinalizer':
        case 'RemoveFinalizer': {
          const fresh = await store.get<Pod>(K.pod, namespace, name);
          if (fresh.metadata.uid !== pod.metadata.uid) return;
          const next =
            action.kind === 'AddFinalizer'
              ? withFinalizer(fresh, NODE_VOLUMES_FINALIZER)
              : withoutFinalizer(fresh, NODE_VOLUMES_FINALIZER);
          if (next === fresh) break;
          // compare-and-swap on resourceVersion: a conflict retries the key
          await store.update<Pod>(K.pod, next);
          break;
        }
        case 'SetVolumePaths':
          await store.patch(K.pod, namespace, name, {
            metadata: { annotations: { [VOLUME_PATHS_ANNOTATION]: action.value } },
          });
          break;
        case 'SetStatus':
          await store.patch(K.pod, namespace, name, { status: action.status }, { subresource: 'status' });
          break;
      }
    }
  }
}
