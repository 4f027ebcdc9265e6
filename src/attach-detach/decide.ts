// The attach/detach controller's decision (PURE): for one node, which VolumeAttachments should
// exist (scheduled, non-terminated pods × their attachable CSI volumes) against which do.
// Kubernetes' order: detach first (so a volume moving between nodes is freed), then attach;
// a volume is detached only after the node stops reporting it in use; RWO/RWOP volumes are
// never attached to two nodes (Multi-Attach error). A volume the node still reports in use is
// force-detached only when the node is unhealthy (Ready not True) and the detach has waited longer
// than the max wait for unmount (6 min), or at once when the node carries the
// node.kubernetes.io/out-of-service taint (non-graceful node shutdown).
import type { ObjectReference } from '../api/meta.js';
import { hasOutOfServiceTaint, isNodeReady } from '../volume/node-health.js';
import { isPodTerminated } from '../volume/pods.js';
import { uniqueVolumeName } from './names.js';
import type {
  CSIDriver,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  VolumeAttachment,
} from '../api/types.js';

export interface AttachView {
  node: string;
  /** The node object, if it exists (volumesInUse comes from it). */
  nodeObject: Node | undefined;
  /** Pods whose spec.nodeName is this node. */
  pods: readonly Pod[];
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  driver(name: string): CSIDriver | undefined;
  /** Every VolumeAttachment (all nodes): multi-attach needs the others. */
  attachments: readonly VolumeAttachment[];
  now: Date;
  /** Kubernetes' ReconcilerMaxWaitForUnmountDuration: 6 min. */
  maxWaitForUnmountMs: number;
  /** When a detach of this VolumeAttachment was first wanted but held for unmount (ms), if it was. */
  detachRequestedAt(attachment: string): number | undefined;
}

/** Kubernetes' ReconcilerMaxWaitForUnmountDuration. */
export const DEFAULT_MAX_WAIT_FOR_UNMOUNT_MS = 6 * 60_000;

export interface DesiredAttachment {
  pv: string;
  driver: string;
  volumeHandle: string;
  node: string;
  /** A pod that needs it, for events. */
  pod: Pod;
}

export type AttachAction =
  | { kind: 'CreateAttachment'; attachment: DesiredAttachment }
  | {
      kind: 'DeleteAttachment';
      name: string;
      /** Why a volume still reported in use is detached anyway; absent for a normal detach. */
      force?: 'out-of-service' | 'max-wait-for-unmount';
    }
  | {
      /** Held: still mounted. The caller keeps `requestedAtMs` and looks again after `recheckAfterMs`. */
      kind: 'WaitForUnmount';
      name: string;
      requestedAtMs: number;
      recheckAfterMs?: number;
    }
  | EventAction;

/** A CSI driver needs attach unless its CSIDriver object says attachRequired: false. */
export function attachRequired(driver: CSIDriver | undefined): boolean {
  return driver?.spec?.attachRequired !== false;
}

export function multiAttachAllowed(pv: PersistentVolume): boolean {
  const modes = pv.spec.accessModes ?? [];
  return modes.length === 0 || modes.includes('ReadWriteMany') || modes.includes('ReadOnlyMany');
}

export interface EventAction {
  kind: 'Event';
  ref: ObjectReference;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

function podRef(pod: Pod): ObjectReference {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    name: pod.metadata.name ?? '',
    namespace: pod.metadata.namespace ?? 'default',
    ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
  };
}

/** The pod's event when its volume cannot attach here because it is exclusively attached elsewhere. */
export function multiAttachError(pod: Pod, volumeName: string): EventAction {
  return {
    kind: 'Event',
    ref: podRef(pod),
    type: 'Warning',
    reason: 'FailedAttachVolume',
    message: `Multi-Attach error for volume "${volumeName}" Volume is already exclusively attached to one node and can't be attached to another`,
  };
}

export function desiredAttachments(view: AttachView): DesiredAttachment[] {
  const out = new Map<string, DesiredAttachment>();
  for (const pod of view.pods) {
    if (isPodTerminated(pod)) continue;
    for (const vol of pod.spec.volumes ?? []) {
      const claimName = vol.persistentVolumeClaim?.claimName;
      if (!claimName) continue;
      const claim = view.claim(pod.metadata.namespace ?? 'default', claimName);
      const pvName = claim?.spec.volumeName;
      if (!pvName || claim.status?.phase !== 'Bound') continue;
      const pv = view.volume(pvName);
      const csi = pv?.spec.csi;
      if (!csi || !attachRequired(view.driver(csi.driver))) continue;
      if (!out.has(pvName)) {
        out.set(pvName, {
          pv: pvName,
          driver: csi.driver,
          volumeHandle: csi.volumeHandle,
          node: view.node,
          pod,
        });
      }
    }
  }
  return [...out.values()];
}

/** The detach of a volume the node still reports mounted: held, unless the node is gone for good. */
function mountedDetach(view: AttachView, name: string): AttachAction {
  const nowMs = view.now.getTime();
  const requestedAtMs = view.detachRequestedAt(name) ?? nowMs;
  if (hasOutOfServiceTaint(view.nodeObject))
    return { kind: 'DeleteAttachment', name, force: 'out-of-service' };
  const healthy = isNodeReady(view.nodeObject);
  const deadline = requestedAtMs + view.maxWaitForUnmountMs;
  if (!healthy && nowMs > deadline) return { kind: 'DeleteAttachment', name, force: 'max-wait-for-unmount' };
  // a healthy node unmounts and reports it; an unhealthy one only runs out the clock
  return {
    kind: 'WaitForUnmount',
    name,
    requestedAtMs,
    ...(healthy ? {} : { recheckAfterMs: deadline - nowMs + 1 }),
  };
}

export function decideAttachments(view: AttachView): AttachAction[] {
  const actions: AttachAction[] = [];
  const desired = desiredAttachments(view);
  const wanted = new Set(desired.map((d) => `${d.pv}\u0000${d.driver}`));
  const inUse = new Set(view.nodeObject?.status?.volumesInUse ?? []);
  const onThisNode = view.attachments.filter((va) => va.spec.nodeName === view.node);

  for (const va of onThisNode) {
    const pvName = va.spec.source.persistentVolumeName;
    if (va.metadata.deletionTimestamp || !pvName) continue;
    if (wanted.has(`${pvName}\u0000${va.spec.attacher}`)) continue;
    const pv = view.volume(pvName);
    const unique = pv?.spec.csi ? uniqueVolumeName(pv.spec.csi.driver, pv.spec.csi.volumeHandle) : '';
    const name = va.metadata.name ?? '';
    if (unique && inUse.has(unique)) actions.push(mountedDetach(view, name));
    else actions.push({ kind: 'DeleteAttachment', name });
  }

  for (const d of desired) {
    const existing = onThisNode.find(
      (va) => va.spec.source.persistentVolumeName === d.pv && va.spec.attacher === d.driver,
    );
    if (existing && !existing.metadata.deletionTimestamp) continue;
    if (existing) continue; // being detached; attach again once it is gone
    const pv = view.volume(d.pv);
    const elsewhere = view.attachments.filter(
      (va) => va.spec.source.persistentVolumeName === d.pv && va.spec.nodeName !== view.node,
    );
    if (pv && !multiAttachAllowed(pv) && elsewhere.length > 0) {
      actions.push(multiAttachError(d.pod, d.pv));
      continue;
    }
    actions.push({ kind: 'CreateAttachment', attachment: d });
  }
  return actions;
}
