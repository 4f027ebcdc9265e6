// Whether a released volume is this provisioner's to delete, and the secret DeleteVolume needs. Pure.
import type { Node, PersistentVolume, SecretReference, StorageClass } from '../api/types.js';
import { ANN_DYNAMICALLY_PROVISIONED, LABEL_HOSTNAME } from '../volume/annotations.js';
import { nodeSelectorMatches } from '../volume/match.js';
import {
  ANN_DELETION_SECRET_NAME,
  ANN_DELETION_SECRET_NAMESPACE,
  ANN_PROVISIONED_ON_NODE,
  FINALIZER_EXTERNAL_PROVISIONER,
} from '../volume/provisioning-names.js';
import { hasFinalizer } from '../api/finalizers.js';
import { secretReference } from '../volume/secrets.js';

export type VolumeAction =
  | { type: 'skip'; reason: string }
  | { type: 'delete' }
  /** Not a Delete volume: it keeps no provisioner finalizer. */
  | { type: 'removeFinalizer' };

export interface VolumeFacts {
  driverName: string;
  nodeName?: string;
  /** The node object of nodeName, for matching node affinity. */
  node?: Node;
}

/** shouldDelete: a Released Delete volume this driver (and, per node, this instance) provisioned. */
export function decideVolume(volume: PersistentVolume, facts: VolumeFacts): VolumeAction {
  if (volume.metadata.annotations?.[ANN_DYNAMICALLY_PROVISIONED] !== facts.driverName) {
    return { type: 'skip', reason: 'not provisioned by this driver' };
  }
  if (volume.spec.csi?.driver !== facts.driverName)
    return { type: 'skip', reason: 'not a volume of this driver' };
  if (facts.nodeName !== undefined && !isOnNode(volume, facts.nodeName, facts.node)) {
    return { type: 'skip', reason: 'the volume belongs to another node' };
  }
  const protectedByUs = hasFinalizer(volume, FINALIZER_EXTERNAL_PROVISIONER);
  if (volume.spec.persistentVolumeReclaimPolicy !== 'Delete') {
    return protectedByUs
      ? { type: 'removeFinalizer' }
      : { type: 'skip', reason: 'reclaim policy is not Delete' };
  }
  if (volume.metadata.deletionTimestamp && !protectedByUs)
    return { type: 'skip', reason: 'already being deleted' };
  if (volume.status?.phase !== 'Released') return { type: 'skip', reason: 'the volume is not Released' };
  return { type: 'delete' };
}

function isOnNode(volume: PersistentVolume, nodeName: string, node: Node | undefined): boolean {
  const recorded = volume.metadata.annotations?.[ANN_PROVISIONED_ON_NODE];
  if (recorded !== undefined) return recorded === nodeName;
  const required = volume.spec.nodeAffinity?.required;
  if (!required) return false;
  const labels = node?.metadata.labels ?? { [LABEL_HOSTNAME]: nodeName };
  return nodeSelectorMatches(required, { name: nodeName, labels });
}

/**
 * The secret DeleteVolume needs: the one remembered on the volume, else the class's provisioner
 * secret templated with what is still known (the volume name only).
 */
export function deletionSecretRef(
  volume: PersistentVolume,
  storageClass: StorageClass | undefined,
): SecretReference | undefined {
  const annotations = volume.metadata.annotations ?? {};
  const name = annotations[ANN_DELETION_SECRET_NAME];
  const namespace = annotations[ANN_DELETION_SECRET_NAMESPACE];
  if (name !== undefined && namespace !== undefined) {
    return name === '' && namespace === '' ? undefined : { name, namespace };
  }
  if (!storageClass) return undefined;
  return secretReference('provisioner', storageClass.parameters ?? {}, {
    pvName: volume.metadata.name ?? '',
  });
}
