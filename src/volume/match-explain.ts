// Why no PersistentVolume fits a claim: for each volume, the checks of Kubernetes' matching that it
// fails, and the closest few (fewest failed checks, then nearest in size) told in one short clause
// that events append to their message (a volume bound to another claim ranks after free ones). Pure.
import type { PersistentVolume, PersistentVolumeClaim } from '../api/types.js';
import {
  accessModesSatisfy,
  capacityBytes,
  claimClass,
  type MatchOptions,
  canonicalAccessModes,
  isVolumeBoundToClaim,
  requestedBytes,
  selectorMatches,
  volumeClass,
  volumeFitsNode,
  volumeModeOf,
} from './match.js';

/** How many candidates an explanation names. */
export const CANDIDATES_SHOWN = 3;

/** Every reason `volume` cannot be bound to `claim`, in the order Kubernetes checks them. */
export function rejectionReasons(
  volume: PersistentVolume,
  claim: PersistentVolumeClaim,
  options: MatchOptions,
): string[] {
  const reasons: string[] = [];
  const ref = volume.spec.claimRef;
  if (ref && !isVolumeBoundToClaim(volume, claim)) {
    reasons.push(`already bound to ${ref.namespace ?? ''}/${ref.name ?? ''}`);
  }
  if (volume.metadata.deletionTimestamp) reasons.push('being deleted');
  else if (!ref && volume.status?.phase !== 'Available')
    reasons.push(`phase ${volume.status?.phase ?? 'Pending'}`);
  const wantedClass = claimClass(claim);
  if (volumeClass(volume) !== wantedClass) {
    reasons.push(`storageClassName "${volumeClass(volume)}", not "${wantedClass}"`);
  }
  if (volumeModeOf(volume.spec) !== volumeModeOf(claim.spec)) {
    reasons.push(`volumeMode ${volumeModeOf(volume.spec)}, not ${volumeModeOf(claim.spec)}`);
  }
  if (!accessModesSatisfy(volume.spec.accessModes, claim.spec.accessModes)) {
    const have = canonicalAccessModes(volume.spec.accessModes).join(',') || 'none';
    const want = canonicalAccessModes(claim.spec.accessModes).join(',');
    reasons.push(`access modes ${have} lack ${want}`);
  }
  if (capacityBytes(volume) < requestedBytes(claim)) {
    const have = String(volume.spec.capacity?.storage ?? '0');
    const want = String(claim.spec.resources?.requests?.['storage'] ?? '0');
    reasons.push(`capacity ${have} < requested ${want}`);
  }
  if (!selectorMatches(claim.spec.selector, volume.metadata.labels)) {
    reasons.push("labels do not match the claim's selector");
  }
  if (options.node && !volumeFitsNode(volume, options.node)) {
    reasons.push(`node affinity excludes node "${options.node.name}"`);
  }
  return reasons;
}

/**
 * " (closest: pv-a: capacity 1Gi < requested 5Gi; pv-b: ...)", naming the volumes that came
 * nearest, or "" when there are none. Volumes that fit (none, when this is asked) are skipped.
 */
export function closestCandidates(
  volumes: Iterable<PersistentVolume>,
  claim: PersistentVolumeClaim,
  options: MatchOptions,
  shown = CANDIDATES_SHOWN,
): string {
  const requested = requestedBytes(claim);
  const ranked: { name: string; reasons: string[]; taken: number; distance: bigint }[] = [];
  for (const volume of volumes) {
    const reasons = rejectionReasons(volume, claim, options);
    if (reasons.length === 0) continue;
    const diff = capacityBytes(volume) - requested;
    const taken = volume.spec.claimRef && !isVolumeBoundToClaim(volume, claim) ? 1 : 0;
    ranked.push({ name: volume.metadata.name ?? '', reasons, taken, distance: diff < 0n ? -diff : diff });
  }
  ranked.sort(
    (a, b) =>
      a.reasons.length - b.reasons.length ||
      a.taken - b.taken ||
      (a.distance < b.distance ? -1 : a.distance > b.distance ? 1 : 0) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const named = ranked.slice(0, shown).map((c) => `${c.name}: ${c.reasons.join(', ')}`);
  if (named.length === 0) return '';
  const more = ranked.length > shown ? `; ${ranked.length - shown} more` : '';
  return ` (closest: ${named.join('; ')}${more})`;
}
