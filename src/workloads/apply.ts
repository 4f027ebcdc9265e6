// Performs StatefulSet actions against the store, in order, with the events Kubernetes' StatefulSet
// controller records. Creating what already exists and deleting what is already gone count as
// done: the informer was just behind.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { StatefulSet } from '../api/types.js';
import type { ObjectStore } from '../store/types.js';
import type { StatefulSetAction } from './decide.js';

export interface EventSink {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

function ignoring(reason: 'AlreadyExists' | 'NotFound') {
  return (err: unknown): undefined => {
    if (isStatusError(err, reason)) return undefined;
    throw err;
  };
}

export async function applyStatefulSetActions(
  store: ObjectStore,
  events: EventSink,
  set: StatefulSet,
  actions: readonly StatefulSetAction[],
): Promise<void> {
  const setName = set.metadata.name ?? '';
  for (const action of actions) {
    switch (action.type) {
      case 'createClaim': {
        const name = action.claim.metadata.name ?? '';
        const created = await store.create(K.pvc, action.claim).catch(ignoring('AlreadyExists'));
        if (created) {
          const msg = `create Claim ${name} Pod ${action.podName} in StatefulSet ${setName} success`;
          events.event(set, 'Normal', 'SuccessfulCreate', msg);
        }
        break;
      }
      case 'createPod': {
        const name = action.pod.metadata.name ?? '';
        const created = await store.create(K.pod, action.pod).catch(ignoring('AlreadyExists'));
        if (created)
          events.event(
            set,
            'Normal',
            'SuccessfulCreate',
            `create Pod ${name} in StatefulSet ${setName} successful`,
          );
        break;
      }
      case 'deletePod': {
        const { namespace, name, uid } = action.pod.metadata;
        const deleted = await store
          .delete(K.pod, namespace, name ?? '', uid ? { uid } : {})
          .catch(ignoring('NotFound'));
        if (deleted) {
          const msg = `delete Pod ${name ?? ''} in StatefulSet ${setName} successful`;
          events.event(set, 'Normal', 'SuccessfulDelete', msg);
        }
        break;
      }
      case 'deleteClaim': {
        const { namespace, name, uid } = action.claim.metadata;
        const deleted = await store
          .delete(K.pvc, namespace, name ?? '', uid ? { uid } : {})
          .catch(ignoring('NotFound'));
        if (deleted) {
          const msg = `delete Claim ${name ?? ''} in StatefulSet ${setName} successful`;
          events.event(set, 'Normal', 'SuccessfulDelete', msg);
        }
        break;
      }
      case 'updateClaim':
        await store.update(K.pvc, action.claim);
        break;
      case 'updateStatus':
        await store.patch(
          K.sts,
          set.metadata.namespace,
          setName,
          { status: action.status },
          { subresource: 'status' },
        );
        break;
    }
  }
}
