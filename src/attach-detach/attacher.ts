// The attacher sidecar for one CSI driver (external-attacher's protocol): a VolumeAttachment for
// this driver is published with ControllerPublishVolume and marked attached; a deleted one is
// unpublished, then its finalizer is removed. Finalizers go on before the driver is called, so a
// crash never leaves a published volume that nobody will unpublish. Drivers without
// PUBLISH_UNPUBLISH_VOLUME are marked attached without a call, as the trivial handler does.
// A failed attach or detach waits out its back-off (external-attacher's 1 s -> 5 min) however
// often the attachment changes meanwhile: its own finalizer and error writes wake it too.
import { csiPluginName, timeStorageOperation } from '../volume/metrics.js';
import { isStatusError } from '../api/errors.js';
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { CSINode, PersistentVolume, VolumeAttachment } from '../api/types.js';
import { volumeCapability } from '../csi/capability.js';
import type { CsiClient } from '../csi/client.js';
import {
  attachmentsByVolume,
  Controller,
  ControllerInformers,
  type EventRecorder,
  type Informer,
  type Logger,
  type SharedInformerCache,
  silentLogger,
  type Clock,
  systemClock,
  backoffFor,
  type ReconcileResult,
} from '../machinery/index.js';
import { ItemBackoff } from '../machinery/item-backoff.js';
import type { ObjectStore } from '../store/types.js';
import { hasFinalizer, withFinalizer, withoutFinalizer } from '../api/finalizers.js';
import { readSecretReference } from '../volume/secrets.js';
import { attacherFinalizer, nodeIdAnnotation } from './names.js';

/**
 * Whether a VolumeAttachment changed in more than the errors this attacher writes. Its own
 * attachError/detachError write must not wake the key early (external-attacher ignores those
 * changes too), or every failure would be retried at once instead of after the back-off.
 */
export function changedBeyondErrors(old: VolumeAttachment, next: VolumeAttachment): boolean {
  const strip = (va: VolumeAttachment) => {
    const { resourceVersion: _rv, managedFields: _mf, ...metadata } = va.metadata;
    const { attachError: _a, detachError: _d, ...status } = va.status ?? { attached: false };
    return { metadata, spec: va.spec, status };
  };
  return JSON.stringify(strip(old)) !== JSON.stringify(strip(next));
}

export interface AttacherDeps {
  store: ObjectStore;
  csi: CsiClient;
  driverName: string;
  clock?: Clock;
  log?: Logger;
  recorder?: EventRecorder;
  workers?: number;
  timeoutMs?: number;
  /** Per-attachment back-off; default external-attacher's 1 s doubling to 5 min. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** The process's shared informers; default: informers of its own. */
  informers?: SharedInformerCache;
}

interface DriverCapabilities {
  publishUnpublish: boolean;
  publishReadonly: boolean;
  singleNodeMultiWriter: boolean;
}

export class Attacher {
  private readonly deps: AttacherDeps;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly finalizer: string;
  private readonly informers: ControllerInformers;
  private readonly attachments: Informer<VolumeAttachment>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly csiNodes: Informer<CSINode>;
  private readonly vaController: Controller;
  private readonly pvController: Controller;
  private readonly backoff: ItemBackoff;
  private caps: DriverCapabilities = {
    publishUnpublish: false,
    publishReadonly: false,
    singleNodeMultiWriter: false,
  };

  constructor(deps: AttacherDeps) {
    this.deps = deps;
    this.log = (deps.log ?? silentLogger).child({ component: 'attacher', driver: deps.driverName });
    this.clock = deps.clock ?? systemClock;
    this.finalizer = attacherFinalizer(deps.driverName);
    this.backoff = new ItemBackoff(
      this.clock,
      backoffFor('attacher', { baseMs: deps.retryBaseMs, maxMs: deps.retryMaxMs }),
    );
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      logger: this.log,
    });
    this.attachments = this.informers.informer<VolumeAttachment>(K.va, attachmentsByVolume);
    this.volumes = this.informers.informer<PersistentVolume>(K.pv);
    this.csiNodes = this.informers.informer<CSINode>(K.csinode);
    this.vaController = new Controller({
      name: `attacher-va-${deps.driverName}`,
      reconcile: (key) => this.syncAttachment(key),
      workers: deps.workers ?? 4,
      clock: this.clock,
      logger: this.log,
    });
    this.pvController = new Controller({
      name: `attacher-pv-${deps.driverName}`,
      reconcile: (key) => this.syncVolume(key),
      clock: this.clock,
      logger: this.log,
      rateLimiter: backoffFor('attacher', { baseMs: deps.retryBaseMs, maxMs: deps.retryMaxMs }),
    });
    this.informers.on(this.attachments, {
      onAdd: (va) => this.vaController.enqueue(va.metadata.name ?? ''),
      onUpdate: (old, va) => {
        if (changedBeyondErrors(old, va)) this.vaController.enqueue(va.metadata.name ?? '');
      },
      onDelete: (va) => {
        const pv = va.spec.source.persistentVolumeName;
        if (pv) this.pvController.enqueue(pv);
      },
    });
    this.informers.on(this.volumes, {
      onAdd: (pv) => this.pvController.enqueue(pv.metadata.name ?? ''),
      onUpdate: (_old, pv) => this.pvController.enqueue(pv.metadata.name ?? ''),
    });
  }

  async start(): Promise<void> {
    const { capabilities } = await this.deps.csi
      .controllerGetCapabilities({})
      .catch(() => ({ capabilities: [] }));
    const has = (t: string) => capabilities.some((c) => c.rpc?.type === t);
    this.caps = {
      publishUnpublish: has('PUBLISH_UNPUBLISH_VOLUME'),
      publishReadonly: has('PUBLISH_READONLY'),
      singleNodeMultiWriter: has('SINGLE_NODE_MULTI_WRITER'),
    };
    await this.informers.sync();
    this.vaController.start();
    this.pvController.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.vaController.stop(), this.pvController.stop()]);
    await this.informers.close();
  }

  whenIdle(): Promise<void> {
    return Promise.all([this.vaController.whenIdle(), this.pvController.whenIdle()]).then(() => undefined);
  }

  private async syncAttachment(name: string): Promise<ReconcileResult> {
    const va = this.attachments.get(undefined, name);
    if (!va || va.spec.attacher !== this.deps.driverName) return;
    const deleting = !!va.metadata.deletionTimestamp;
    if (!deleting && va.status?.attached) return;
    const operation = `${name}|${deleting ? 'detach' : 'attach'}`;
    const waitMs = this.backoff.remainingMs(operation);
    if (waitMs > 0) return { requeueAfterMs: waitMs };
    try {
      if (deleting) await this.detach(va);
      else await this.attach(va);
    } catch (err) {
      const retryInMs = this.backoff.failed(operation);
      this.log.warn('attachment operation failed; backing off', { operation, err, retryInMs });
      return { requeueAfterMs: retryInMs };
    }
    this.backoff.forget(operation);
  }

  private async attach(va: VolumeAttachment): Promise<void> {
    const name = va.metadata.name ?? '';
    if (!this.caps.publishUnpublish) {
      await this.patchStatus(name, { attached: true, attachError: null });
      return;
    }
    try {
      // the cache may lag behind our own status write: look before calling the driver again
      const current = await this.deps.store.get<VolumeAttachment>(K.va, undefined, name);
      if (current.status?.attached || current.metadata.deletionTimestamp) return;
      const pvName = va.spec.source.persistentVolumeName ?? '';
      const pv = await this.deps.store.get<PersistentVolume>(K.pv, undefined, pvName);
      if (pv.metadata.deletionTimestamp)
        throw new Error(`PersistentVolume "${pvName}" is marked for deletion`);
      const csi = pv.spec.csi;
      if (!csi) throw new Error(`PersistentVolume "${pvName}" is not a CSI volume`);
      await this.addFinalizer(K.pv, pv);
      const nodeId = this.nodeIdFor(va);
      if (!nodeId)
        throw new Error(`CSINode ${va.spec.nodeName} does not contain driver ${this.deps.driverName}`);
      await this.addFinalizer(K.va, current, { [nodeIdAnnotation]: nodeId });
      const secrets = await readSecretReference(this.deps.store, csi.controllerPublishSecretRef);
      const response = await timeStorageOperation(
        csiPluginName(this.deps.driverName),
        'volume_attach',
        this.deps.csi.controllerPublishVolume(
          {
            volume_id: csi.volumeHandle,
            node_id: nodeId,
            volume_capability: volumeCapability(pv.spec, csi.fsType ?? '', this.caps),
            readonly: this.caps.publishReadonly && csi.readOnly === true,
            volume_context: csi.volumeAttributes ?? {},
            secrets,
          },
          this.deps.timeoutMs ? { timeoutMs: this.deps.timeoutMs } : {},
        ),
      );
      await this.patchStatus(name, {
        attached: true,
        attachmentMetadata: response.publish_context ?? {},
        attachError: null,
      });
      this.log.info('attached', { va: name, pv: pvName, node: va.spec.nodeName });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await this.patchStatus(name, { attachError: { time: this.clock.now().toISOString(), message } }).catch(
        () => {},
      );
      throw e;
    }
  }

  private async detach(va: VolumeAttachment): Promise<void> {
    const name = va.metadata.name ?? '';
    if (!hasFinalizer(va, this.finalizer)) return;
    try {
      if (this.caps.publishUnpublish) {
        const nodeId = this.nodeIdFor(va) ?? va.metadata.annotations?.[nodeIdAnnotation];
        if (!nodeId) throw new Error(`cannot find the CSI node ID of node ${va.spec.nodeName}`);
        const pv = this.volumes.get(undefined, va.spec.source.persistentVolumeName ?? '');
        const csi = pv?.spec.csi;
        if (csi) {
          const secrets = await readSecretReference(this.deps.store, csi.controllerPublishSecretRef);
          await timeStorageOperation(
            csiPluginName(this.deps.driverName),
            'volume_detach',
            this.deps.csi.controllerUnpublishVolume(
              { volume_id: csi.volumeHandle, node_id: nodeId, secrets },
              this.deps.timeoutMs ? { timeoutMs: this.deps.timeoutMs } : {},
            ),
          );
        }
      }
      // finalizer first: a VolumeAttachment without it counts as detached even if status lags
      await this.removeFinalizer(K.va, name);
      this.log.info('detached', { va: name, node: va.spec.nodeName });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await this.patchStatus(name, { detachError: { time: this.clock.now().toISOString(), message } }).catch(
        () => {},
      );
      throw e;
    }
  }

  /** A deleted PV keeps the attacher's finalizer until no VolumeAttachment refers to it. */
  private async syncVolume(name: string): Promise<void> {
    const pv = this.volumes.get(undefined, name);
    if (!pv?.metadata.deletionTimestamp || !hasFinalizer(pv, this.finalizer)) return;
    if (this.attachments.byIndex(attachmentsByVolume, name).length > 0) return;
    await this.removeFinalizer(K.pv, name);
  }

  private nodeIdFor(va: VolumeAttachment): string | undefined {
    const csiNode = this.csiNodes.get(undefined, va.spec.nodeName);
    return csiNode?.spec.drivers.find((d) => d.name === this.deps.driverName)?.nodeID;
  }

  private async patchStatus(name: string, status: Record<string, unknown>): Promise<void> {
    await this.deps.store.patch(K.va, undefined, name, { status }, { subresource: 'status' });
  }

  private async addFinalizer(
    kind: typeof K.pv,
    obj: KubeObject,
    annotations: Record<string, string> = {},
  ): Promise<void> {
    const missingAnnotation = Object.entries(annotations).some(
      ([k, v]) => obj.metadata.annotations?.[k] !== v,
    );
    if (hasFinalizer(obj, this.finalizer) && !missingAnnotation) return;
    const copy = withFinalizer(structuredClone(obj), this.finalizer);
    copy.metadata.annotations = { ...copy.metadata.annotations, ...annotations };
    await this.deps.store.update(kind, copy); // CAS on resourceVersion: a stale copy retries
  }

  private async removeFinalizer(kind: typeof K.pv, name: string): Promise<void> {
    try {
      const obj = await this.deps.store.get(kind, undefined, name);
      if (!hasFinalizer(obj, this.finalizer)) return;
      await this.deps.store.update(kind, withoutFinalizer(obj, this.finalizer));
    } catch (e) {
      if (!isStatusError(e, 'NotFound')) throw e;
    }
  }
}
