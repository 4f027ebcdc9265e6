// The VolumeBinding plugin's decisions, pure: which claims a pod uses and in what state
// (PreFilter), and for one node whether its volumes can be had there (FindPodVolumes): bound
// volumes must allow the node; unbound WaitForFirstConsumer claims need either a static volume
// the node can reach or a provisioner allowed to create one there.
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
  TopologySelectorTerm,
} from '../api/types.js';
import { ANN_BIND_COMPLETED, ANN_SELECTED_NODE, NO_PROVISIONER } from '../volume/annotations.js';
import type { NodeInfo } from '../volume/match.js';
import {
  bytesOf,
  capacityBytes,
  claimClass,
  isVolumeBoundToClaim,
  requestedBytes,
  selectorMatches,
  unclaimedFits,
  volumeFitsNode,
  volumeModeOf,
} from '../volume/match.js';
import {
  claimDeletingMessage,
  claimLostMessage,
  claimNotFoundMessage,
  MSG_UNBOUND_IMMEDIATE,
  REASON_BIND_CONFLICT,
  REASON_NODE_CONFLICT,
  REASON_NOT_ENOUGH_SPACE,
  REASON_PV_NOT_EXIST,
} from './reasons.js';
import type { SchedulerView } from './view.js';
import { podClaimNames } from '../volume/pods.js';

/** Names of the claims a pod's volumes use (generic ephemeral volumes use "<pod>-<volume>"). */
/** Bound for the scheduler: named volume and the binder's bind-completed mark. */
export function isClaimFullyBound(claim: PersistentVolumeClaim): boolean {
  return !!claim.spec.volumeName && claim.metadata.annotations?.[ANN_BIND_COMPLETED] !== undefined;
}

export function isDelayBindingClaim(claim: PersistentVolumeClaim, view: SchedulerView): boolean {
  const className = claimClass(claim);
  if (className === '') return false;
  return view.storageClass(className)?.volumeBindingMode === 'WaitForFirstConsumer';
}

export interface PodClaims {
  bound: PersistentVolumeClaim[];
  /** Unbound claims of WaitForFirstConsumer classes: the scheduler's to bind. */
  delayed: PersistentVolumeClaim[];
}

export type PodClaimsResult = { ok: true; claims: PodClaims } | { ok: false; message: string };

/** PreFilter: every claim exists, is usable, and is bound or waits for its first consumer. */
export function podClaims(pod: Pod, view: SchedulerView): PodClaimsResult {
  const namespace = pod.metadata.namespace ?? '';
  const claims: PodClaims = { bound: [], delayed: [] };
  let immediate = false;
  for (const name of podClaimNames(pod)) {
    const claim = view.claim(namespace, name);
    if (!claim) return { ok: false, message: claimNotFoundMessage(name) };
    if (claim.metadata.deletionTimestamp) return { ok: false, message: claimDeletingMessage(name) };
    if (claim.status?.phase === 'Lost') {
      return { ok: false, message: claimLostMessage(name, claim.spec.volumeName ?? '') };
    }
    if (isClaimFullyBound(claim)) claims.bound.push(claim);
    else if (!claim.spec.volumeName && isDelayBindingClaim(claim, view)) claims.delayed.push(claim);
    else immediate = true;
  }
  if (immediate) return { ok: false, message: MSG_UNBOUND_IMMEDIATE };
  return { ok: true, claims };
}

export interface StaticBinding {
  claim: PersistentVolumeClaim;
  volume: PersistentVolume;
}

export interface PodVolumes {
  staticBindings: StaticBinding[];
  provisions: PersistentVolumeClaim[];
}

export interface NodeVolumes {
  /** Empty when the node can provide every volume. */
  reasons: string[];
  podVolumes: PodVolumes;
}

/**
 * Kubernetes' FindMatchingVolume on the scheduler path: a volume pre-bound to the claim wins
 * (or nothing, when it cannot reach the node); otherwise the smallest candidate that fits.
 */
export function findMatchingVolume(
  claim: PersistentVolumeClaim,
  volumes: readonly PersistentVolume[],
  node: NodeInfo,
  excluded: ReadonlySet<string>,
): PersistentVolume | undefined {
  const requested = requestedBytes(claim);
  const options = { delayBinding: true, node };
  let best: PersistentVolume | undefined;
  const ordered = [...volumes].sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  for (const volume of ordered) {
    if (excluded.has(volume.metadata.name ?? '')) continue;
    if (isVolumeBoundToClaim(volume, claim)) {
      if (capacityBytes(volume) < requested || volumeModeOf(volume.spec) !== volumeModeOf(claim.spec))
        continue;
      if (volume.metadata.deletionTimestamp) continue;
      return volumeFitsNode(volume, node) ? volume : undefined;
    }
    if (!unclaimedFits(volume, claim, options, requested)) continue;
    if (!best || capacityBytes(volume) < capacityBytes(best)) best = volume;
  }
  return best;
}

/** Kubernetes' MatchTopologySelectorTerms: no terms allow every node; terms are ORed. */
export function topologyAllows(terms: readonly TopologySelectorTerm[] | undefined, node: NodeInfo): boolean {
  if (!terms || terms.length === 0) return true;
  return terms.some((term) =>
    (term.matchLabelExpressions ?? []).every((e) => {
      const value = node.labels[e.key];
      return value !== undefined && e.values.includes(value);
    }),
  );
}

/**
 * A node-registered CSI driver can provision for a node only when it runs there and the node
 * carries a label for each topology key it reports (the provisioner derives the volume's
 * accessibility from them). Drivers no CSINode lists are not constrained.
 */
export function driverServesNode(driver: string, node: NodeInfo, view: SchedulerView): boolean {
  if (!view.isDriverRegistered(driver)) return true;
  const entry = view.csiNode(node.name)?.spec.drivers.find((d) => d.name === driver);
  if (!entry) return false;
  return (entry.topologyKeys ?? []).every((key) => node.labels[key] !== undefined);
}

/** Kubernetes' hasEnoughCapacity; only asked when the driver publishes capacity and it is tracked. */
export function hasEnoughCapacity(
  storageClass: StorageClass,
  claim: PersistentVolumeClaim,
  node: NodeInfo,
  view: SchedulerView,
): boolean {
  if (view.csiDriver(storageClass.provisioner)?.spec.storageCapacity !== true) return true;
  const capacities = view.capacities();
  if (!capacities) return true;
  const requested = requestedBytes(claim);
  if (requested === 0n) return true;
  const className = storageClass.metadata.name ?? '';
  return capacities.some((c) => {
    if (c.storageClassName !== className) return false;
    const size = c.maximumVolumeSize ?? c.capacity;
    if (size === undefined || bytesOf(size) < requested) return false;
    // A capacity without a topology applies to no node, as an empty selector pointer does upstream.
    return c.nodeTopology !== undefined && selectorMatches(c.nodeTopology, node.labels);
  });
}

type ProvisionCheck = 'ok' | 'unsatisfied' | 'noSpace';

function checkProvision(claim: PersistentVolumeClaim, node: NodeInfo, view: SchedulerView): ProvisionCheck {
  const className = claimClass(claim);
  const storageClass = className ? view.storageClass(className) : undefined;
  if (!storageClass) return 'unsatisfied';
  const provisioner = storageClass.provisioner;
  if (!provisioner || provisioner === NO_PROVISIONER) return 'unsatisfied';
  if (!topologyAllows(storageClass.allowedTopologies, node)) return 'unsatisfied';
  if (!driverServesNode(provisioner, node, view)) return 'unsatisfied';
  if (!hasEnoughCapacity(storageClass, claim, node, view)) return 'noSpace';
  return 'ok';
}

/** FindPodVolumes: can `node` provide every volume the pod's claims need, and how. */
export function findPodVolumes(claims: PodClaims, node: NodeInfo, view: SchedulerView): NodeVolumes {
  const reasons: string[] = [];
  const podVolumes: PodVolumes = { staticBindings: [], provisions: [] };

  for (const claim of claims.bound) {
    const volume = view.volume(claim.spec.volumeName ?? '');
    if (!volume) {
      reasons.push(REASON_PV_NOT_EXIST);
      break;
    }
    if (!volumeFitsNode(volume, node)) {
      reasons.push(REASON_NODE_CONFLICT);
      break;
    }
  }

  const toMatch: PersistentVolumeClaim[] = [];
  const toProvision: PersistentVolumeClaim[] = [];
  for (const claim of claims.delayed) {
    const selected = claim.metadata.annotations?.[ANN_SELECTED_NODE];
    if (selected === undefined) toMatch.push(claim);
    else if (selected === node.name) toProvision.push(claim);
    else {
      // Provisioning is already under way for another node.
      reasons.push(REASON_BIND_CONFLICT);
      return { reasons, podVolumes };
    }
  }

  // Smallest requests first, so a small claim does not take the volume a larger one needs.
  const chosen = new Set<string>();
  const bySize = [...toMatch].sort((a, b) => {
    const x = requestedBytes(a);
    const y = requestedBytes(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (const claim of bySize) {
    const volume = findMatchingVolume(claim, view.volumesOfClass(claimClass(claim)), node, chosen);
    if (volume) {
      chosen.add(volume.metadata.name ?? '');
      podVolumes.staticBindings.push({ claim, volume });
    } else {
      toProvision.push(claim);
    }
  }

  for (const claim of toProvision) {
    const check = checkProvision(claim, node, view);
    if (check === 'unsatisfied') {
      reasons.push(REASON_BIND_CONFLICT);
      break;
    }
    if (check === 'noSpace') {
      reasons.push(REASON_NOT_ENOUGH_SPACE);
      break;
    }
    podVolumes.provisions.push(claim);
  }
  return { reasons, podVolumes };
}
