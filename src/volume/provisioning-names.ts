// Names the provisioner reads and writes. The Kubernetes ones are external-provisioner's own, so
// volumes it makes look the same to Kubernetes tools; the berth ones record in-flight work.

/** On every provisioned volume: DeleteVolume must run before the object goes. */
export const FINALIZER_EXTERNAL_PROVISIONER = 'external-provisioner.volume.kubernetes.io/finalizer';

/** The in-flight record on a claim (defined with the names the PV controller knows: it clears it). */
export { ANN_PROVISIONING, FINALIZER_PROVISIONING } from './annotations.js';

/** Which node-deployment instance made a volume; only that instance deletes it. */
export const ANN_PROVISIONED_ON_NODE = 'berth.io/provisioned-on-node';

/** Where the provisioner secret of a volume is remembered for DeleteVolume. */
export const ANN_DELETION_SECRET_NAME = 'volume.kubernetes.io/provisioner-deletion-secret-name';
export const ANN_DELETION_SECRET_NAMESPACE = 'volume.kubernetes.io/provisioner-deletion-secret-namespace';

/** Added to volume_context; tells which provisioner instance created the volume. */
export const ATTR_PROVISIONER_IDENTITY = 'storage.kubernetes.io/csiProvisionerIdentity';

/** StorageClass parameters under this prefix are for the provisioner, never for the driver. */
export const RESERVED_PARAMETER_PREFIX = 'csi.storage.k8s.io/';
export const PARAM_FSTYPE = 'csi.storage.k8s.io/fstype';
/** The deprecated, case-insensitive spelling of the fsType parameter. */
export const PARAM_LEGACY_FSTYPE = 'fstype';

/** fsType for Filesystem volumes when the class names none. */
export const DEFAULT_FSTYPE = 'ext4';

/** Volume names are the claim's UID with this prefix, so a repeat CreateVolume is idempotent. */
export const VOLUME_NAME_PREFIX = 'pvc';

/** Event reasons the provisioner records that the binder does not. */
export const REASON_PROVISIONING = 'Provisioning';
export const REASON_PROVISIONING_CLEANUP_FAILED = 'ProvisioningCleanupFailed';

export const EVENT_COMPONENT = 'external-provisioner';
