// What the node agent reads, from the process's shared informers, and which work keys each
// change touches. Keys are per volume ("vol|<unique name>"), per pod ("pod|<namespace>/<name>")
// and one for the bind-mount sweep. A change enqueues only the keys it affects: a pod its own key
// and its volumes', a claim or volume the pods on this node that use it, a driver the volumes
// of that driver. The periodic resync (all keys) stays as the level-triggered safety net.
import { K } from '../api/kinds.js';
import type {
  CSIDriver,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  VolumeAttachment,
} from '../api/types.js';
import {
  claimsByVolume,
  type ControllerInformers,
  type Informer,
  onAnyChange,
  podsByClaim,
  podsByNode,
  podsByUID,
} from '../machinery/index.js';
import { isPodTerminated } from '../volume/pods.js';
import { FLEX_PLUGIN_NAME_PREFIX } from '../volume/flex-names.js';
import type { ActualState } from './actual-state.js';
import { computeDesiredState, type DesiredState } from './desired-state.js';

export const VOL = 'vol|';
export const POD = 'pod|';
/** Tears down bind mounts (and flex directories) of pods that no longer exist. */
export const SWEEP = 'sweep|binds';

export function podKey(pod: { metadata: { namespace?: string; name?: string } }): string {
  return POD + `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
}

function claimKeyOf(ref: { namespace?: string; name?: string }): string {
  return `${ref.namespace ?? ''}/${ref.name ?? ''}`;
}

export class NodeCache {
  readonly pods: Informer<Pod>;
  readonly claims: Informer<PersistentVolumeClaim>;
  readonly volumes: Informer<PersistentVolume>;
  readonly csiDrivers: Informer<CSIDriver>;
  readonly attachments: Informer<VolumeAttachment>;
  readonly nodes: Informer<Node>;
  private readonly informers: ControllerInformers;
  private readonly nodeName: string;

  constructor(informers: ControllerInformers, nodeName: string) {
    this.informers = informers;
    this.nodeName = nodeName;
    this.pods = informers.informer<Pod>(K.pod, podsByNode, podsByUID, podsByClaim);
    this.claims = informers.informer<PersistentVolumeClaim>(K.pvc, claimsByVolume);
    this.volumes = informers.informer<PersistentVolume>(K.pv);
    this.csiDrivers = informers.informer<CSIDriver>(K.csidriver);
    this.attachments = informers.informer<VolumeAttachment>(K.va);
    this.nodes = informers.informer<Node>(K.node);
  }

  myPods(): Pod[] {
    return this.pods.byIndex(podsByNode, this.nodeName);
  }

  podsWithUID(uid: string): Pod[] {
    return this.pods.byIndex(podsByUID, uid);
  }

  /** The desired state of these pods (default: every pod bound to this node). */
  desiredState(pods: readonly Pod[] = this.myPods()): DesiredState {
    return computeDesiredState({
      nodeName: this.nodeName,
      pods,
      claim: (ns, name) => this.claims.get(ns, name),
      volume: (name) => this.volumes.get(undefined, name),
      csiDriver: (name) => this.csiDrivers.get(undefined, name),
      nodeLabels: this.nodes.get(undefined, this.nodeName)?.metadata.labels ?? {
        'kubernetes.io/hostname': this.nodeName,
      },
    });
  }

  /** Every key: each volume wanted or held, each pod on the node, and the sweep. */
  allKeys(actual: ActualState, inUse: Iterable<string>): Set<string> {
    const keys = new Set<string>();
    for (const name of this.desiredState().volumes.keys()) keys.add(VOL + name);
    for (const v of actual.list()) keys.add(VOL + v.uniqueName);
    // flex volumes' in-use reports belong to the flex part, not to the CSI volume keys
    for (const name of inUse) if (!name.startsWith(FLEX_PLUGIN_NAME_PREFIX)) keys.add(VOL + name);
    for (const pod of this.myPods()) keys.add(podKey(pod));
    keys.add(SWEEP);
    return keys;
  }

  /**
   * A pod's key and the keys of the volumes it wants or still has published; for a pod that
   * finished or went, also volumes staged with no publish left (it may have gone before its publish).
   */
  keysOfPod(pod: Pod, actual: ActualState, gone = false): string[] {
    const keys = [podKey(pod)];
    for (const name of this.desiredState([pod]).volumes.keys()) keys.push(VOL + name);
    for (const p of actual.publishesOfPod(pod.metadata.uid ?? '')) keys.push(VOL + p.uniqueName);
    if (gone || isPodTerminated(pod))
      for (const v of actual.list()) if (v.publishes.length === 0) keys.push(VOL + v.uniqueName);
    return keys;
  }

  /** UIDs of the pods on this node with a flex volume (inline or through their claim). */
  podsWithFlexVolumes(): string[] {
    const uids: string[] = [];
    for (const [uid, volumes] of this.desiredState().podVolumes)
      if (volumes.some((v) => v.kind === 'flex')) uids.push(uid);
    return uids;
  }

  /** The keys of every volume of `driver`, wanted or held, and of the pods that want them. */
  keysOfDriver(driver: string, actual: ActualState): string[] {
    const keys: string[] = [];
    for (const v of this.desiredState().volumes.values()) {
      if (v.driver !== driver) continue;
      keys.push(VOL + v.uniqueName);
      for (const use of v.pods)
        keys.push(podKey({ metadata: { namespace: use.podNamespace, name: use.podName } }));
    }
    for (const v of actual.list()) if (v.driver === driver) keys.push(VOL + v.uniqueName);
    return keys;
  }

  /** The pods on this node using the claim "namespace/name". */
  private myPodsOfClaim(claimKey: string): Pod[] {
    if (this.pods.countByIndex(podsByClaim, claimKey) === 0) return [];
    return this.pods.byIndex(podsByClaim, claimKey).filter((p) => p.spec.nodeName === this.nodeName);
  }

  /** The pods on this node whose claims are bound (or being bound) to the volume `pv`. */
  private myPodsOfVolume(pv: Pick<PersistentVolume, 'metadata' | 'spec'>): Pod[] {
    // Every volume is told at start (100k at 50k pairs): a node without pods looks nothing up.
    if (this.pods.countByIndex(podsByNode, this.nodeName) === 0) return [];
    const claimKeys = new Set(
      this.claims.byIndex(claimsByVolume, pv.metadata.name ?? '').map((c) => claimKeyOf(c.metadata)),
    );
    const ref = pv.spec.claimRef;
    if (ref?.name) claimKeys.add(claimKeyOf(ref));
    return [...claimKeys].flatMap((key) => this.myPodsOfClaim(key));
  }

  /**
   * Wires change handlers that enqueue only the keys a change affects. `actual` is read when the
   * change comes, so a deleted pod's published volumes are looked at too.
   */
  watchChanges(enqueue: (key: string) => void, actual: ActualState): void {
    const enqueuePods = (pods: readonly Pod[], gone = false): void => {
      for (const pod of pods) for (const key of this.keysOfPod(pod, actual, gone)) enqueue(key);
    };
    const mine = (pod: Pod): boolean => pod.spec.nodeName === this.nodeName;
    this.informers.on(this.pods, {
      onAdd: (p) => mine(p) && enqueuePods([p]),
      onUpdate: (_old, p) => mine(p) && enqueuePods([p]),
      onDelete: (p) => {
        if (!mine(p)) return;
        enqueuePods([p], true);
        enqueue(SWEEP);
      },
    });
    this.informers.on(
      this.claims,
      onAnyChange((c) =>
        enqueuePods(this.myPodsOfClaim(`${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`)),
      ),
    );
    this.informers.on(
      this.volumes,
      onAnyChange((v) => enqueuePods(this.myPodsOfVolume(v))),
    );
    this.informers.on(
      this.csiDrivers,
      onAnyChange((d) => this.keysOfDriver(d.metadata.name ?? '', actual).forEach(enqueue)),
    );
    this.informers.on(
      this.attachments,
      onAnyChange((va) => {
        if (va.spec.nodeName !== this.nodeName) return;
        const name = va.spec.source.persistentVolumeName ?? '';
        const pv = this.volumes.get(undefined, name) ?? { metadata: { name }, spec: {} };
        enqueuePods(this.myPodsOfVolume(pv));
      }),
    );
  }
}
