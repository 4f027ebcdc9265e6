// The binder's private view of the cluster: volumes and claims (fed by informers and by the
// controller's own writes, newest resourceVersion wins, like Kubernetes' storeObjectUpdate),
// classes, nodes, and pods by the claims they use. It keeps the volume index in step and answers
// the BinderView that decisions read. Pure data structure: no IO.
import type { KubeObject } from '../api/meta.js';
import { compareResourceVersions, sameLabels } from '../api/meta.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from '../api/types.js';
import type { BinderView } from './decide.js';
import { VolumeIndex } from './volume-index.js';
import type { MatchOptions, NodeInfo } from '../volume/match.js';
import {
  accessModesSatisfy,
  capacityBytes,
  claimClass,
  claimKey,
  requestedBytes,
  volumeClass,
  volumeModeOf,
} from '../volume/match.js';
import { ANN_BIND_COMPLETED } from '../volume/annotations.js';

function isNewerOrSame(incoming: KubeObject, cached: KubeObject | undefined): boolean {
  return (
    !cached ||
    compareResourceVersions(incoming.metadata.resourceVersion, cached.metadata.resourceVersion) >= 0
  );
}

/** An object whose last finalizer went while it was being deleted no longer exists. */
function isGone(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined && (obj.metadata.finalizers ?? []).length === 0;
}

/**
 * Remembers the resourceVersion at which objects were deleted, so a late answer to one of our
 * own earlier writes cannot bring a deleted object back into the cache.
 */
class Tombstones {
  private readonly rvs = new Map<string, string | undefined>();

  bury(key: string, rv: string | undefined): void {
    this.rvs.set(key, rv);
  }

  /** True when `obj` is not newer than the deletion recorded for `key` (and so must be ignored). */
  buried(key: string, obj: KubeObject): boolean {
    if (!this.rvs.has(key)) return false;
    if (compareResourceVersions(obj.metadata.resourceVersion, this.rvs.get(key)) > 0) {
      this.rvs.delete(key); // re-created since
      return false;
    }
    return true;
  }
}

function claimNamesOf(pod: Pod): string[] {
  const names: string[] = [];
  for (const v of pod.spec.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) names.push(v.persistentVolumeClaim.claimName);
  }
  return names;
}

/** An unbound claim still looking for a volume. */
function isWaitingClaim(claim: PersistentVolumeClaim): boolean {
  return (
    !claim.spec.volumeName &&
    claim.metadata.annotations?.[ANN_BIND_COMPLETED] === undefined &&
    !claim.metadata.deletionTimestamp
  );
}

export class BinderCache implements BinderView {
  readonly index = new VolumeIndex();
  private readonly volumes = new Map<string, PersistentVolume>();
  private readonly claims = new Map<string, PersistentVolumeClaim>();
  private readonly classes = new Map<string, StorageClass>();
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, Pod>();
  private readonly podsByClaim = new Map<string, Set<string>>();
  /** Claims whose last sync found no volume, oldest first. */
  private readonly waiting = new Set<string>();
  private readonly deletedVolumes = new Tombstones();
  private readonly deletedClaims = new Tombstones();
  private changes = 0;

  /** Moves on every change of what decisions read (volumes, claims, classes, node labels, pods). */
  get generation(): number {
    return this.changes;
  }

  // --- writes (from informers and from the controller's own successful writes)

  /**
   * Stores the volume unless an older version than the cached one. Returns whether it was stored
   * and whether it just became a candidate for unclaimed matching.
   */
  upsertVolume(volume: PersistentVolume, force = false): { stored: boolean; becameCandidate: boolean } {
    const name = volume.metadata.name ?? '';
    if (isGone(volume)) {
      this.removeVolume(name, volume.metadata.resourceVersion);
      return { stored: false, becameCandidate: false };
    }
    if (this.deletedVolumes.buried(name, volume)) return { stored: false, becameCandidate: false };
    if (!force && !isNewerOrSame(volume, this.volumes.get(name)))
      return { stored: false, becameCandidate: false };
    this.volumes.set(name, volume);
    this.changes++;
    return { stored: true, becameCandidate: this.index.upsert(volume) };
  }

  /** Forgets a volume; with the resourceVersion it was deleted at, older copies stay out. */
  removeVolume(name: string, deletedAt?: string): PersistentVolume | undefined {
    if (deletedAt !== undefined) this.deletedVolumes.bury(name, deletedAt);
    const old = this.volumes.get(name);
    this.changes++;
    this.volumes.delete(name);
    this.index.remove(name);
    return old;
  }

  upsertClaim(claim: PersistentVolumeClaim, force = false): boolean {
    const key = claimKey(claim);
    if (isGone(claim)) {
      this.removeClaim(key, claim.metadata.resourceVersion);
      return false;
    }
    if (this.deletedClaims.buried(key, claim)) return false;
    if (!force && !isNewerOrSame(claim, this.claims.get(key))) return false;
    this.claims.set(key, claim);
    this.changes++;
    if (!isWaitingClaim(claim)) this.waiting.delete(key);
    return true;
  }

  removeClaim(key: string, deletedAt?: string): PersistentVolumeClaim | undefined {
    if (deletedAt !== undefined) this.deletedClaims.bury(key, deletedAt);
    const old = this.claims.get(key);
    this.changes++;
    this.claims.delete(key);
    this.waiting.delete(key);
    return old;
  }

  upsertClass(storageClass: StorageClass): void {
    this.classes.set(storageClass.metadata.name ?? '', storageClass);
    this.changes++;
  }

  removeClass(name: string): void {
    this.classes.delete(name);
    this.changes++;
  }

  upsertNode(node: Node): void {
    const name = node.metadata.name ?? '';
    const labels = { ...node.metadata.labels };
    // a node's heartbeat changes its status, which no decision reads: only its labels count
    const known = this.nodes.get(name);
    if (!known || !sameLabels(known.labels, labels)) this.changes++;
    this.nodes.set(name, { name, labels });
  }

  removeNode(name: string): void {
    this.nodes.delete(name);
    this.changes++;
  }

  /** Returns the claim keys the pod referenced before and after, so their syncs can re-run. */
  upsertPod(pod: Pod): string[] {
    const podKey = `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
    const before = this.removePod(podKey);
    this.pods.set(podKey, pod);
    this.changes++;
    const after = claimNamesOf(pod).map((c) => `${pod.metadata.namespace ?? ''}/${c}`);
    for (const key of after) {
      let set = this.podsByClaim.get(key);
      if (!set) this.podsByClaim.set(key, (set = new Set()));
      set.add(podKey);
    }
    return [...new Set([...before, ...after])];
  }

  removePod(podKey: string): string[] {
    const old = this.pods.get(podKey);
    if (!old) return [];
    this.pods.delete(podKey);
    this.changes++;
    const keys = claimNamesOf(old).map((c) => `${old.metadata.namespace ?? ''}/${c}`);
    for (const key of keys) {
      const set = this.podsByClaim.get(key);
      set?.delete(podKey);
      if (set?.size === 0) this.podsByClaim.delete(key);
    }
    return keys;
  }

  // --- reads

  volume(name: string): PersistentVolume | undefined {
    return this.volumes.get(name);
  }

  claim(namespace: string, name: string): PersistentVolumeClaim | undefined {
    return this.claims.get(`${namespace}/${name}`);
  }

  claimByKey(key: string): PersistentVolumeClaim | undefined {
    return this.claims.get(key);
  }

  allVolumes(): IterableIterator<PersistentVolume> {
    return this.volumes.values();
  }

  allClaims(): IterableIterator<PersistentVolumeClaim> {
    return this.claims.values();
  }

  storageClass(name: string): StorageClass | undefined {
    return this.classes.get(name);
  }

  storageClasses(): Iterable<StorageClass> {
    return this.classes.values();
  }

  node(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  podsForClaim(namespace: string, name: string): Pod[] {
    const keys = this.podsByClaim.get(`${namespace}/${name}`);
    if (!keys) return [];
    const out: Pod[] = [];
    for (const key of keys) {
      const pod = this.pods.get(key);
      if (pod) out.push(pod);
    }
    return out;
  }

  findBestMatch(claim: PersistentVolumeClaim, options: MatchOptions): PersistentVolume | undefined {
    return this.index.findBestMatch(claim, options);
  }

  /** Records that the claim's last sync found no volume for it. */
  markWaiting(key: string): void {
    const claim = this.claims.get(key);
    if (claim && isWaitingClaim(claim)) this.waiting.add(key);
  }

  /**
   * Takes up to `limit` waiting claims that could use this volume out of the waiting set, oldest
   * first (they wait again if their next sync still finds nothing).
   */
  takeWaitingClaimsFor(volume: PersistentVolume, limit: number): string[] {
    const out: string[] = [];
    const className = volumeClass(volume);
    const mode = volumeModeOf(volume.spec);
    const bytes = capacityBytes(volume);
    for (const key of this.waiting) {
      const claim = this.claims.get(key);
      if (!claim) continue;
      if (claimClass(claim) !== className || volumeModeOf(claim.spec) !== mode) continue;
      if (!accessModesSatisfy(volume.spec.accessModes, claim.spec.accessModes)) continue;
      if (requestedBytes(claim) > bytes) continue;
      out.push(key);
      if (out.length >= limit) break;
    }
    for (const key of out) this.waiting.delete(key);
    return out;
  }

  /** Waiting claims of a class (all classes when undefined). */
  waitingClaims(className?: string): string[] {
    const out: string[] = [];
    for (const key of this.waiting) {
      const claim = this.claims.get(key);
      if (claim && (className === undefined || claimClass(claim) === className)) out.push(key);
    }
    return out;
  }
}
