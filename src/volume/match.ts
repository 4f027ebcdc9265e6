// The matching rules of Kubernetes' FindMatchingVolume and checkVolumeSatisfyClaim, one volume at a
// time, plus the small object helpers they need. Pure. index.ts applies these rules to many
// volumes without scanning them all.
import type { LabelSelector } from '../api/meta.js';
import { labelSelectorMatcher } from '../api/selectors.js';
import { storageBytes } from '../api/quantity.js';
import type {
  AccessMode,
  NodeSelector,
  NodeSelectorRequirement,
  PersistentVolume,
  PersistentVolumeClaim,
  QuantityValue,
  VolumeMode,
} from '../api/types.js';
import { ANN_BETA_STORAGE_CLASS } from './annotations.js';

/** Canonical access-mode order, as Kubernetes' GetAccessModesAsString prints them. */
const ACCESS_MODE_ORDER: readonly AccessMode[] = [
  'ReadWriteOnce',
  'ReadOnlyMany',
  'ReadWriteMany',
  'ReadWriteOncePod',
];

export function claimKey(claim: { metadata: { namespace?: string; name?: string } }): string {
  return `${claim.metadata.namespace ?? ''}/${claim.metadata.name ?? ''}`;
}

/** The class a claim asks for: beta annotation first, then spec.storageClassName, else "". */
export function claimClass(claim: PersistentVolumeClaim): string {
  return claim.metadata.annotations?.[ANN_BETA_STORAGE_CLASS] ?? claim.spec.storageClassName ?? '';
}

/** True when the claim names a class at all ("" counts; an absent field does not). */
export function claimHasClass(claim: PersistentVolumeClaim): boolean {
  return (
    claim.metadata.annotations?.[ANN_BETA_STORAGE_CLASS] !== undefined ||
    claim.spec.storageClassName !== undefined
  );
}

export function volumeClass(volume: PersistentVolume): string {
  return volume.metadata.annotations?.[ANN_BETA_STORAGE_CLASS] ?? volume.spec.storageClassName ?? '';
}

export function volumeModeOf(spec: { volumeMode?: VolumeMode }): VolumeMode {
  return spec.volumeMode ?? 'Filesystem';
}

/** Parses a quantity, treating absent or unparsable values as zero bytes. */
export function bytesOf(q: QuantityValue | undefined): bigint {
  if (q === undefined) return 0n;
  try {
    return storageBytes(q);
  } catch {
    return 0n;
  }
}

export function requestedBytes(claim: PersistentVolumeClaim): bigint {
  return bytesOf(claim.spec.resources?.requests?.['storage']);
}

export function capacityBytes(volume: PersistentVolume): bigint {
  return bytesOf(volume.spec.capacity?.storage);
}

/** Deduplicated access modes in canonical order. */
export function canonicalAccessModes(modes: readonly AccessMode[] | undefined): AccessMode[] {
  const set = new Set(modes ?? []);
  return ACCESS_MODE_ORDER.filter((m) => set.has(m));
}

export function accessModesKey(modes: readonly AccessMode[] | undefined): string {
  return canonicalAccessModes(modes).join(',');
}

/** Every mode the claim requests is offered by the volume (a superset is fine). */
export function accessModesSatisfy(
  offered: readonly AccessMode[] | undefined,
  requested: readonly AccessMode[] | undefined,
): boolean {
  const have = new Set(offered ?? []);
  return (requested ?? []).every((m) => have.has(m));
}

/** The volume points at the claim by namespace/name, and by UID once a UID is recorded. */
export function isVolumeBoundToClaim(volume: PersistentVolume, claim: PersistentVolumeClaim): boolean {
  const ref = volume.spec.claimRef;
  if (!ref) return false;
  if (ref.name !== claim.metadata.name || (ref.namespace ?? '') !== (claim.metadata.namespace ?? ''))
    return false;
  return !ref.uid || ref.uid === claim.metadata.uid;
}

export function requirementMatches(term: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = term.values ?? [];
  switch (term.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const have = Number.parseInt(value, 10);
      const want = Number.parseInt(values[0] ?? '', 10);
      if (Number.isNaN(have) || Number.isNaN(want)) return false;
      return term.operator === 'Gt' ? have > want : have < want;
    }
  }
}

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
}

/**
 * Kubernetes' MatchNodeSelectorTerms: terms are ORed, requirements within a term ANDed; a term
 * with no requirements matches nothing. matchFields knows metadata.name only.
 */
export function nodeSelectorMatches(selector: NodeSelector, node: NodeInfo): boolean {
  return selector.nodeSelectorTerms.some((term) => {
    const exprs = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (exprs.length === 0 && fields.length === 0) return false;
    return (
      exprs.every((r) => requirementMatches(r, node.labels[r.key])) &&
      fields.every((r) => requirementMatches(r, r.key === 'metadata.name' ? node.name : undefined))
    );
  });
}

/** A volume without required node affinity is reachable from every node. */
export function volumeFitsNode(volume: PersistentVolume, node: NodeInfo): boolean {
  const required = volume.spec.nodeAffinity?.required;
  return required ? nodeSelectorMatches(required, node) : true;
}

export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return true;
  try {
    return labelSelectorMatcher(selector).matches(labels);
  } catch {
    return false; // an invalid selector matches nothing
  }
}

/** True for a volume nobody has claimed that may be handed to any fitting claim. */
export function isCandidateVolume(volume: PersistentVolume): boolean {
  return !volume.spec.claimRef && !volume.metadata.deletionTimestamp && volume.status?.phase === 'Available';
}

export interface MatchOptions {
  /** The claim's class binds only once a node is chosen (WaitForFirstConsumer). */
  delayBinding: boolean;
  /** The node chosen for the claim's first consumer, when known. */
  node?: NodeInfo;
}

/** The claim-independent volume checks that pre-bound volumes must still pass. */
function basicFit(volume: PersistentVolume, claim: PersistentVolumeClaim, requested: bigint): boolean {
  if (capacityBytes(volume) < requested) return false;
  if (volumeModeOf(volume.spec) !== volumeModeOf(claim.spec)) return false;
  if (volume.metadata.deletionTimestamp) return false;
  return true;
}

/** A volume pre-bound to this claim (claimRef) that may be bound to it. */
export function preBoundFits(
  volume: PersistentVolume,
  claim: PersistentVolumeClaim,
  options: MatchOptions,
): boolean {
  if (!isVolumeBoundToClaim(volume, claim)) return false;
  if (!accessModesSatisfy(volume.spec.accessModes, claim.spec.accessModes)) return false;
  if (!basicFit(volume, claim, requestedBytes(claim))) return false;
  return options.node ? volumeFitsNode(volume, options.node) : true;
}

/** An unclaimed volume this claim may take (everything except "is it the smallest"). */
export function unclaimedFits(
  volume: PersistentVolume,
  claim: PersistentVolumeClaim,
  options: MatchOptions,
  requested: bigint = requestedBytes(claim),
): boolean {
  if (volume.spec.claimRef) return false;
  if (!basicFit(volume, claim, requested)) return false;
  if (!options.node && options.delayBinding) return false;
  if (volume.status?.phase !== 'Available') return false;
  if (!selectorMatches(claim.spec.selector, volume.metadata.labels)) return false;
  if (volumeClass(volume) !== claimClass(claim)) return false;
  if (!accessModesSatisfy(volume.spec.accessModes, claim.spec.accessModes)) return false;
  return options.node ? volumeFitsNode(volume, options.node) : true;
}

/**
 * Why a volume the claim names in spec.volumeName cannot be bound to it, or undefined when it can
 * (Kubernetes' checkVolumeSatisfyClaim; the label selector is deliberately not checked).
 */
export function volumeSatisfyProblem(
  volume: PersistentVolume,
  claim: PersistentVolumeClaim,
): string | undefined {
  if (volume.metadata.deletionTimestamp)
    return `the volume is marked for deletion "${volume.metadata.name ?? ''}"`;
  if (capacityBytes(volume) < requestedBytes(claim)) return 'requested PV is too small';
  if (volumeClass(volume) !== claimClass(claim)) return 'storageClassName does not match';
  if (volumeModeOf(volume.spec) !== volumeModeOf(claim.spec)) return 'incompatible volumeMode';
  if (!accessModesSatisfy(volume.spec.accessModes, claim.spec.accessModes)) return 'incompatible accessMode';
  return undefined;
}

/** Orders volumes smallest first, then by name, so every matcher agrees on ties. */
export function compareBySize(
  a: { bytes: bigint; name: string },
  b: { bytes: bigint; name: string },
): number {
  if (a.bytes !== b.bytes) return a.bytes < b.bytes ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
