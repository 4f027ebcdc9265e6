// What the driver can do, and how Kubernetes access modes map onto CSI ones (csi-lib-utils'
// ToCSIAccessMode rules). Pure.
import type { AccessMode } from '../api/types.js';
import type {
  AccessModeName,
  ControllerServiceCapability,
  PartialMessage,
  PluginCapability,
} from '../csi/types.js';
import { PlanError } from '../volume/plan-error.js';

export interface DriverCapabilities {
  /** VOLUME_ACCESSIBILITY_CONSTRAINTS: CreateVolume takes topology requirements. */
  topology: boolean;
  /** SINGLE_NODE_MULTI_WRITER: ReadWriteOnce and ReadWriteOncePod have CSI modes of their own. */
  singleNodeMultiWriter: boolean;
  /** CREATE_DELETE_SNAPSHOT: volumes can be restored from snapshots. */
  snapshots?: boolean;
  /** CLONE_VOLUME: volumes can be created from other volumes. */
  clone?: boolean;
}

/** Checks the driver can provision at all; throws a PlanError saying why not. */
export function decideCapabilities(
  plugin: readonly PartialMessage<PluginCapability>[],
  controller: readonly PartialMessage<ControllerServiceCapability>[],
): DriverCapabilities {
  const services = new Set(plugin.map((c) => c.service?.type));
  const rpcs = new Set(controller.map((c) => c.rpc?.type));
  if (!services.has('CONTROLLER_SERVICE')) {
    throw new PlanError(
      'CSI driver does not support dynamic provisioning: plugin CONTROLLER_SERVICE capability is not reported',
    );
  }
  if (!rpcs.has('CREATE_DELETE_VOLUME')) {
    throw new PlanError(
      'CSI driver does not support dynamic provisioning: controller CREATE_DELETE_VOLUME capability is not reported',
    );
  }
  return {
    topology: services.has('VOLUME_ACCESSIBILITY_CONSTRAINTS'),
    singleNodeMultiWriter: rpcs.has('SINGLE_NODE_MULTI_WRITER'),
    snapshots: rpcs.has('CREATE_DELETE_SNAPSHOT'),
    clone: rpcs.has('CLONE_VOLUME'),
  };
}

/** The one CSI access mode that covers all of a claim's access modes. */
export function csiAccessMode(modes: readonly AccessMode[], singleNodeMultiWriter: boolean): AccessModeName {
  const has = new Set(modes);
  if (has.has('ReadWriteOncePod')) {
    if (has.size > 1) {
      throw new PlanError(
        'Kubernetes does not support use of ReadWriteOncePod with other access modes on the same PersistentVolume',
      );
    }
    return singleNodeMultiWriter ? 'SINGLE_NODE_SINGLE_WRITER' : 'SINGLE_NODE_WRITER';
  }
  if (has.has('ReadWriteMany')) return 'MULTI_NODE_MULTI_WRITER';
  if (has.has('ReadOnlyMany') && has.has('ReadWriteOnce')) {
    throw new PlanError('CSI does not support ReadOnlyMany and ReadWriteOnce on the same PersistentVolume');
  }
  if (has.has('ReadOnlyMany')) return 'MULTI_NODE_READER_ONLY';
  if (has.has('ReadWriteOnce'))
    return singleNodeMultiWriter ? 'SINGLE_NODE_MULTI_WRITER' : 'SINGLE_NODE_WRITER';
  throw new PlanError(`unsupported access modes [${modes.join(', ')}]`);
}
