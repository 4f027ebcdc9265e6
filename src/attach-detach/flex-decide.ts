// The attach/detach controller's FlexVolume decisions (PURE). Flex volumes of drivers whose init
// says attach: true are attached by calling the driver on the controller side, and the result is
// recorded in node.status.volumesAttached as `flexvolume-<vendor>/<driver>/<volumeName>`, as
// Kubernetes records it. Detach first, then attach; a volume is detached only once the node no
// longer reports it in status.volumesInUse; RWO/RWOP PVs are never attached to two nodes.
import type { Pod } from '../api/types.js';
import { flexVolumesOfPod, type FlexVolumeSpec, type PodVolumeLookup } from '../volume/flex-spec.js';
import { parseUniqueFlexVolumeName } from '../volume/flex-names.js';
import { isPodTerminated } from '../volume/pods.js';
import { type EventAction, multiAttachAllowed, multiAttachError } from './decide.js';

/** One flex volume a running pod on the node uses. */
export interface FlexCandidate {
  spec: FlexVolumeSpec;
  /** A pod that uses it, for events. */
  pod: Pod;
}

/** A candidate whose driver is attachable, with the volume name the driver gives it. */
export interface FlexAttachable extends FlexCandidate {
  volumeName: string;
  uniqueName: string;
}

export interface FlexAttachView {
  node: string;
  desired: readonly FlexAttachable[];
  /** The node's status.volumesAttached. */
  attached: readonly { name: string; devicePath: string }[];
  /** The node's status.volumesInUse. */
  inUse: readonly string[];
  /** Nodes other than this one that have the volume in their status.volumesAttached. */
  attachedElsewhere(uniqueName: string): string[];
}

export type FlexAttachAction =
  | { kind: 'FlexAttach'; volume: FlexAttachable }
  | { kind: 'FlexDetach'; uniqueName: string; driver: string; volumeName: string }
  | EventAction;

/** The flex volumes (inline, or through a bound claim) of the node's pods that are not terminated; one per spec. */
export function flexCandidates(pods: readonly Pod[], lookup: PodVolumeLookup): FlexCandidate[] {
  const out = new Map<string, FlexCandidate>();
  for (const pod of pods) {
    if (isPodTerminated(pod)) continue;
    for (const spec of flexVolumesOfPod(pod, lookup).specs) {
      // an inline volume is the pod's own; a PV is shared by every pod using it
      const key = spec.pv ? `pv/${spec.name}` : `pod/${pod.metadata.uid ?? ''}/${spec.name}`;
      if (!out.has(key)) out.set(key, { spec, pod });
    }
  }
  return [...out.values()];
}

export function decideFlexAttachments(view: FlexAttachView): FlexAttachAction[] {
  const actions: FlexAttachAction[] = [];
  const wanted = new Set(view.desired.map((d) => d.uniqueName));
  const inUse = new Set(view.inUse);
  const attached = new Set<string>();
  for (const entry of view.attached) {
    const parsed = parseUniqueFlexVolumeName(entry.name);
    if (!parsed) continue; // not a flex volume: not ours to detach
    attached.add(entry.name);
    if (wanted.has(entry.name) || inUse.has(entry.name)) continue;
    actions.push({ kind: 'FlexDetach', uniqueName: entry.name, ...parsed });
  }
  const seen = new Set<string>();
  for (const d of view.desired) {
    if (attached.has(d.uniqueName) || seen.has(d.uniqueName)) continue;
    seen.add(d.uniqueName);
    const pv = d.spec.pv;
    const elsewhere = pv && !multiAttachAllowed(pv) ? view.attachedElsewhere(d.uniqueName) : [];
    if (elsewhere.length > 0) {
      actions.push(multiAttachError(d.pod, d.spec.name));
      continue;
    }
    actions.push({ kind: 'FlexAttach', volume: d });
  }
  return actions;
}
