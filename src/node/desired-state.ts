// The node's desired state of world (PURE): every running pod bound to this node, times its volumes,
// resolved PVC -> PV -> CSI source. Volumes are grouped by their unique name (driver^handle),
// because staging happens once per volume per node and publishing once per pod.
import { attachRequired } from '../attach-detach/decide.js';
import { hasFinalizer as objectHasFinalizer } from '../api/finalizers.js';
import { isPodTerminated } from '../volume/pods.js';
import { uniqueVolumeName } from '../attach-detach/names.js';
import { IN_TREE_REPLACEMENTS } from '../volume/annotations.js';
import { nodeSelectorMatches } from '../volume/match.js';
import type {
  AccessMode,
  CSIDriver,
  CSIPersistentVolumeSource,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  VolumeMode,
} from '../api/types.js';
import { tryStorageBytes } from '../api/quantity.js';
import { fsResizePending } from '../resizer/decide.js';
import { type BindPluginDir, HOST_PATH_PLUGIN_DIR, LOCAL_VOLUME_PLUGIN_DIR } from './paths.js';

/** Added by the agent before it sets a pod's volumes up; removed after they are torn down. */
export const NODE_VOLUMES_FINALIZER = 'berth.io/node-volumes';
/** JSON {podVolumeName: hostPath} of the pod's ready volumes. */
export const VOLUME_PATHS_ANNOTATION = 'berth.io/volume-paths';

/** One pod's use of a volume. */
export interface PodUse {
  podUID: string;
  podNamespace: string;
  podName: string;
  serviceAccountName: string;
  /** The volume's name in the pod spec. */
  volumeName: string;
  readOnly: boolean;
}

export interface DesiredVolume {
  uniqueName: string;
  driver: string;
  volumeHandle: string;
  /** The PV name: the pod volume directory is named after it. */
  specName: string;
  csi: CSIPersistentVolumeSource;
  accessModes: AccessMode[];
  volumeMode: VolumeMode | undefined;
  mountOptions: string[];
  podInfoOnMount: boolean;
  attachRequired: boolean;
  pods: PodUse[];
  /** The claim waits (FileSystemResizePending) for this node to grow the volume to `capacity`. */
  expansion?: VolumeExpansion;
}

export interface VolumeExpansion {
  claimNamespace: string;
  claimName: string;
  capacity: string;
}

/** A local or hostPath volume the agent bind-mounts into one pod's volume directory. */
export interface DesiredBind {
  podUID: string;
  /** "<plugin>/<specName>": unique within the pod. */
  uniqueName: string;
  plugin: BindPluginDir;
  /** The PV name, or the pod volume's name for an inline hostPath volume. */
  specName: string;
  /** The host path (a directory, file or device) that is bound. */
  source: string;
  /** hostPath `type` ("" = no check); undefined for local volumes. */
  hostPathType?: string;
  /** A raw block local volume: bound onto a file under volumeDevices/. */
  block: boolean;
  readOnly: boolean;
}

/** How one pod volume resolves. */
export type PodVolumeState =
  | { volumeName: string; kind: 'csi'; uniqueName: string; specName: string }
  | { volumeName: string; kind: 'bind'; uniqueName: string; bind: DesiredBind }
  /** A FlexVolume (inline, or a PV's): mounted by the FlexVolume reconciler. */
  | { volumeName: string; kind: 'flex'; uniqueName: string; driver: string }
  | { volumeName: string; kind: 'ready'; hostPath?: string }
  | { volumeName: string; kind: 'pending'; message: string; failedMount?: string };

export interface DesiredStateView {
  nodeName: string;
  /** Pods whose spec.nodeName is this node (others are ignored anyway). */
  pods: readonly Pod[];
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  csiDriver(name: string): CSIDriver | undefined;
  /** This node's labels, for PV node affinity (default: just kubernetes.io/hostname). */
  nodeLabels?: Record<string, string>;
}

export interface DesiredState {
  volumes: Map<string, DesiredVolume>;
  /** Per pod UID, for every pod that is not terminated. */
  podVolumes: Map<string, PodVolumeState[]>;
}

export function hasFinalizer(pod: Pod): boolean {
  return objectHasFinalizer(pod, NODE_VOLUMES_FINALIZER);
}

/** Pods whose volumes the agent sets up, and so must hold until torn down. */
export function podNeedsFinalizer(pod: Pod): boolean {
  return (pod.spec.volumes ?? []).some(
    (v) =>
      v.persistentVolumeClaim !== undefined ||
      v.csi !== undefined ||
      v.hostPath !== undefined ||
      v.flexVolume !== undefined,
  );
}

/** The local and hostPath PV sources the agent binds; the PV name names the pod's volume dir. */
function bindOfVolume(pv: PersistentVolume, podUID: string, readOnly: boolean): DesiredBind | undefined {
  const specName = pv.metadata.name ?? '';
  // Neither source has a readOnly field: a volume offered only ReadOnlyMany is bound read-only.
  const modes = pv.spec.accessModes ?? [];
  const ro = readOnly || (modes.length > 0 && modes.every((m) => m === 'ReadOnlyMany'));
  if (pv.spec.local) {
    const plugin = LOCAL_VOLUME_PLUGIN_DIR;
    return {
      podUID,
      uniqueName: `${plugin}/${specName}`,
      plugin,
      specName,
      source: pv.spec.local.path,
      block: pv.spec.volumeMode === 'Block',
      readOnly: ro,
    };
  }
  if (pv.spec.hostPath) {
    const plugin = HOST_PATH_PLUGIN_DIR;
    return {
      podUID,
      uniqueName: `${plugin}/${specName}`,
      plugin,
      specName,
      source: pv.spec.hostPath.path,
      hostPathType: pv.spec.hostPath.type ?? '',
      block: false,
      readOnly: ro,
    };
  }
  return undefined;
}

/** Flex pod volumes are keyed by the pod volume's name: the reconciler reports them that way. */
export function flexUniqueName(podVolumeName: string): string {
  return `flex/${podVolumeName}`;
}

function flexState(volumeName: string, driver: string): PodVolumeState {
  return { volumeName, kind: 'flex', uniqueName: flexUniqueName(volumeName), driver };
}

function fitsNode(pv: PersistentVolume, view: DesiredStateView): boolean {
  const required = pv.spec.nodeAffinity?.required;
  if (!required) return true;
  const labels = view.nodeLabels ?? { 'kubernetes.io/hostname': view.nodeName };
  return nodeSelectorMatches(required, { name: view.nodeName, labels });
}

function resolveVolume(
  view: DesiredStateView,
  pod: Pod,
  vol: NonNullable<Pod['spec']['volumes']>[number],
): { state: PodVolumeState; volume?: PersistentVolume; claim?: PersistentVolumeClaim; readOnly: boolean } {
  const namespace = pod.metadata.namespace ?? 'default';
  const pending = (message: string) => ({
    state: { volumeName: vol.name, kind: 'pending' as const, message },
    readOnly: false,
  });
  if (vol.persistentVolumeClaim) {
    const claimName = vol.persistentVolumeClaim.claimName;
    const claim = view.claim(namespace, claimName);
    if (!claim) return pending(`persistentvolumeclaim "${claimName}" not found`);
    if (claim.metadata.deletionTimestamp)
      return pending(`persistentvolumeclaim "${claimName}" is being deleted`);
    const pvName = claim.spec.volumeName;
    if (!pvName || claim.status?.phase !== 'Bound') {
      return pending(`waiting for PersistentVolumeClaim "${claimName}" to be bound`);
    }
    const pv = view.volume(pvName);
    if (!pv) return pending(`persistentvolume "${pvName}" not found`);
    const readOnly = vol.persistentVolumeClaim.readOnly === true;
    if (pv.spec.csi) {
      return {
        state: {
          volumeName: vol.name,
          kind: 'csi',
          uniqueName: uniqueVolumeName(pv.spec.csi.driver, pv.spec.csi.volumeHandle),
          specName: pvName,
        },
        volume: pv,
        claim,
        readOnly: readOnly || pv.spec.csi.readOnly === true,
      };
    }
    const bind = bindOfVolume(pv, pod.metadata.uid ?? '', readOnly);
    if (bind) {
      if (!fitsNode(pv, view)) {
        const message = 'volume node affinity conflict';
        return {
          state: {
            volumeName: vol.name,
            kind: 'pending',
            message,
            failedMount: `MountVolume.NodeAffinity check failed for volume "${pvName}" : ${message}`,
          },
          readOnly,
        };
      }
      return { state: { volumeName: vol.name, kind: 'bind', uniqueName: bind.uniqueName, bind }, readOnly };
    }
    if (pv.spec.flexVolume) {
      const driver = pv.spec.flexVolume.driver;
      return { state: flexState(vol.name, driver), volume: pv, readOnly };
    }
    return unmountable(vol.name, pvName, unmountableSourceMessage(pv), readOnly);
  }
  if (vol.csi) {
    const message = 'inline CSI volumes are not supported by the berth node agent';
    return unmountable(vol.name, vol.name, message, false);
  }
  if (vol.flexVolume) return { state: flexState(vol.name, vol.flexVolume.driver), readOnly: false };
  if (vol.hostPath) {
    const plugin = HOST_PATH_PLUGIN_DIR;
    const bind: DesiredBind = {
      podUID: pod.metadata.uid ?? '',
      uniqueName: `${plugin}/${vol.name}`,
      plugin,
      specName: vol.name,
      source: vol.hostPath.path,
      hostPathType: vol.hostPath.type ?? '',
      block: false,
      readOnly: false,
    };
    return {
      state: { volumeName: vol.name, kind: 'bind', uniqueName: bind.uniqueName, bind },
      readOnly: false,
    };
  }
  // emptyDir, configMap, secret, projected...: nothing for the storage agent to do.
  return { state: { volumeName: vol.name, kind: 'ready' }, readOnly: false };
}

/** In-tree sources berth's CSI drivers replace, by their field name in the PV spec. */
const IN_TREE_SOURCES = ['rbd', 'nfs'] as const;

function unmountableSourceMessage(pv: PersistentVolume): string {
  const name = pv.metadata.name ?? '';
  const source = IN_TREE_SOURCES.find((s) => pv.spec[s] !== undefined);
  const replacement = source ? IN_TREE_REPLACEMENTS[`kubernetes.io/${source}`] : undefined;
  const hint = replacement
    ? ` (in-tree ${source ?? ''}: make it a CSI volume of ${replacement.driver}, see ${replacement.example})`
    : '';
  return `persistentvolume "${name}" has a source the node agent does not mount${hint}`;
}

/** A volume the agent will never mount: the pod waits, and says why in a FailedMount event. */
function unmountable(volumeName: string, specName: string, message: string, readOnly: boolean) {
  const failedMount = `MountVolume.SetUp failed for volume "${specName}" : ${message}`;
  return { state: { volumeName, kind: 'pending' as const, message, failedMount }, readOnly };
}

/** The node's part of a resize: the claim waits for it and the volume already has the new size. */
function pendingExpansion(
  claim: PersistentVolumeClaim | undefined,
  pv: PersistentVolume,
): VolumeExpansion | undefined {
  if (!claim || !fsResizePending(claim)) return undefined;
  const capacity = pv.spec.capacity?.['storage'];
  const grown = tryStorageBytes(capacity);
  const recorded = tryStorageBytes(claim.status?.capacity?.['storage']) ?? 0n;
  if (capacity === undefined || grown === undefined || grown <= recorded) return undefined;
  return {
    claimNamespace: claim.metadata.namespace ?? 'default',
    claimName: claim.metadata.name ?? '',
    capacity: String(capacity),
  };
}

export function computeDesiredState(view: DesiredStateView): DesiredState {
  const volumes = new Map<string, DesiredVolume>();
  const podVolumes = new Map<string, PodVolumeState[]>();
  for (const pod of view.pods) {
    if (pod.spec.nodeName !== view.nodeName || isPodTerminated(pod)) continue;
    const podUID = pod.metadata.uid ?? '';
    if (!podUID) continue;
    const states: PodVolumeState[] = [];
    // Only pods the agent holds with its finalizer get mounts: deleting them then waits for unmount.
    const mountable = hasFinalizer(pod);
    for (const vol of pod.spec.volumes ?? []) {
      const resolved = resolveVolume(view, pod, vol);
      states.push(resolved.state);
      if (resolved.state.kind !== 'csi' || !resolved.volume?.spec.csi || !mountable) continue;
      const pv = resolved.volume;
      const csi = pv.spec.csi as CSIPersistentVolumeSource;
      const driverObject = view.csiDriver(csi.driver);
      let desired = volumes.get(resolved.state.uniqueName);
      if (!desired) {
        const expansion = pendingExpansion(resolved.claim, pv);
        desired = {
          uniqueName: resolved.state.uniqueName,
          driver: csi.driver,
          volumeHandle: csi.volumeHandle,
          specName: resolved.state.specName,
          csi,
          accessModes: pv.spec.accessModes ?? [],
          volumeMode: pv.spec.volumeMode,
          mountOptions: pv.spec.mountOptions ?? [],
          podInfoOnMount: driverObject?.spec.podInfoOnMount === true,
          attachRequired: attachRequired(driverObject),
          pods: [],
          ...(expansion ? { expansion } : {}),
        };
        volumes.set(desired.uniqueName, desired);
      }
      if (desired.pods.some((p) => p.podUID === podUID)) continue;
      desired.pods.push({
        podUID,
        podNamespace: pod.metadata.namespace ?? 'default',
        podName: pod.metadata.name ?? '',
        serviceAccountName: pod.spec.serviceAccountName ?? 'default',
        volumeName: vol.name,
        readOnly: resolved.readOnly,
      });
    }
    podVolumes.set(podUID, states);
  }
  return { volumes, podVolumes };
}
