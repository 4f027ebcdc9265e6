// A test world for the binder: objects in a MemoryStore, the binder's cache built from it, and
// syncs that run the pure decisions and apply them through the real BinderApplier. converge()
// runs claim and volume syncs until a whole round writes nothing, which is what the controller's
// queues do, minus the timing.
import { isStatusError } from '../../../src/api/errors.js';
import type { KindInfo } from '../../../src/api/kinds.js';
import { kindFor } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import type {
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from '../../../src/api/types.js';
import type { Decision, EventType } from '../../../src/pv-controller/actions.js';
import type { Recycler } from '../../../src/pv-controller/apply.js';
import { BinderApplier } from '../../../src/pv-controller/apply.js';
import { BinderCache } from '../../../src/pv-controller/cache.js';
import { syncClaim, syncVolume } from '../../../src/pv-controller/decide.js';
import { CrashError, MemoryStore } from './memory-store.js';

function kind(apiVersion: string, name: string): KindInfo {
  const info = kindFor(apiVersion, name);
  if (!info) throw new Error(`no kind ${name}`);
  return info;
}

export const K = {
  pv: kind('v1', 'PersistentVolume'),
  pvc: kind('v1', 'PersistentVolumeClaim'),
  sc: kind('storage.k8s.io/v1', 'StorageClass'),
  pod: kind('v1', 'Pod'),
  node: kind('v1', 'Node'),
};

export interface Fixture {
  volumes?: PersistentVolume[];
  claims?: PersistentVolumeClaim[];
  classes?: StorageClass[];
  pods?: Pod[];
  nodes?: Node[];
}

export interface RecordedEvent {
  kind: string;
  name: string;
  type: EventType;
  reason: string;
  message: string;
}

export const NOW = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));

export class World {
  readonly store = new MemoryStore();
  readonly events: RecordedEvent[] = [];
  readonly recycled: string[] = [];
  recycleError: string | undefined;
  private applier: BinderApplier;
  private cacheView: BinderCache | undefined;
  readonly recycler: Recycler = {
    recycle: (volume) => {
      if (this.recycleError) return Promise.reject(new Error(this.recycleError));
      this.recycled.push(volume.metadata.name ?? '');
      return Promise.resolve();
    },
  };

  constructor(fixture: Fixture = {}) {
    for (const v of fixture.volumes ?? []) this.store.seed(K.pv, v);
    for (const c of fixture.claims ?? []) this.store.seed(K.pvc, c);
    for (const s of fixture.classes ?? []) this.store.seed(K.sc, s);
    for (const p of fixture.pods ?? []) this.store.seed(K.pod, p);
    for (const n of fixture.nodes ?? []) this.store.seed(K.node, n);
    this.applier = this.newApplier();
  }

  /** The controller restarted: its event memory and cache are gone. */
  restart(): void {
    this.applier = this.newApplier();
    this.cacheView = undefined;
  }

  private newApplier(): BinderApplier {
    return new BinderApplier({
      store: this.store,
      recycler: this.recycler,
      events: {
        event: (obj: KubeObject, type, reason, message) => {
          this.events.push({ kind: obj.kind, name: obj.metadata.name ?? '', type, reason, message });
        },
      },
      clock: { now: () => NOW, setTimeout: () => ({ cancel: () => undefined }) },
      onVolumeWritten: (v) => this.cacheView?.upsertVolume(v),
      onClaimWritten: (c) => this.cacheView?.upsertClaim(c),
    });
  }

  /** "Normal FailedBinding"-style strings, as Kubernetes' binder tests compare events. */
  eventStrings(): string[] {
    return this.events.map((e) => `${e.type} ${e.reason}`);
  }

  async cache(): Promise<BinderCache> {
    if (this.cacheView) return this.cacheView;
    const cache = new BinderCache();
    for (const v of (await this.store.list<PersistentVolume>(K.pv)).items) cache.upsertVolume(v);
    for (const c of (await this.store.list<PersistentVolumeClaim>(K.pvc)).items) cache.upsertClaim(c);
    for (const s of (await this.store.list<StorageClass>(K.sc)).items) cache.upsertClass(s);
    for (const p of (await this.store.list<Pod>(K.pod)).items) cache.upsertPod(p);
    for (const n of (await this.store.list<Node>(K.node)).items) cache.upsertNode(n);
    this.cacheView = cache;
    return cache;
  }

  async volume(name: string): Promise<PersistentVolume | undefined> {
    return this.store.get<PersistentVolume>(K.pv, undefined, name).catch(() => undefined);
  }

  async claim(name: string, namespace = 'default'): Promise<PersistentVolumeClaim | undefined> {
    return this.store.get<PersistentVolumeClaim>(K.pvc, namespace, name).catch(() => undefined);
  }

  async syncClaim(name: string, namespace = 'default'): Promise<Decision> {
    const cache = await this.cache();
    const claim = cache.claim(namespace, name);
    if (!claim) throw new Error(`no claim ${namespace}/${name}`);
    const decision = syncClaim(claim, cache, NOW);
    await this.applier.apply(decision.actions);
    return decision;
  }

  async syncVolume(name: string): Promise<Decision> {
    const cache = await this.cache();
    const volume = cache.volume(name);
    if (!volume) throw new Error(`no volume ${name}`);
    let decision = syncVolume(volume, cache, NOW);
    // The cache here is the store itself, so a "live" read says the same.
    if (decision.confirmClaim) decision = syncVolume(volume, cache, NOW, { claimConfirmed: true });
    await this.applier.apply(decision.actions);
    return decision;
  }

  /**
   * Syncs every claim and volume, round after round, until a round writes nothing (events
   * included). A CrashError restarts the "controller"; a conflict drops the cache, as a requeue
   * after re-reading would. Returns the number of rounds that wrote something.
   */
  async converge(maxRounds = 20): Promise<number> {
    for (let round = 0; round < maxRounds; round++) {
      const before = this.store.totalWrites() + this.events.length;
      // Each round starts from what the store holds, as informers would deliver it.
      this.cacheView = undefined;
      const cache = await this.cache();
      const claims = [...cache.allClaims()].map(
        (c) => [c.metadata.namespace ?? '', c.metadata.name ?? ''] as const,
      );
      const volumes = [...cache.allVolumes()].map((v) => v.metadata.name ?? '');
      const steps: (() => Promise<unknown>)[] = [
        ...claims.map(
          ([ns, name]) =>
            () =>
              this.syncClaim(name, ns),
        ),
        ...volumes.map((name) => () => this.syncVolume(name)),
      ];
      let crashed = false;
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          if (err instanceof CrashError) {
            crashed = true;
            this.store.armCrash(undefined);
            this.restart();
          } else if (isStatusError(err, 'Conflict') || isStatusError(err, 'NotFound')) {
            this.cacheView = undefined;
          } else if (!(err instanceof Error && err.message.startsWith('no '))) {
            throw err;
          }
        }
      }
      // A lost write changed nothing in the store, but the round did not finish its work.
      if (!crashed && this.store.totalWrites() + this.events.length === before) return round;
    }
    throw new Error(`no convergence within ${maxRounds} rounds`);
  }
}
