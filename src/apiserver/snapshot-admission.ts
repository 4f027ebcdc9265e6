// The snapshot validation webhook's cross-object rule, run as admission: one default
// VolumeSnapshotClass per driver (a second default for the same driver is refused).
import { StatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { VolumeSnapshotClass } from '../api/snapshot-types.js';
import type { ObjectStore } from '../store/types.js';
import { isDefaultSnapshotClass } from '../volume/snapshot-names.js';

/** The other default class of the same driver, if there is one (pure). */
export function conflictingDefaultClass(
  vsclass: VolumeSnapshotClass,
  classes: readonly VolumeSnapshotClass[],
): VolumeSnapshotClass | undefined {
  if (!isDefaultSnapshotClass(vsclass)) return undefined;
  return classes.find(
    (other) =>
      other.metadata.name !== vsclass.metadata.name &&
      other.driver === vsclass.driver &&
      isDefaultSnapshotClass(other),
  );
}

/** Refuses a second default VolumeSnapshotClass for a driver, worded as upstream's webhook. */
export async function admitSnapshotClass(store: ObjectStore, obj: KubeObject): Promise<void> {
  if (obj.kind !== 'VolumeSnapshotClass') return;
  const vsclass = obj as VolumeSnapshotClass;
  if (!isDefaultSnapshotClass(vsclass)) return;
  const { items } = await store.list<VolumeSnapshotClass>(K.vsclass);
  const other = conflictingDefaultClass(vsclass, items);
  if (!other) return;
  throw new StatusError(
    400,
    'BadRequest',
    `admission webhook "validation-webhook.snapshot.storage.k8s.io" denied the request: default snapshot class: ${other.metadata.name ?? ''} already exists for driver: ${vsclass.driver}`,
  );
}
