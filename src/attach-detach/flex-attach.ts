// Carries out the attach/detach controller's FlexVolume decisions for one node: calls the driver's
// attach/detach through the node's FlexVolume host and records the result in the Node's
// status.volumesAttached, where the node agent waits for it. Failures are Warning events on the pod
// and are retried per volume with exponential back-off (500 ms doubling to 2 minutes).
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from '../api/types.js';
import type { AttachOperations } from '../volume/flex-spec.js';
import { parseUniqueFlexVolumeName, uniqueFlexVolumeName } from '../volume/flex-names.js';
import { flexVolumeLabel, type FlexVolumeSpec } from '../volume/flex-spec.js';
import type { Clock } from '../machinery/clock.js';
import type { Logger } from '../machinery/logger.js';
import { backoffFor, type ItemExponentialFailureRateLimiter } from '../machinery/rate-limiter.js';
import type { ObjectStore } from '../store/types.js';
import { decideFlexAttachments, type FlexAttachable, flexCandidates } from './flex-decide.js';

/** What the controller needs of a node's FlexVolume host (FlexVolumeHost has all of it). */
export interface FlexAttachHost extends AttachOperations {
  /** The installed driver's capabilities; throws when it is not installed. */
  driver(name: string): { capabilities: { attach: boolean } };
  volumeName(spec: FlexVolumeSpec): Promise<string>;
}

/** The FlexVolume host that attaches to `nodeName`, or undefined when flex attach is not done for it. */
export type FlexAttachResolver = (nodeName: string) => FlexAttachHost | undefined;

export interface FlexEventTarget {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface FlexAttachDeps {
  store: ObjectStore;
  resolve: FlexAttachResolver;
  pods(node: string): Pod[];
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  /** Every Node (for multi-attach checks). */
  nodes(): Node[];
  recorder?: FlexEventTarget;
  clock: Clock;
  log: Logger;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export class FlexAttachDetach {
  private readonly deps: FlexAttachDeps;
  private readonly limiter: ItemExponentialFailureRateLimiter;
  /** When each failed attach/detach (by node|volume) may be tried again. */
  private readonly retryAtMs = new Map<string, number>();
  /** getvolumename answers, by node, driver and source (a driver names a volume from its options). */
  private readonly names = new Map<string, string>();

  constructor(deps: FlexAttachDeps) {
    this.deps = deps;
    this.limiter = backoffFor('volumeOperation', { baseMs: deps.retryBaseMs, maxMs: deps.retryMaxMs });
  }

  /** One pass for the node; returns how long until a backed-off volume may be retried. */
  async reconcileNode(nodeName: string): Promise<number | undefined> {
    const host = this.deps.resolve(nodeName);
    if (!host) return undefined;
    const desired = await this.attachable(nodeName, host);
    // Most passes are for nodes with no flex volume at all: the cache says so without a read.
    if (
      desired.length === 0 &&
      !this.hasFlexAttached(this.deps.nodes().find((n) => n.metadata.name === nodeName))
    )
      return undefined;
    let node: Node;
    try {
      node = await this.deps.store.get<Node>(K.node, undefined, nodeName);
    } catch (err) {
      if (isStatusError(err, 'NotFound')) return undefined;
      throw err;
    }
    const actions = decideFlexAttachments({
      node: nodeName,
      desired,
      attached: node.status?.volumesAttached ?? [],
      inUse: node.status?.volumesInUse ?? [],
      attachedElsewhere: (unique) =>
        this.deps
          .nodes()
          .filter((n) => n.metadata.name !== nodeName)
          .filter((n) => (n.status?.volumesAttached ?? []).some((a) => a.name === unique))
          .map((n) => n.metadata.name ?? ''),
    });
    let retryInMs: number | undefined;
    const later = (key: string): boolean => {
      const wait = (this.retryAtMs.get(key) ?? 0) - this.deps.clock.now().getTime();
      if (wait <= 0) return false;
      retryInMs = Math.min(retryInMs ?? wait, wait);
      return true;
    };
    for (const action of actions) {
      if (action.kind === 'Event') {
        const pod = this.deps.pods(nodeName).find((p) => p.metadata.uid === action.ref.uid);
        if (pod) this.deps.recorder?.event(pod, action.type, action.reason, action.message);
        continue;
      }
      const key = `${nodeName}|${action.kind === 'FlexAttach' ? action.volume.uniqueName : action.uniqueName}`;
      if (later(key)) continue;
      try {
        if (action.kind === 'FlexAttach') await this.attach(host, nodeName, action.volume);
        else await this.detach(host, nodeName, action.uniqueName, action.driver, action.volumeName);
        this.retryAtMs.delete(key);
        this.limiter.forget(key);
      } catch (err) {
        const wait = this.failed(key);
        this.deps.log.debug('flex attach/detach failed; backing off', { key, err, retryInMs: wait });
        retryInMs = Math.min(retryInMs ?? wait, wait);
      }
    }
    return retryInMs;
  }

  /** The node's flex volumes whose drivers attach, with their names. Drivers not installed are skipped: the node reports them. */
  private async attachable(nodeName: string, host: FlexAttachHost): Promise<FlexAttachable[]> {
    const out: FlexAttachable[] = [];
    const candidates = flexCandidates(this.deps.pods(nodeName), {
      claim: (ns, n) => this.deps.claim(ns, n),
      volume: (n) => this.deps.volume(n),
    });
    const keyOf = (c: (typeof candidates)[number]) =>
      `${nodeName}|${c.spec.driver}|${c.spec.name}|${JSON.stringify(c.spec.source)}`;
    // Remembered names of volumes no pod here uses any more are dropped, so the cache stays small.
    const current = new Set(candidates.map(keyOf));
    for (const key of this.names.keys())
      if (key.startsWith(`${nodeName}|`) && !current.has(key)) this.names.delete(key);
    for (const c of candidates) {
      let attach: boolean;
      try {
        attach = host.driver(c.spec.driver).capabilities.attach;
      } catch {
        continue;
      }
      if (!attach) continue;
      const cacheKey = keyOf(c);
      let volumeName = this.names.get(cacheKey);
      if (volumeName === undefined) {
        try {
          volumeName = await host.volumeName(c.spec);
        } catch (err) {
          this.warn(
            c.pod,
            'FailedAttachVolume',
            `AttachVolume.Attach failed for volume "${flexVolumeLabel(c.spec)}"`,
            err,
          );
          continue;
        }
        this.names.set(cacheKey, volumeName);
      }
      out.push({ ...c, volumeName, uniqueName: uniqueFlexVolumeName(c.spec.driver, volumeName) });
    }
    return out;
  }

  private async attach(host: FlexAttachHost, nodeName: string, v: FlexAttachable): Promise<void> {
    let device: string;
    try {
      device = await host.attach(v.spec, nodeName);
    } catch (err) {
      this.warn(
        v.pod,
        'FailedAttachVolume',
        `AttachVolume.Attach failed for volume "${flexVolumeLabel(v.spec)}"`,
        err,
      );
      throw err;
    }
    await this.setAttached(nodeName, v.uniqueName, device);
    this.deps.log.info('attached flex volume', { node: nodeName, volume: v.uniqueName, device });
    this.deps.recorder?.event(
      v.pod,
      'Normal',
      'SuccessfulAttachVolume',
      `AttachVolume.Attach succeeded for volume "${flexVolumeLabel(v.spec)}"`,
    );
  }

  private async detach(
    host: FlexAttachHost,
    nodeName: string,
    uniqueName: string,
    driver: string,
    volumeName: string,
  ): Promise<void> {
    try {
      await host.detach(volumeName, nodeName, driver);
    } catch (err) {
      this.deps.log.warn('DetachVolume.Detach failed', { node: nodeName, volume: uniqueName, err });
      throw err;
    }
    await this.setAttached(nodeName, uniqueName, undefined);
    this.deps.log.info('detached flex volume', { node: nodeName, volume: uniqueName });
  }

  /** Adds (device given) or removes the volume in the Node's status.volumesAttached; other entries are kept. */
  private async setAttached(nodeName: string, uniqueName: string, device: string | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const node = await this.deps.store.get<Node>(K.node, undefined, nodeName);
      const rest = (node.status?.volumesAttached ?? []).filter((a) => a.name !== uniqueName);
      const volumesAttached =
        device === undefined ? rest : [...rest, { name: uniqueName, devicePath: device }];
      try {
        // compare-and-swap: the node agent writes other status fields of the same object
        await this.deps.store.update<Node>(
          K.node,
          { ...node, status: { ...node.status, volumesAttached } },
          { subresource: 'status' },
        );
        return;
      } catch (err) {
        if (!isStatusError(err, 'Conflict') || attempt >= 4) throw err;
      }
    }
  }

  private failed(key: string): number {
    const wait = this.limiter.when(key);
    this.retryAtMs.set(key, this.deps.clock.now().getTime() + wait);
    return wait;
  }

  private hasFlexAttached(node: Node | undefined): boolean {
    return (node?.status?.volumesAttached ?? []).some((a) => parseUniqueFlexVolumeName(a.name) !== undefined);
  }

  private warn(pod: Pod, reason: string, what: string, err: unknown): void {
    const why = err instanceof Error ? err.message : String(err);
    this.deps.log.warn(`${what} : ${why}`, { pod: pod.metadata.name });
    this.deps.recorder?.event(pod, 'Warning', reason, `${what} : ${why}`);
  }
}
