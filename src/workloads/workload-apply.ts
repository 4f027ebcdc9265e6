// Performs the ReplicaSet, Deployment and Job controllers' writes against the store, recording
// each write's event on the synced object. Creating what exists and deleting what is gone count
// as done (the informer was behind); an update is a compare-and-swap, so a stale view retries.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { ObjectStore } from '../store/types.js';
import type { EventSink } from './apply.js';
import type { WorkloadAction, WorkloadKind } from './workload-actions.js';

const kindInfo: Record<WorkloadKind, KindInfo> = { Pod: K.pod, ReplicaSet: K.rs };

export interface AppliedWrites {
  /** Names of the objects created, by kind. */
  created: { kind: WorkloadKind; name: string }[];
  /** Uids of the objects deleted. */
  deleted: string[];
}

export async function applyWorkloadActions(
  store: ObjectStore,
  events: EventSink,
  owner: KubeObject,
  ownerKind: KindInfo,
  actions: readonly WorkloadAction[],
): Promise<AppliedWrites> {
  const done: AppliedWrites = { created: [], deleted: [] };
  const namespace = owner.metadata.namespace ?? 'default';
  for (const action of actions) {
    let name: string | undefined;
    switch (action.type) {
      case 'create': {
        try {
          const created = await store.create(kindInfo[action.kind], action.object);
          name = created.metadata.name ?? '';
          done.created.push({ kind: action.kind, name });
        } catch (err) {
          if (!isStatusError(err, 'AlreadyExists')) {
            const message = err instanceof Error ? err.message : String(err);
            events.event(owner, 'Warning', 'FailedCreate', `Error creating: ${message}`);
            throw err;
          }
        }
        break;
      }
      case 'delete': {
        const { name: target, uid } = action.object.metadata;
        try {
          await store.delete(kindInfo[action.kind], namespace, target ?? '', uid ? { uid } : {});
          name = target ?? '';
          if (uid) done.deleted.push(uid);
        } catch (err) {
          if (!isStatusError(err, 'NotFound') && !isStatusError(err, 'Conflict')) throw err;
        }
        break;
      }
      case 'update':
        name = (await store.update(kindInfo[action.kind], action.object)).metadata.name ?? '';
        break;
      case 'status':
        await store.patch(
          ownerKind,
          namespace,
          owner.metadata.name ?? '',
          { status: action.status },
          {
            subresource: 'status',
          },
        );
        name = owner.metadata.name ?? '';
        break;
    }
    if (name !== undefined && action.event) {
      events.event(owner, action.event.type, action.event.reason, action.event.message(name));
    }
  }
  return done;
}
