// Annotation, finalizer and event-reason names the PV controller reads and writes. The values are
// Kubernetes' own, so berth's objects stay readable by (and writable from) real Kubernetes tools.

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_DYNAMICALLY_PROVISIONED = 'pv.kubernetes.io/provisioned-by';
export const ANN_MIGRATED_TO = 'pv.kubernetes.io/migrated-to';
/** Read before spec.storageClassName on both claims and volumes, as Kubernetes does. */
export const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
export const ANN_IS_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANN_BETA_IS_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';

/**
 * berth's provisioner puts these on a claim from just before CreateVolume: the name of the volume
 * being created, and a finalizer, so the backend volume survives a crash and a deleted claim as a
 * record (finished into a PersistentVolume or deleted, never forgotten). Once the volume exists the
 * record has done its job; the bind write clears it, which spares the claim a write of its own.
 */
export const ANN_PROVISIONING = 'berth.io/provisioning';
export const FINALIZER_PROVISIONING = 'berth.io/provisioning-protection';

/** The value Kubernetes writes for yes/no annotations. */
export const ANN_YES = 'yes';

export const FINALIZER_PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const FINALIZER_PV_PROTECTION = 'kubernetes.io/pv-protection';

/** The provisioner name of classes whose volumes are only ever created by hand. */
export const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

/** Removed in-tree plugins whose volumes berth serves with a CSI driver of its own instead. */
export const IN_TREE_REPLACEMENTS: Readonly<Record<string, { driver: string; example: string }>> = {
  'kubernetes.io/rbd': { driver: 'rbd.csi.berth.io', example: 'examples/rbd' },
  'kubernetes.io/nfs': { driver: 'nfs.csi.berth.io', example: 'examples/nfs' },
};

/** Node label every node carries; used when the selected node's object is not (yet) known. */
export const LABEL_HOSTNAME = 'kubernetes.io/hostname';

/** Event reasons, verbatim from Kubernetes' pkg/controller/volume/events. */
export const REASON = {
  failedBinding: 'FailedBinding',
  volumeMismatch: 'VolumeMismatch',
  waitForFirstConsumer: 'WaitForFirstConsumer',
  waitForPodScheduled: 'WaitForPodScheduled',
  externalProvisioning: 'ExternalProvisioning',
  provisioningFailed: 'ProvisioningFailed',
  /** berth's own: a class of a node-local provisioner binds Immediately (see volume/node-local.ts). */
  unsuitableBindingMode: 'UnsuitableBindingMode',
  provisioningSucceeded: 'ProvisioningSucceeded',
  claimLost: 'ClaimLost',
  claimMisbound: 'ClaimMisbound',
  volumeFailedDelete: 'VolumeFailedDelete',
  volumeFailedRecycle: 'VolumeFailedRecycle',
  volumeRecycled: 'VolumeRecycled',
  volumeUnknownReclaimPolicy: 'VolumeUnknownReclaimPolicy',
} as const;

/** The component name Kubernetes' binder records events under. */
export const EVENT_COMPONENT = 'persistentvolume-controller';
