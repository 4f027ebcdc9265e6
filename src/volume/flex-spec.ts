// Which flex volumes a pod uses, as FlexVolumeSpecs: the source (inline in the pod or from a bound
// PersistentVolume) with the name kubelet gives the volume. Pure.
import type { FlexVolumeSource, PersistentVolume, PersistentVolumeClaim, Pod, Volume } from '../api/types.js';

export interface FlexVolumeSpec {
  /** "vendor/driver" */
  driver: string;
  /**
   * The spec name: the PV's name, or for an inline volume `<podUID>-<pod volume name>` (see
   * inlineFlexVolumeName). It is the volume's name unless the driver's getvolumename names it.
   */
  name: string;
  source: FlexVolumeSource;
  /** The source's readOnly, or the pod's claim reference marked readOnly. */
  readOnly: boolean;
  /** The PV the volume comes from, for events and for the secret's namespace. */
  pv?: PersistentVolume;
  /** The pod volume's name (for events such as `volume "data"`). */
  podVolumeName?: string;
}

export function flexSpecFromVolume(pv: PersistentVolume, claimReadOnly = false): FlexVolumeSpec | undefined {
  const source = pv.spec.flexVolume;
  if (!source) return undefined;
  return {
    driver: source.driver,
    name: pv.metadata.name ?? '',
    source,
    readOnly: source.readOnly === true || claimReadOnly,
    pv,
  };
}

/**
 * An inline volume belongs to its pod alone, so its name carries the pod's UID: two pods whose
 * inline volumes are both called "data" get two device mounts and two attachments, and deleting one
 * pod never detaches the other's. (Kubelet names it by the pod volume's name only, so such pods
 * share one.) A driver that answers getvolumename still names volumes itself: equal names from it
 * mean the same volume.
 */
export function inlineFlexVolumeName(podUID: string, podVolumeName: string): string {
  return podUID ? `${podUID}-${podVolumeName}` : podVolumeName;
}

export function flexSpecFromPodVolume(volume: Volume, pod: Pod): FlexVolumeSpec | undefined {
  const source = volume.flexVolume;
  if (!source) return undefined;
  return {
    driver: source.driver,
    name: inlineFlexVolumeName(pod.metadata.uid ?? '', volume.name),
    source,
    readOnly: source.readOnly === true,
    podVolumeName: volume.name,
  };
}

/** How events name the volume: the PV's name, or the pod volume's name for an inline volume. */
export function flexVolumeLabel(spec: FlexVolumeSpec): string {
  return spec.pv ? spec.name : (spec.podVolumeName ?? spec.name);
}

export interface PodVolumeLookup {
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
}

export interface PodFlexVolumes {
  specs: FlexVolumeSpec[];
  /** Volumes that will be flex volumes once their claim binds (or its PV appears): why each waits. */
  waiting: { podVolumeName: string; reason: string }[];
}

/** The flex volumes of `pod`: inline ones, and claims bound to PVs with a flexVolume source. */
export function flexVolumesOfPod(pod: Pod, lookup: PodVolumeLookup): PodFlexVolumes {
  const namespace = pod.metadata.namespace ?? 'default';
  const out: PodFlexVolumes = { specs: [], waiting: [] };
  for (const volume of pod.spec.volumes ?? []) {
    const inline = flexSpecFromPodVolume(volume, pod);
    if (inline) {
      out.specs.push(inline);
      continue;
    }
    const ref = volume.persistentVolumeClaim;
    if (!ref) continue;
    const claim = lookup.claim(namespace, ref.claimName);
    const pvName = claim?.spec.volumeName;
    if (!claim || !pvName) {
      out.waiting.push({
        podVolumeName: volume.name,
        reason: `persistentvolumeclaim "${ref.claimName}" is not bound`,
      });
      continue;
    }
    const pv = lookup.volume(pvName);
    if (!pv) {
      out.waiting.push({ podVolumeName: volume.name, reason: `persistentvolume "${pvName}" not found` });
      continue;
    }
    const spec = flexSpecFromVolume(pv, ref.readOnly === true);
    if (spec) out.specs.push({ ...spec, podVolumeName: volume.name });
  }
  return out;
}

/** What the attach/detach side needs; FlexVolumeHost implements it. */
export interface AttachOperations {
  /** Attaches the volume to the node; returns the device ('' when the driver needs no attach). */
  attach(spec: FlexVolumeSpec, nodeName: string): Promise<string>;
  detach(volumeName: string, nodeName: string, driver: string): Promise<void>;
  isAttached(spec: FlexVolumeSpec, nodeName: string): Promise<boolean>;
}
