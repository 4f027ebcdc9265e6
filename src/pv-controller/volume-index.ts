// The volume index behind matching. Unclaimed Available volumes are filed in buckets by
// (class, volumeMode, access-mode set); each bucket is kept sorted by capacity, so the smallest
// volume that is large enough is a binary search away. Volumes with a claimRef are filed by the
// claim they point at, so a pre-bound volume is found without looking at the rest.
// Result: the same answer as Kubernetes' FindMatchingVolume over every volume, in O(log n) for
// claims without a label selector or node (selectors and node affinity scan only the fitting tail).
import type { AccessMode, PersistentVolume, PersistentVolumeClaim } from '../api/types.js';
import type { MatchOptions } from '../volume/match.js';
import {
  canonicalAccessModes,
  capacityBytes,
  claimClass,
  compareBySize,
  isCandidateVolume,
  preBoundFits,
  requestedBytes,
  unclaimedFits,
  volumeClass,
  volumeModeOf,
} from '../volume/match.js';

interface Entry {
  name: string;
  bytes: bigint;
  volume: PersistentVolume;
}

interface ModeBucket {
  modes: ReadonlySet<AccessMode>;
  modeCount: number;
  key: string;
  entries: Entry[];
}

interface Filing {
  groupKey: string;
  modesKey: string;
  entry: Entry;
}

function groupKeyOf(className: string, mode: string): string {
  return `${className}\u0000${mode}`;
}

/** First position whose entry is not smaller than `probe` (entries sorted by compareBySize). */
function lowerBound(entries: readonly Entry[], probe: { bytes: bigint; name: string }): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = entries[mid];
    if (e && compareBySize(e, probe) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class VolumeIndex {
  /** (class, volumeMode) -> access-mode key -> bucket of unclaimed Available volumes. */
  private readonly groups = new Map<string, Map<string, ModeBucket>>();
  private readonly filed = new Map<string, Filing>();
  /**
   * "namespace/name" of a claim -> the volume whose claimRef names it, or volumes by name when
   * several do (rare: most claims have one), so the common case costs no Map of its own.
   */
  private readonly preBound = new Map<string, PersistentVolume | Map<string, PersistentVolume>>();
  private readonly preBoundKeyOf = new Map<string, string>();

  /** Files (or re-files) a volume. Returns true when it just became a candidate for matching. */
  upsert(volume: PersistentVolume): boolean {
    const name = volume.metadata.name ?? '';
    const wasCandidate = this.filed.has(name);
    this.remove(name);
    const ref = volume.spec.claimRef;
    if (ref) {
      const key = `${ref.namespace ?? ''}/${ref.name ?? ''}`;
      const filed = this.preBound.get(key);
      if (!filed || (!(filed instanceof Map) && filed.metadata.name === name)) this.preBound.set(key, volume);
      else if (filed instanceof Map) filed.set(name, volume);
      else
        this.preBound.set(
          key,
          new Map([
            [filed.metadata.name ?? '', filed],
            [name, volume],
          ]),
        );
      this.preBoundKeyOf.set(name, key);
    }
    if (!isCandidateVolume(volume)) return false;
    const groupKey = groupKeyOf(volumeClass(volume), volumeModeOf(volume.spec));
    let group = this.groups.get(groupKey);
    if (!group) this.groups.set(groupKey, (group = new Map()));
    const modes = canonicalAccessModes(volume.spec.accessModes);
    const modesKey = modes.join(',');
    let bucket = group.get(modesKey);
    if (!bucket) {
      bucket = { modes: new Set(modes), modeCount: modes.length, key: modesKey, entries: [] };
      group.set(modesKey, bucket);
    }
    const entry: Entry = { name, bytes: capacityBytes(volume), volume };
    const at = lowerBound(bucket.entries, entry);
    if (at === bucket.entries.length) bucket.entries.push(entry);
    else bucket.entries.splice(at, 0, entry);
    this.filed.set(name, { groupKey, modesKey, entry });
    return !wasCandidate;
  }

  remove(name: string): void {
    const preKey = this.preBoundKeyOf.get(name);
    if (preKey !== undefined) {
      const filed = this.preBound.get(preKey);
      if (filed instanceof Map) {
        filed.delete(name);
        if (filed.size === 1) this.preBound.set(preKey, filed.values().next().value!);
      } else if (filed?.metadata.name === name) this.preBound.delete(preKey);
      this.preBoundKeyOf.delete(name);
    }
    const filing = this.filed.get(name);
    if (!filing) return;
    this.filed.delete(name);
    const group = this.groups.get(filing.groupKey);
    const bucket = group?.get(filing.modesKey);
    if (!group || !bucket) return;
    const at = lowerBound(bucket.entries, filing.entry);
    if (bucket.entries[at]?.name === name) bucket.entries.splice(at, 1);
    if (bucket.entries.length === 0) {
      group.delete(filing.modesKey);
      if (group.size === 0) this.groups.delete(filing.groupKey);
    }
  }

  /** Number of volumes that are candidates for unclaimed matching. */
  candidateCount(): number {
    return this.filed.size;
  }

  /** Volumes whose claimRef names this claim key ("namespace/name"). */
  preBoundTo(claimKey: string): PersistentVolume[] {
    const filed = this.preBound.get(claimKey);
    return filed === undefined ? [] : filed instanceof Map ? [...filed.values()] : [filed];
  }

  /**
   * The volume Kubernetes would bind the claim to: a compatible volume pre-bound to it wins;
   * otherwise, among access-mode sets that contain the requested modes, fewest modes first, the
   * smallest volume that fits.
   */
  findBestMatch(claim: PersistentVolumeClaim, options: MatchOptions): PersistentVolume | undefined {
    const key = `${claim.metadata.namespace ?? ''}/${claim.metadata.name ?? ''}`;
    const preBound = this.preBoundTo(key);
    if (preBound.length > 0) {
      const fitting = preBound
        .filter((v) => preBoundFits(v, claim, options))
        .map((v) => ({ name: v.metadata.name ?? '', bytes: capacityBytes(v), volume: v }))
        .sort(compareBySize);
      if (fitting[0]) return fitting[0].volume;
    }
    if (options.delayBinding && !options.node) return undefined;
    const group = this.groups.get(groupKeyOf(claimClass(claim), volumeModeOf(claim.spec)));
    if (!group) return undefined;
    const requested = requestedBytes(claim);
    const wanted = canonicalAccessModes(claim.spec.accessModes);
    const buckets = [...group.values()]
      .filter((b) => wanted.every((m) => b.modes.has(m)))
      .sort((a, b) => a.modeCount - b.modeCount || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const needsScan = claim.spec.selector !== undefined || options.node !== undefined;
    for (const bucket of buckets) {
      const start = lowerBound(bucket.entries, { bytes: requested, name: '' });
      for (let i = start; i < bucket.entries.length; i++) {
        const entry = bucket.entries[i];
        if (!entry) break;
        if (!needsScan || unclaimedFits(entry.volume, claim, options, requested)) return entry.volume;
      }
    }
    return undefined;
  }
}
