// The attach/detach controller: one reconcile per node, from informer caches, creating and
// deleting VolumeAttachments as decideAttachments says. For CSI it never talks to a driver: the
// attacher sidecar (attacher.ts) acts on the VolumeAttachments. FlexVolume drivers that attach
// are called directly through an injected host per node (flex-attach.ts), as Kubernetes'
// controller runs flex drivers itself.
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type {
  CSIDriver,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  VolumeAttachment,
} from '../api/types.js';
import {
  type Clock,
  Controller,
  ControllerInformers,
  type EventRecorder,
  type Informer,
  type Logger,
  onAnyChange,
  podsByClaim,
  podsByNode,
  type SharedInformerCache,
  silentLogger,
  systemClock,
  volumesByDriver,
} from '../machinery/index.js';
import type { ObjectStore } from '../store/types.js';
import { type AttachAction, decideAttachments, DEFAULT_MAX_WAIT_FOR_UNMOUNT_MS } from './decide.js';
import { FlexAttachDetach, type FlexAttachResolver } from './flex-attach.js';
import { attachmentName } from './names.js';
import { QueueController } from '../machinery/queue-controller.js';

export interface AttachDetachDeps {
  store: ObjectStore;
  recorder?: EventRecorder;
  log?: Logger;
  workers?: number;
  resyncMs?: number;
  clock?: Clock;
  /** Create and delete VolumeAttachments for CSI volumes. Default true. */
  csi?: boolean;
  /** Attach FlexVolume volumes of attachable drivers through each node's host. Default: no flex attach. */
  flexAttacher?: FlexAttachResolver;
  /** First retry delay of a failed flex attach/detach (doubling to 2 min). Default 500 ms. */
  flexRetryBaseMs?: number;
  /** The process's shared informers; default: informers of its own. */
  informers?: SharedInformerCache;
  /** Force-detach a volume still reported mounted on an unhealthy node after this long. Default 6 min. */
  maxWaitForUnmountMs?: number;
}

export class AttachDetachController extends QueueController {
  private readonly store: ObjectStore;
  private readonly recorder: EventRecorder | undefined;
  private readonly log: Logger;
  protected readonly informers: ControllerInformers;
  private readonly pods: Informer<Pod>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly drivers: Informer<CSIDriver>;
  private readonly attachments: Informer<VolumeAttachment>;
  private readonly nodes: Informer<Node>;
  protected readonly controller: Controller;
  private readonly csi: boolean;
  private readonly flex: FlexAttachDetach | undefined;
  private readonly clock: Clock;
  private readonly maxWaitForUnmountMs: number;
  /** Per node: the detaches held for unmount, and since when (Kubernetes' detachRequestedTime). */
  private readonly detachRequests = new Map<string, Map<string, number>>();

  constructor(deps: AttachDetachDeps) {
    super();
    this.store = deps.store;
    this.csi = deps.csi ?? true;
    this.recorder = deps.recorder;
    this.log = deps.log ?? silentLogger;
    this.clock = deps.clock ?? systemClock;
    this.maxWaitForUnmountMs = deps.maxWaitForUnmountMs ?? DEFAULT_MAX_WAIT_FOR_UNMOUNT_MS;
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      logger: this.log,
    });
    const informer = this.informers.informer.bind(this.informers);
    this.pods = informer<Pod>(K.pod, podsByNode, podsByClaim);
    this.claims = informer<PersistentVolumeClaim>(K.pvc);
    this.volumes = informer<PersistentVolume>(K.pv, volumesByDriver);
    this.drivers = informer<CSIDriver>(K.csidriver);
    this.attachments = informer<VolumeAttachment>(K.va);
    this.nodes = informer<Node>(K.node);
    const flexAttacher = deps.flexAttacher;
    this.flex = flexAttacher
      ? new FlexAttachDetach({
          store: deps.store,
          resolve: flexAttacher,
          pods: (node) => this.pods.byIndex(podsByNode, node),
          claim: (ns, name) => this.claims.get(ns, name),
          volume: (name) => this.volumes.get(undefined, name),
          nodes: () => this.nodes.list(),
          ...(deps.recorder ? { recorder: deps.recorder } : {}),
          clock: deps.clock ?? systemClock,
          log: this.log.child({ part: 'flexvolume' }),
          ...(deps.flexRetryBaseMs !== undefined ? { retryBaseMs: deps.flexRetryBaseMs } : {}),
        })
      : undefined;
    this.controller = new Controller({
      name: 'attach-detach',
      reconcile: (node) => this.reconcileNode(node),
      workers: deps.workers ?? 2,
      clock: this.clock,
      logger: this.log,
    });
    const enqueueNode = (node: string | undefined) => {
      if (node) this.controller.enqueue(node);
    };
    const enqueuePodsOfClaim = (key: string) => {
      for (const pod of this.pods.byIndex(podsByClaim, key)) enqueueNode(pod.spec.nodeName);
    };
    const enqueueVolume = (pv: PersistentVolume) => {
      const ref = pv.spec.claimRef;
      if (ref?.name) enqueuePodsOfClaim(`${ref.namespace ?? ''}/${ref.name}`);
    };
    const resyncMs = deps.resyncMs ?? 0;
    const on = <T extends KubeObject>(informer: Informer<T>, fn: (obj: T) => void): void =>
      this.informers.on(informer, onAnyChange(fn), { resyncMs });
    on(this.pods, (p) => enqueueNode(p.spec.nodeName));
    on(this.attachments, (va) => enqueueNode(va.spec.nodeName));
    on(this.nodes, (n) => enqueueNode(n.metadata.name));
    on(this.claims, (c) => enqueuePodsOfClaim(`${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`));
    on(this.volumes, enqueueVolume);
    // attachRequired changed: the nodes whose pods use that driver's volumes.
    on(this.drivers, (d) =>
      this.volumes.byIndex(volumesByDriver, d.metadata.name ?? '').forEach(enqueueVolume),
    );
  }

  private async reconcileNode(node: string): Promise<{ requeueAfterMs?: number } | void> {
    const waits = [
      this.csi ? await this.reconcileCsi(node) : undefined,
      await this.flex?.reconcileNode(node),
    ];
    const defined = waits.filter((ms): ms is number => ms !== undefined);
    if (defined.length > 0) return { requeueAfterMs: Math.min(...defined) };
  }

  /** Returns when to look again for a detach held on an unhealthy node, if one is. */
  private async reconcileCsi(node: string): Promise<number | undefined> {
    const requested = this.detachRequests.get(node);
    const actions = decideAttachments({
      node,
      nodeObject: this.nodes.get(undefined, node),
      pods: this.pods.byIndex('node', node),
      claim: (ns, name) => this.claims.get(ns, name),
      volume: (name) => this.volumes.get(undefined, name),
      driver: (name) => this.drivers.get(undefined, name),
      attachments: this.attachments.list(),
      now: this.clock.now(),
      maxWaitForUnmountMs: this.maxWaitForUnmountMs,
      detachRequestedAt: (name) => requested?.get(name),
    });
    // only the detaches still held keep their start time (a volume wanted again starts afresh)
    const held = new Map<string, number>();
    let recheckAfterMs: number | undefined;
    for (const action of actions) {
      if (action.kind !== 'WaitForUnmount') continue;
      held.set(action.name, action.requestedAtMs);
      if (action.recheckAfterMs !== undefined)
        recheckAfterMs = Math.min(recheckAfterMs ?? Infinity, action.recheckAfterMs);
    }
    if (held.size > 0) this.detachRequests.set(node, held);
    else this.detachRequests.delete(node);
    for (const action of actions) await this.apply(action);
    return recheckAfterMs;
  }

  private async apply(action: AttachAction): Promise<void> {
    switch (action.kind) {
      case 'CreateAttachment': {
        const a = action.attachment;
        const va: VolumeAttachment = {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'VolumeAttachment',
          metadata: { name: attachmentName(a.volumeHandle, a.driver, a.node) },
          spec: { attacher: a.driver, nodeName: a.node, source: { persistentVolumeName: a.pv } },
        };
        try {
          await this.store.create(K.va, va);
          this.log.info('created VolumeAttachment', { name: va.metadata.name, pv: a.pv, node: a.node });
        } catch (e) {
          if (!isStatusError(e, 'AlreadyExists')) throw e;
        }
        return;
      }
      case 'WaitForUnmount':
        return;
      case 'DeleteAttachment':
        try {
          if (action.force) {
            this.log.warn('volume is not safe to detach (still reported mounted), detaching anyway', {
              name: action.name,
              reason: action.force,
            });
          }
          await this.store.delete(K.va, undefined, action.name);
          this.log.info('deleting VolumeAttachment', { name: action.name });
        } catch (e) {
          if (!isStatusError(e, 'NotFound')) throw e;
        }
        return;
      case 'Event': {
        const pod = this.pods.get(action.ref.namespace, action.ref.name ?? '');
        if (pod) this.recorder?.event(pod, action.type, action.reason, action.message);
        return;
      }
    }
  }
}
