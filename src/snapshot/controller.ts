// berth's snapshot controller (external-snapshotter's common controller): binds VolumeSnapshots
// and VolumeSnapshotContents, creates the contents of dynamic snapshots, keeps the finalizers and
// deletes by deletionPolicy. Driver calls are the snapshotter sidecar's (snapshotter.ts). The
// decisions are pure (snapshot-decide.ts, content-decide.ts); this file reads and writes.
import { isStatusError } from '../api/errors.js';
import { withFinalizer, withoutFinalizer } from '../api/finalizers.js';
import { K } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import type { VolumeSnapshot, VolumeSnapshotClass, VolumeSnapshotContent } from '../api/snapshot-types.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../api/types.js';
import type { Clock } from '../machinery/clock.js';
import { systemClock } from '../machinery/clock.js';
import { Controller } from '../machinery/controller.js';
import type { EventType } from '../machinery/events.js';
import type { Informer } from '../machinery/informer.js';
import type { Logger } from '../machinery/logger.js';
import { silentLogger } from '../machinery/logger.js';
import { ItemExponentialFailureRateLimiter } from '../machinery/rate-limiter.js';
import type { SharedInformerCache } from '../machinery/shared-cache.js';
import { ControllerInformers } from '../machinery/shared-cache.js';
import type { ObjectStore } from '../store/types.js';
import { rfc3339Seconds } from '../store/object-rules.js';
import {
  ANN_SNAPSHOT_BEING_DELETED,
  FINALIZER_CONTENT_BOUND,
  FINALIZER_PVC_AS_SOURCE,
} from '../volume/snapshot-names.js';
import { claimReleasable, decideContent } from './content-decide.js';
import { claimDataSource, claimsRestoringFrom } from '../volume/data-source.js';
import { type SnapshotAction, contentNameOf, decideSnapshot } from './snapshot-decide.js';
import { QueueController } from '../machinery/queue-controller.js';

export interface SnapshotEventSink {
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

export interface SnapshotControllerDeps {
  store: ObjectStore;
  recorder: SnapshotEventSink;
  informers?: SharedInformerCache;
  clock?: Clock;
  log?: Logger;
  workers?: number;
  /** Per-key back-off; default 1 s doubling to 5 min. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

const SNAPSHOT = 'vs/';
const CONTENT = 'vsc/';
const CLAIM = 'pvc/';

function orUndefined(err: unknown): undefined {
  if (isStatusError(err, 'NotFound')) return undefined;
  throw err;
}

export class SnapshotController extends QueueController {
  private readonly deps: SnapshotControllerDeps;
  private readonly clock: Clock;
  private readonly log: Logger;
  protected readonly informers: ControllerInformers;
  private readonly snapshots: Informer<VolumeSnapshot>;
  private readonly contents: Informer<VolumeSnapshotContent>;
  private readonly classes: Informer<VolumeSnapshotClass>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  protected readonly controller: Controller;

  constructor(deps: SnapshotControllerDeps) {
    super();
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger).child({ component: 'snapshot-controller' });
    this.informers = new ControllerInformers({
      shared: deps.informers,
      store: deps.store,
      clock: this.clock,
      logger: this.log,
    });
    this.snapshots = this.informers.informer<VolumeSnapshot>(K.vs);
    this.contents = this.informers.informer<VolumeSnapshotContent>(K.vsc);
    this.classes = this.informers.informer<VolumeSnapshotClass>(K.vsclass);
    this.claims = this.informers.informer<PersistentVolumeClaim>(K.pvc);
    this.volumes = this.informers.informer<PersistentVolume>(K.pv);
    this.controller = new Controller({
      name: 'snapshot-controller',
      reconcile: (key) => this.sync(key),
      workers: deps.workers ?? 4,
      clock: this.clock,
      logger: this.log,
      rateLimiter: new ItemExponentialFailureRateLimiter(
        deps.retryBaseMs ?? 1_000,
        deps.retryMaxMs ?? 300_000,
      ),
    });
    const on = this.informers.on.bind(this.informers);
    const enqueue = (key: string) => this.controller.enqueue(key);
    const snapshotChanged = (s: VolumeSnapshot) => {
      enqueue(`${SNAPSHOT}${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`);
      const claim = s.spec.source.persistentVolumeClaimName;
      if (claim) enqueue(`${CLAIM}${s.metadata.namespace ?? ''}/${claim}`);
    };
    on(this.snapshots, {
      onAdd: snapshotChanged,
      onUpdate: (_o, s) => snapshotChanged(s),
      onDelete: snapshotChanged,
    });
    const contentChanged = (c: VolumeSnapshotContent) => {
      enqueue(`${CONTENT}${c.metadata.name ?? ''}`);
      const ref = c.spec.volumeSnapshotRef;
      if (ref.name) enqueue(`${SNAPSHOT}${ref.namespace ?? ''}/${ref.name}`);
    };
    on(this.contents, {
      onAdd: contentChanged,
      onUpdate: (_o, c) => contentChanged(c),
      onDelete: contentChanged,
    });
    // A new or changed class may unblock snapshots waiting for one.
    const classChanged = () => {
      for (const s of this.snapshots.list())
        if (!s.status?.boundVolumeSnapshotContentName) snapshotChanged(s);
    };
    on(this.classes, { onAdd: classChanged, onUpdate: classChanged });
    const claimChanged = (claim: PersistentVolumeClaim) => {
      const ns = claim.metadata.namespace ?? '';
      if (claim.metadata.finalizers?.includes(FINALIZER_PVC_AS_SOURCE))
        enqueue(`${CLAIM}${ns}/${claim.metadata.name ?? ''}`);
      for (const s of this.snapshots.list()) {
        if (s.metadata.namespace === ns && s.spec.source.persistentVolumeClaimName === claim.metadata.name)
          snapshotChanged(s);
      }
      const source = claimDataSource(claim);
      if (source?.kind === 'VolumeSnapshot') enqueue(`${SNAPSHOT}${source.namespace ?? ns}/${source.name}`);
    };
    on(this.claims, { onAdd: claimChanged, onUpdate: (_o, c) => claimChanged(c), onDelete: claimChanged });
  }

  /** Resolves once the queue is momentarily idle. For tests. */
  private async sync(key: string): Promise<void> {
    if (key.startsWith(SNAPSHOT)) return this.syncSnapshot(key.slice(SNAPSHOT.length));
    if (key.startsWith(CONTENT)) return this.syncContent(key.slice(CONTENT.length));
    if (key.startsWith(CLAIM)) return this.syncClaim(key.slice(CLAIM.length));
  }

  private async syncSnapshot(key: string): Promise<void> {
    const cached = this.snapshots.getByKey(key);
    if (!cached) return;
    // The cache may lag behind this controller's own last write: decide on the stored object.
    let snapshot = await this.deps.store
      .get<VolumeSnapshot>(K.vs, cached.metadata.namespace, cached.metadata.name ?? '')
      .catch(orUndefined);
    if (!snapshot) return;
    const namespace = snapshot.metadata.namespace ?? '';
    const claimName = snapshot.spec.source.persistentVolumeClaimName;
    const claim = claimName ? this.claims.get(namespace, claimName) : undefined;
    const content = await this.deps.store
      .get<VolumeSnapshotContent>(K.vsc, undefined, contentNameOf(snapshot))
      .catch(orUndefined);
    const view = {
      snapshot,
      content,
      claim,
      volume: claim?.spec.volumeName ? this.volumes.get(undefined, claim.spec.volumeName) : undefined,
      classes: this.classes.list(),
      restoring: claimsRestoringFrom(this.claims.list(), namespace, snapshot.metadata.name ?? ''),
    };
    for (const action of decideSnapshot(view, rfc3339Seconds(this.clock.now()))) {
      snapshot = await this.apply(snapshot, action);
    }
  }

  private async apply(snapshot: VolumeSnapshot, action: SnapshotAction): Promise<VolumeSnapshot> {
    const store = this.deps.store;
    switch (action.type) {
      case 'addFinalizers':
        return store.update(
          K.vs,
          action.finalizers.reduce((s, f) => withFinalizer(s, f), snapshot),
        );
      case 'removeFinalizers':
        return store.update(
          K.vs,
          action.finalizers.reduce((s, f) => withoutFinalizer(s, f), snapshot),
        );
      case 'setClass':
        return store.update(K.vs, {
          ...snapshot,
          spec: { ...snapshot.spec, volumeSnapshotClassName: action.className },
        });
      case 'protectClaim': {
        const claim = await store.get<PersistentVolumeClaim>(
          K.pvc,
          snapshot.metadata.namespace,
          snapshot.spec.source.persistentVolumeClaimName ?? '',
        );
        if (
          claim.metadata.deletionTimestamp &&
          !claim.metadata.finalizers?.includes(FINALIZER_PVC_AS_SOURCE)
        ) {
          throw new Error(`claim ${claim.metadata.name ?? ''} is being deleted`);
        }
        await store.update(K.pvc, withFinalizer(claim, FINALIZER_PVC_AS_SOURCE));
        return snapshot;
      }
      case 'createContent': {
        await store.create(K.vsc, action.content).catch((err: unknown) => {
          if (!isStatusError(err, 'AlreadyExists')) throw err;
        });
        const status = {
          ...snapshot.status,
          boundVolumeSnapshotContentName: action.content.metadata.name ?? '',
          readyToUse: false,
        };
        delete status.error;
        return store.update(K.vs, { ...snapshot, status }, { subresource: 'status' });
      }
      case 'bindContent': {
        const content = await store.get<VolumeSnapshotContent>(K.vsc, undefined, contentNameOf(snapshot));
        const ref = { ...content.spec.volumeSnapshotRef, uid: action.uid, kind: 'VolumeSnapshot' };
        await store.update(K.vsc, { ...content, spec: { ...content.spec, volumeSnapshotRef: ref } });
        return snapshot;
      }
      case 'deleteContent':
        await this.deleteContent(action.content);
        return snapshot;
      case 'status':
        return store.update(K.vs, { ...snapshot, status: action.status }, { subresource: 'status' });
      case 'event':
        this.deps.recorder.event(snapshot, action.eventType, action.reason, action.message);
        return snapshot;
    }
  }

  /** Marks the content so the sidecar may delete the physical snapshot, then deletes it. */
  private async deleteContent(content: VolumeSnapshotContent): Promise<void> {
    const annotations = { ...content.metadata.annotations, [ANN_SNAPSHOT_BEING_DELETED]: 'yes' };
    const marked =
      content.metadata.annotations?.[ANN_SNAPSHOT_BEING_DELETED] === 'yes'
        ? content
        : await this.deps.store.update(K.vsc, { ...content, metadata: { ...content.metadata, annotations } });
    await this.deps.store.delete(K.vsc, undefined, marked.metadata.name ?? '').catch(orUndefined);
    this.log.info('content deleted', { content: marked.metadata.name });
  }

  private async syncContent(name: string): Promise<void> {
    const content = await this.deps.store
      .get<VolumeSnapshotContent>(K.vsc, undefined, name)
      .catch(orUndefined);
    if (!content) return;
    const ref = content.spec.volumeSnapshotRef;
    const snapshot = ref.name ? this.snapshots.get(ref.namespace, ref.name) : undefined;
    const decision = decideContent(content, snapshot);
    if (decision.type === 'addFinalizer')
      await this.deps.store.update(K.vsc, withFinalizer(content, FINALIZER_CONTENT_BOUND));
    if (decision.type === 'delete') {
      // the cache may not have seen a new snapshot of the same name yet: look once more
      const stored = await this.deps.store
        .get<VolumeSnapshot>(K.vs, ref.namespace, ref.name ?? '')
        .catch(orUndefined);
      if (decideContent(content, stored).type === 'delete') await this.deleteContent(content);
    }
  }

  private async syncClaim(key: string): Promise<void> {
    const cached = this.claims.getByKey(key);
    if (!cached || !claimReleasable(cached, this.snapshots.list())) return;
    const claim = await this.deps.store
      .get<PersistentVolumeClaim>(K.pvc, cached.metadata.namespace, cached.metadata.name ?? '')
      .catch(orUndefined);
    if (!claim || !claimReleasable(claim, this.snapshots.list())) return;
    await this.deps.store.update(K.pvc, withoutFinalizer(claim, FINALIZER_PVC_AS_SOURCE));
  }
}
