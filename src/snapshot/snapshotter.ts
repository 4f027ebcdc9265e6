// berth's csi-snapshotter sidecar for one driver: takes the snapshots of that driver's contents
// (CreateSnapshot, asked again until ready), reads pre-provisioned ones (ListSnapshots), deletes
// the physical snapshot of a content deleted with deletionPolicy Delete, and records outcomes and
// errors in the content's status. Decisions are in snapshotter-decide.ts.
import { isStatusError } from '../api/errors.js';
import { withoutFinalizer } from '../api/finalizers.js';
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type {
  VolumeSnapshot,
  VolumeSnapshotClass,
  VolumeSnapshotContent,
  VolumeSnapshotContentStatus,
} from '../api/snapshot-types.js';
import type { SecretReference } from '../api/types.js';
import type { CsiClient } from '../csi/client.js';
import { classify, toCsiError } from '../csi/errors.js';
import type { Snapshot } from '../csi/types.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import { Controller, type ReconcileResult } from '../machinery/controller.js';
import type { EventType } from '../machinery/events.js';
import type { Informer } from '../machinery/informer.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { ItemExponentialFailureRateLimiter } from '../machinery/rate-limiter.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import { ControllerInformers } from '../machinery/shared-cache.js';
import { rfc3339Seconds } from '../store/object-rules.js';
import type { ObjectStore } from '../store/types.js';
import { readSecretReference } from '../volume/secrets.js';
import {
  ANN_DELETION_SECRET_NAME,
  ANN_DELETION_SECRET_NAMESPACE,
  ANN_SNAPSHOT_BEING_CREATED,
  FINALIZER_CONTENT_BOUND,
  SNAPSHOTTER_SECRET_NAME,
  SNAPSHOTTER_SECRET_NAMESPACE,
  csiSnapshotNameFor,
} from '../volume/snapshot-names.js';
import { decideSnapshotter, driverParameters } from './snapshotter-decide.js';
import { QueueController } from '../machinery/queue-controller.js';

export const SNAPSHOTTER_REASON = {
  creationFailed: 'SnapshotCreationFailed',
  deletionFailed: 'SnapshotDeleteError',
  checkFailed: 'SnapshotContentCheckandUpdateFailed',
  deletePending: 'SnapshotDeletePending',
} as const;

export interface SnapshotterEventSink {
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

export interface SnapshotterDeps {
  store: ObjectStore;
  csi: CsiClient;
  driverName: string;
  recorder: SnapshotterEventSink;
  /** Node-deployment drivers (local): only the contents whose handles this node's driver owns. */
  ownsHandle?: (handle: string) => boolean;
  informers?: SharedInformerCache;
  clock?: Clock;
  log?: Logger;
  workers?: number;
  /** Deadline of each driver call. Default 60 s (a copy of a large volume takes time). */
  timeoutMs?: number;
  /** How often a snapshot that is not ready yet is asked about again. Default 2 s. */
  readyPollMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** The content status a CSI snapshot implies: nanoseconds and bytes, as upstream stores them. */
export function contentStatusOf(snapshot: Snapshot, current: VolumeSnapshotContentStatus | undefined) {
  const seconds = Number(snapshot.creation_time?.seconds ?? 0);
  const status: VolumeSnapshotContentStatus = {
    ...current,
    snapshotHandle: snapshot.snapshot_id,
    readyToUse: snapshot.ready_to_use,
    restoreSize: Number(snapshot.size_bytes),
  };
  if (seconds > 0) status.creationTime = seconds * 1e9 + (snapshot.creation_time?.nanos ?? 0);
  delete status.error;
  return status;
}

function secretRef(name: string | undefined, namespace: string | undefined): SecretReference | undefined {
  return name && namespace ? { name, namespace } : undefined;
}

export class Snapshotter extends QueueController {
  private readonly deps: SnapshotterDeps;
  private readonly clock: Clock;
  private readonly log: Logger;
  protected readonly informers: ControllerInformers;
  private readonly contents: Informer<VolumeSnapshotContent>;
  private readonly snapshots: Informer<VolumeSnapshot>;
  private readonly classes: Informer<VolumeSnapshotClass>;
  protected readonly controller: Controller;
  private listCapability: Promise<boolean> | undefined;

  constructor(deps: SnapshotterDeps) {
    super();
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: 'csi-snapshotter', driver: deps.driverName });
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.contents = this.informers.informer<VolumeSnapshotContent>(K.vsc);
    this.snapshots = this.informers.informer<VolumeSnapshot>(K.vs);
    this.classes = this.informers.informer<VolumeSnapshotClass>(K.vsclass);
    this.controller = new Controller({
      name: 'csi-snapshotter',
      reconcile: (key) => this.sync(key),
      workers: deps.workers ?? 4,
      clock: this.clock,
      logger: this.log,
      rateLimiter: new ItemExponentialFailureRateLimiter(
        deps.retryBaseMs ?? 1_000,
        deps.retryMaxMs ?? 300_000,
      ),
    });
    const enqueue = (c: VolumeSnapshotContent) => {
      if (this.mine(c)) this.controller.enqueue(c.metadata.name ?? '');
    };
    this.informers.on(this.contents, { onAdd: enqueue, onUpdate: (_o, c) => enqueue(c) });
    // A content waiting for its snapshot to go is looked at again when it does.
    this.informers.on(this.snapshots, {
      onDelete: (s) => {
        for (const c of this.contents.list()) if (c.spec.volumeSnapshotRef.uid === s.metadata.uid) enqueue(c);
      },
    });
  }

  private mine(content: VolumeSnapshotContent): boolean {
    if (content.spec.driver !== this.deps.driverName) return false;
    const handle = content.spec.source.volumeHandle ?? content.spec.source.snapshotHandle ?? '';
    return this.deps.ownsHandle ? this.deps.ownsHandle(handle) : true;
  }

  private async sync(name: string): Promise<ReconcileResult> {
    const cached = this.contents.get(undefined, name);
    if (!cached || !this.mine(cached)) return;
    const content = await this.deps.store
      .get<VolumeSnapshotContent>(K.vsc, undefined, name)
      .catch((err: unknown) => {
        if (isStatusError(err, 'NotFound')) return undefined;
        throw err;
      });
    if (!content) return;
    const decision = decideSnapshotter(content, { snapshotAlive: this.snapshotAlive(content) });
    switch (decision.type) {
      case 'skip':
        return;
      case 'wait':
        this.deps.recorder.event(content, 'Warning', SNAPSHOTTER_REASON.deletePending, decision.reason);
        return;
      case 'release':
        await this.deps.store.update(K.vsc, withoutFinalizer(content, FINALIZER_CONTENT_BOUND));
        return;
      case 'delete':
        await this.deleteSnapshot(content, decision.handle);
        return;
      case 'create':
        return this.createSnapshot(content);
      case 'check':
        return this.checkSnapshot(content, decision.handle);
    }
  }

  private snapshotAlive(content: VolumeSnapshotContent): boolean {
    const ref = content.spec.volumeSnapshotRef;
    const snapshot = ref.name ? this.snapshots.get(ref.namespace, ref.name) : undefined;
    return !!snapshot && snapshot.metadata.uid === ref.uid && !snapshot.metadata.deletionTimestamp;
  }

  private get timeoutMs(): number {
    return this.deps.timeoutMs ?? 60_000;
  }

  private async createSnapshot(content: VolumeSnapshotContent): Promise<ReconcileResult> {
    const className = content.spec.volumeSnapshotClassName;
    const vsclass = className ? this.classes.get(undefined, className) : undefined;
    if (className && !vsclass) {
      return this.recordError(
        content,
        SNAPSHOTTER_REASON.creationFailed,
        `VolumeSnapshotClass ${className} not found`,
        true,
      );
    }
    const secrets = await readSecretReference(
      this.deps.store,
      secretRef(
        vsclass?.parameters?.[SNAPSHOTTER_SECRET_NAME],
        vsclass?.parameters?.[SNAPSHOTTER_SECRET_NAMESPACE],
      ),
    );
    // Marked before the call: if the answer is lost, a deletion asks again instead of leaking.
    let current = content;
    if (
      content.metadata.annotations?.[ANN_SNAPSHOT_BEING_CREATED] !== 'yes' &&
      !content.metadata.deletionTimestamp
    ) {
      current = await this.writeAnnotation(content, 'yes');
    }
    let answer;
    try {
      answer = await this.deps.csi.createSnapshot(
        {
          name: csiSnapshotNameFor(content.spec.volumeSnapshotRef.uid ?? ''),
          source_volume_id: content.spec.source.volumeHandle ?? '',
          parameters: driverParameters(vsclass?.parameters),
          secrets,
        },
        { timeoutMs: this.timeoutMs },
      );
    } catch (err) {
      const csiErr = toCsiError(err);
      const final = classify(csiErr) === 'final';
      // A final answer means nothing was created: nothing to find again on deletion.
      if (final && !current.metadata.deletionTimestamp)
        current = await this.writeAnnotation(current, undefined);
      return this.recordError(
        current,
        SNAPSHOTTER_REASON.creationFailed,
        `Failed to create snapshot: ${csiErr.message}`,
        false,
      );
    }
    const snapshot = answer.snapshot;
    if (!snapshot) throw new Error('CreateSnapshot answered without a snapshot');
    const status = contentStatusOf(snapshot, current.status);
    const updated = await this.deps.store.update(K.vsc, { ...current, status }, { subresource: 'status' });
    this.log.info('snapshot taken', {
      content: content.metadata.name,
      handle: snapshot.snapshot_id,
      ready: snapshot.ready_to_use,
    });
    if (snapshot.ready_to_use) {
      if (!updated.metadata.deletionTimestamp) await this.writeAnnotation(updated, undefined);
      return;
    }
    return { requeueAfterMs: this.deps.readyPollMs ?? 2_000 };
  }

  private async checkSnapshot(content: VolumeSnapshotContent, handle: string): Promise<ReconcileResult> {
    if (!(await this.canList())) {
      const status = { ...content.status, snapshotHandle: handle, readyToUse: true };
      await this.deps.store.update(K.vsc, { ...content, status }, { subresource: 'status' });
      return;
    }
    let entries;
    try {
      ({ entries } = await this.deps.csi.listSnapshots(
        { snapshot_id: handle },
        { timeoutMs: this.timeoutMs },
      ));
    } catch (err) {
      return this.recordError(
        content,
        SNAPSHOTTER_REASON.checkFailed,
        `Failed to check and update snapshot content: ${toCsiError(err).message}`,
        false,
      );
    }
    const found = entries.map((e) => e.snapshot).find((s) => s?.snapshot_id === handle);
    if (!found) {
      return this.recordError(
        content,
        SNAPSHOTTER_REASON.checkFailed,
        `snapshot ${handle} does not exist on driver ${this.deps.driverName}`,
        false,
      );
    }
    const status = contentStatusOf(found, content.status);
    await this.deps.store.update(K.vsc, { ...content, status }, { subresource: 'status' });
    return found.ready_to_use ? undefined : { requeueAfterMs: this.deps.readyPollMs ?? 2_000 };
  }

  private async deleteSnapshot(content: VolumeSnapshotContent, handle: string): Promise<void> {
    const annotations = content.metadata.annotations;
    const secrets = await readSecretReference(
      this.deps.store,
      secretRef(annotations?.[ANN_DELETION_SECRET_NAME], annotations?.[ANN_DELETION_SECRET_NAMESPACE]),
    );
    try {
      await this.deps.csi.deleteSnapshot({ snapshot_id: handle, secrets }, { timeoutMs: this.timeoutMs });
    } catch (err) {
      await this.recordError(
        content,
        SNAPSHOTTER_REASON.deletionFailed,
        `Failed to delete snapshot: ${toCsiError(err).message}`,
        false,
      );
      return;
    }
    this.log.info('snapshot deleted', { content: content.metadata.name, handle });
    await this.deps.store.update(K.vsc, withoutFinalizer(content, FINALIZER_CONTENT_BOUND));
  }

  /** status.error (written when the message changes), an event, and a back-off (throw) unless `settled`. */
  private async recordError(
    content: VolumeSnapshotContent,
    reason: string,
    message: string,
    settled: boolean,
  ): Promise<ReconcileResult> {
    this.deps.recorder.event(content, 'Warning', reason, message);
    if (content.status?.error?.message !== message) {
      const status = {
        ...content.status,
        readyToUse: content.status?.readyToUse ?? false,
        error: { message, time: rfc3339Seconds(this.clock.now()) },
      };
      await this.deps.store.update(K.vsc, { ...content, status }, { subresource: 'status' });
    }
    if (settled) return;
    throw new Error(message);
  }

  private writeAnnotation(
    content: VolumeSnapshotContent,
    value: 'yes' | undefined,
  ): Promise<VolumeSnapshotContent> {
    const annotations = { ...content.metadata.annotations };
    if (value === undefined) {
      if (!(ANN_SNAPSHOT_BEING_CREATED in annotations)) return Promise.resolve(content);
      delete annotations[ANN_SNAPSHOT_BEING_CREATED];
    } else annotations[ANN_SNAPSHOT_BEING_CREATED] = value;
    return this.deps.store.update(K.vsc, { ...content, metadata: { ...content.metadata, annotations } });
  }

  private canList(): Promise<boolean> {
    this.listCapability ??= this.deps.csi.controllerGetCapabilities({}, { timeoutMs: this.timeoutMs }).then(
      (answer) => answer.capabilities.some((c) => c.rpc?.type === 'LIST_SNAPSHOTS'),
      (err: unknown) => {
        this.listCapability = undefined;
        throw err;
      },
    );
    return this.listCapability;
  }
}
