// The ObjectStore contract as a mocha suite: every backend (embedded, etcd, kube) must pass it.
import assert from 'node:assert/strict';
import { isStatusError, type StatusError } from '../../src/api/errors.js';
import { kinds, type KindInfo } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { GarbageCollector } from '../../src/store/gc.js';
import type { ObjectStore, WatchEvent, WatchOptions } from '../../src/store/types.js';
import { skipUnless } from '../helpers/skip.js';

export interface StoreContractOptions {
  /** How many changes the backend keeps for resuming watches; enables the 410 test. */
  historyLimit?: number;
  /**
   * How a watch from a revision older than the history says so: 'reject' (the default) rejects
   * watch(); 'onError' opens it and tells onError, as a watch over REST does (the server answers
   * 200 and then an ERROR event with a 410 Status, as Kubernetes does).
   */
  watchExpiryReported?: 'reject' | 'onError';
  /**
   * 'field-labels': field selectors take only the kind's Kubernetes field labels (an API server);
   * default: any field path (a store).
   */
  fieldSelectors?: 'any-path' | 'field-labels';
  /**
   * 'name-and-uid': a delete that removes the object at once answers only its name and uid (an
   * API server answers such a delete with a Status, which carries no resourceVersion).
   */
  deleteAnswers?: 'last-stored' | 'name-and-uid';
}

function kindNamed(name: string): KindInfo {
  const found = kinds.find((k) => k.kind === name);
  if (!found) throw new Error(`no kind ${name}`);
  return found;
}

const PVC = kindNamed('PersistentVolumeClaim');
const PV = kindNamed('PersistentVolume');
const CM = kindNamed('ConfigMap');
const STS = kindNamed('StatefulSet');

function claim(
  name: string,
  extra: Partial<KubeObject> & { labels?: Record<string, string> } = {},
): KubeObject {
  const { labels, ...rest } = extra;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    ...rest,
  };
}

/** Objects no admission gives finalizers, so a delete over an API server removes them at once. */
function configMap(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { k: name } };
}

function volume(name: string, phase = 'Available'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      hostPath: { path: `/tmp/${name}` },
    },
    status: { phase },
  };
}

async function rejects(promise: Promise<unknown>, reason: StatusError['reason'], message?: string | RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isStatusError(err, reason), `expected ${reason}, got ${String(err)}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

/** Collects watch events and lets a test wait until a given number arrived. */
class Recorder {
  readonly events: WatchEvent[] = [];
  private waiters: Array<() => void> = [];
  readonly onEvent = (event: WatchEvent): void => {
    this.events.push(event);
    for (const wake of this.waiters.splice(0)) wake();
  };
  async waitFor(count: number, timeoutMs = 5000): Promise<WatchEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`waited for ${count} events, got ${this.events.length}: ${this.summary().join(' ')}`);
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.events;
  }
  summary(): string[] {
    return this.events.map((e) => `${e.type}:${e.object.metadata.name}@${e.object.metadata.resourceVersion}`);
  }
}

export function describeStoreContract(
  name: string,
  open: () => Promise<ObjectStore>,
  close: (store: ObjectStore) => Promise<void> = (store) => store.close(),
  options: StoreContractOptions = {},
): void {
  describe(`ObjectStore contract: ${name}`, function () {
    let store: ObjectStore;
    const watches: Array<{ stop(): void }> = [];

    beforeEach(async function () {
      store = await open();
    });
    afterEach(async function () {
      for (const w of watches.splice(0)) w.stop();
      await close(store);
    });

    async function watch(kind: KindInfo, opts: WatchOptions): Promise<Recorder> {
      const recorder = new Recorder();
      watches.push(await store.watch(kind, opts, recorder.onEvent));
      return recorder;
    }

    describe('create and get', function () {
      it('assigns uid, creationTimestamp, generation and a numeric resourceVersion', async function () {
        const created = await store.create<KubeObject>(PVC, claim('a'));
        assert.match(created.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
        assert.match(created.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.equal(created.metadata.generation, 1);
        assert.match(created.metadata.resourceVersion ?? '', /^\d+$/);
        assert.deepEqual(await store.get(PVC, 'default', 'a'), created);
        assert.equal(await store.currentRevision(), created.metadata.resourceVersion);
      });

      it('answers 409 AlreadyExists for a duplicate name and 404 NotFound for a missing one', async function () {
        await store.create<KubeObject>(PVC, claim('a'));
        await rejects(
          store.create<KubeObject>(PVC, claim('a')),
          'AlreadyExists',
          'persistentvolumeclaims "a" already exists',
        );
        await rejects(store.get(PVC, 'default', 'zz'), 'NotFound', 'persistentvolumeclaims "zz" not found');
        await rejects(store.get(PVC, 'other', 'a'), 'NotFound');
      });

      it('names objects from generateName with five random lowercase alphanumerics', async function () {
        const names = new Set<string>();
        for (let i = 0; i < 5; i++) {
          const created = await store.create<KubeObject>(PVC, {
            ...claim(''),
            metadata: { generateName: 'data-', namespace: 'default' },
          });
          assert.match(created.metadata.name ?? '', /^data-[a-z0-9]{5}$/);
          names.add(created.metadata.name!);
        }
        assert.equal(names.size, 5);
      });

      it('creates in a namespace that must exist only once it exists (namespaceMustExist)', async function () {
        const namespace = `ns-${Math.random().toString(36).slice(2, 8)}`;
        const inside = { ...configMap('a'), metadata: { name: 'a', namespace } };
        const mustExist = { namespaceMustExist: true };
        await rejects(store.create(CM, inside, mustExist), 'NotFound', `namespaces "${namespace}" not found`);
        await rejects(store.get(CM, namespace, 'a'), 'NotFound');
        const NS = kindNamed('Namespace');
        await store.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
        const created = await store.create(CM, inside, mustExist);
        assert.equal(created.metadata.namespace, namespace);
        await rejects(store.create(CM, inside, mustExist), 'AlreadyExists', 'configmaps "a" already exists');
        // a cluster-scoped object has no namespace to check
        const pv = { ...volume('pv-ns'), metadata: { name: 'pv-ns', namespace: 'nowhere' } };
        await store.create(PV, pv, mustExist);
      });

      it('keeps a deleted namespace Terminating until /finalize takes its last spec finalizer', async function () {
        const namespace = `ns-${Math.random().toString(36).slice(2, 8)}`;
        const NS = kindNamed('Namespace');
        const mustExist = { namespaceMustExist: true };
        await store.create(NS, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: namespace },
          spec: { finalizers: ['kubernetes'] },
          status: { phase: 'Active' },
        });
        await store.create(CM, { ...configMap('a'), metadata: { name: 'a', namespace } }, mustExist);
        const marked = await store.delete(NS, undefined, namespace);
        assert.ok(marked.metadata.deletionTimestamp, 'marked for deletion');
        assert.equal((marked['status'] as { phase?: string }).phase, 'Terminating');
        await rejects(
          store.create(CM, { ...configMap('b'), metadata: { name: 'b', namespace } }, mustExist),
          'Forbidden',
          `configmaps "b" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        );
        await rejects(store.get(CM, namespace, 'b'), 'NotFound');
        // an ordinary update cannot drop spec.finalizers; only /finalize can
        const current = await store.get(NS, undefined, namespace);
        const updated = await store.update(NS, { ...current, spec: {} });
        assert.deepEqual(updated['spec'], { finalizers: ['kubernetes'] });
        await store.update(NS, { ...updated, spec: { finalizers: [] } }, { subresource: 'finalize' });
        await rejects(store.get(NS, undefined, namespace), 'NotFound');
      });

      it('ignores a namespace on cluster-scoped kinds', async function () {
        await store.create<KubeObject>(PV, { ...volume('pv1'), metadata: { name: 'pv1', namespace: 'x' } });
        const got = await store.get(PV, undefined, 'pv1');
        assert.equal(got.metadata.namespace, undefined);
      });

      it('gives every write a higher revision, also under many concurrent writers', async function () {
        const created = await Promise.all(
          Array.from({ length: 40 }, (_, i) => store.create<KubeObject>(PVC, claim(`c${i}`))),
        );
        const revisions = created.map((c) => Number(c.metadata.resourceVersion));
        assert.equal(new Set(revisions).size, 40);
        assert.equal(Number(await store.currentRevision()), Math.max(...revisions));
      });
    });

    describe('update', function () {
      it('is a compare-and-swap on resourceVersion with the Kubernetes conflict message', async function () {
        const created = await store.create<KubeObject>(PVC, claim('x'));
        const first = await store.update<KubeObject>(PVC, {
          ...created,
          metadata: { ...created.metadata, labels: { a: '1' } },
        });
        assert.ok(Number(first.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
        await rejects(
          store.update<KubeObject>(PVC, {
            ...created,
            metadata: { ...created.metadata, labels: { a: '2' } },
          }),
          'Conflict',
          'Operation cannot be fulfilled on persistentvolumeclaims "x": the object has been modified; please apply your changes to the latest version and try again',
        );
        const { resourceVersion: _rv, ...metaWithoutRv } = created.metadata;
        const lastWriteWins = await store.update<KubeObject>(PVC, {
          ...created,
          metadata: { ...metaWithoutRv, labels: { a: '3' } },
        });
        assert.deepEqual(lastWriteWins.metadata.labels, { a: '3' });
      });

      it('lets exactly one of many concurrent CAS updates from the same version win', async function () {
        const created = await store.create<KubeObject>(PVC, claim('x'));
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            store.update<KubeObject>(PVC, {
              ...created,
              metadata: { ...created.metadata, labels: { n: String(i) } },
            }),
          ),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      });

      it('answers 404 for a missing object', async function () {
        await rejects(store.update<KubeObject>(PVC, claim('nope')), 'NotFound');
      });

      it('keeps stored status on a normal update and changes only status on a status update', async function () {
        const created = await store.create<KubeObject>(PV, volume('v1'));
        const spec = await store.update<KubeObject>(PV, {
          ...created,
          spec: { ...(created['spec'] as object), storageClassName: 'fast' },
          status: { phase: 'Bound' },
        });
        assert.deepEqual(spec['status'], { phase: 'Available' });
        assert.equal((spec['spec'] as { storageClassName: string }).storageClassName, 'fast');
        assert.equal(spec.metadata.generation, 2);

        const status = await store.update<KubeObject>(
          PV,
          {
            ...spec,
            spec: { hostPath: { path: '/elsewhere' } },
            metadata: { ...spec.metadata, labels: { x: 'y' } },
            status: { phase: 'Bound' },
          },
          { subresource: 'status' },
        );
        assert.deepEqual(status['status'], { phase: 'Bound' });
        assert.deepEqual(status['spec'], spec['spec']);
        assert.equal(status.metadata.labels, undefined);
        assert.equal(status.metadata.generation, 2, 'status writes do not bump generation');
      });

      it('bumps generation for spec changes only, never for metadata', async function () {
        const created = await store.create<KubeObject>(PVC, claim('g'));
        const labelled = await store.update<KubeObject>(PVC, {
          ...created,
          metadata: { ...created.metadata, labels: { a: 'b' } },
        });
        assert.equal(labelled.metadata.generation, 1);
        const resized = await store.update<KubeObject>(PVC, {
          ...labelled,
          spec: { ...(labelled['spec'] as object), volumeName: 'pv-1' },
        });
        assert.equal(resized.metadata.generation, 2);
      });

      it('keeps immutable metadata and rejects a different uid', async function () {
        const created = await store.create<KubeObject>(PVC, claim('m'));
        const updated = await store.update<KubeObject>(PVC, {
          ...created,
          metadata: { ...created.metadata, creationTimestamp: '2000-01-01T00:00:00Z', generation: 99 },
        });
        assert.equal(updated.metadata.creationTimestamp, created.metadata.creationTimestamp);
        assert.equal(updated.metadata.uid, created.metadata.uid);
        assert.equal(updated.metadata.generation, 1);
        await rejects(
          store.update<KubeObject>(PVC, { ...updated, metadata: { ...updated.metadata, uid: 'other' } }),
          'Conflict',
          /Precondition failed: UID in precondition: other/,
        );
      });

      it('does not write when nothing changes', async function () {
        const created = await store.create<KubeObject>(PVC, claim('same'));
        const again = await store.update<KubeObject>(PVC, created);
        assert.equal(again.metadata.resourceVersion, created.metadata.resourceVersion);
      });
    });

    describe('patch', function () {
      it('applies an RFC 7386 merge patch atomically', async function () {
        await store.create<KubeObject>(PVC, claim('p', { labels: { keep: '1', drop: '2' } }));
        const patched = await store.patch(PVC, 'default', 'p', {
          metadata: { labels: { drop: null, add: '3' } },
          spec: { volumeName: 'pv-9' },
        });
        assert.deepEqual(patched.metadata.labels, { keep: '1', add: '3' });
        assert.equal((patched['spec'] as { volumeName: string }).volumeName, 'pv-9');
        assert.deepEqual((patched['spec'] as { accessModes: string[] }).accessModes, ['ReadWriteOnce']);
      });

      it('checks a resourceVersion carried in the patch', async function () {
        const created = await store.create<KubeObject>(PVC, claim('p'));
        await store.patch(PVC, 'default', 'p', { metadata: { labels: { a: 'b' } } });
        await rejects(
          store.patch(PVC, 'default', 'p', {
            metadata: { resourceVersion: created.metadata.resourceVersion, labels: { a: 'c' } },
          }),
          'Conflict',
        );
      });

      it('patches status only through the status subresource', async function () {
        await store.create<KubeObject>(PV, volume('v'));
        const ignored = await store.patch(PV, undefined, 'v', { status: { phase: 'Bound' } });
        assert.deepEqual(ignored['status'], { phase: 'Available' });
        const bound = await store.patch(
          PV,
          undefined,
          'v',
          { status: { phase: 'Bound' } },
          { subresource: 'status' },
        );
        assert.deepEqual(bound['status'], { phase: 'Bound' });
      });

      it('answers 404 for a missing object', async function () {
        await rejects(store.patch(PVC, 'default', 'none', { metadata: {} }), 'NotFound');
      });
    });

    describe('delete and finalizers', function () {
      it('removes an object without finalizers and returns it with the delete revision', async function () {
        const created = await store.create<KubeObject>(CM, configMap('d'));
        const deleted = await store.delete(CM, 'default', 'd');
        assert.equal(deleted.metadata.name, 'd');
        assert.equal(deleted.metadata.uid, created.metadata.uid);
        if (options.deleteAnswers !== 'name-and-uid') {
          assert.ok(Number(deleted.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
          assert.equal(await store.currentRevision(), deleted.metadata.resourceVersion);
        }
        await rejects(store.get(CM, 'default', 'd'), 'NotFound');
        await rejects(store.delete(CM, 'default', 'd'), 'NotFound');
      });

      it('marks an object with finalizers as deleting, and removes it once they are gone', async function () {
        const created = await store.create<KubeObject>(PVC, {
          ...claim('f'),
          metadata: { name: 'f', namespace: 'default', finalizers: ['kubernetes.io/pvc-protection'] },
        });
        const recorder = await watch(PVC, { resourceVersion: created.metadata.resourceVersion! });
        const marked = await store.delete(PVC, 'default', 'f');
        assert.ok(marked.metadata.deletionTimestamp);
        const stillThere = await store.get(PVC, 'default', 'f');
        assert.equal(stillThere.metadata.deletionTimestamp, marked.metadata.deletionTimestamp);

        const again = await store.delete(PVC, 'default', 'f');
        assert.equal(
          again.metadata.resourceVersion,
          marked.metadata.resourceVersion,
          'second delete is a no-op',
        );

        await rejects(
          store.update<KubeObject>(PVC, {
            ...stillThere,
            metadata: { ...stillThere.metadata, finalizers: ['x', 'kubernetes.io/pvc-protection'] },
          }),
          'Invalid',
          /no new finalizers can be added/,
        );
        await store.update<KubeObject>(PVC, {
          ...stillThere,
          metadata: { ...stillThere.metadata, finalizers: [] },
        });
        await rejects(store.get(PVC, 'default', 'f'), 'NotFound');
        const events = await recorder.waitFor(2);
        assert.deepEqual(
          events.map((e) => e.type),
          ['MODIFIED', 'DELETED'],
        );
      });

      it('honours uid and resourceVersion preconditions', async function () {
        const created = await store.create<KubeObject>(CM, configMap('pre'));
        await rejects(
          store.delete(CM, 'default', 'pre', { uid: 'wrong' }),
          'Conflict',
          /UID in precondition: wrong/,
        );
        await rejects(
          store.delete(CM, 'default', 'pre', { resourceVersion: '1' + created.metadata.resourceVersion }),
          'Conflict',
        );
        await store.delete(CM, 'default', 'pre', {
          uid: created.metadata.uid!,
          resourceVersion: created.metadata.resourceVersion!,
        });
        await rejects(store.get(CM, 'default', 'pre'), 'NotFound');
      });
    });

    describe('list', function () {
      beforeEach(async function () {
        await store.create<KubeObject>(PVC, claim('a', { labels: { app: 'db', tier: 'gold' } }));
        await store.create<KubeObject>(PVC, claim('b', { labels: { app: 'web' } }));
        await store.create<KubeObject>(PVC, {
          ...claim('c'),
          metadata: { name: 'c', namespace: 'other', labels: { app: 'db' } },
        });
        await store.create<KubeObject>(PV, volume('v1', 'Available'));
        await store.create<KubeObject>(PV, volume('v2', 'Bound'));
      });

      const names = (items: KubeObject[]) => items.map((i) => i.metadata.name);

      it('lists all namespaces or one, at the current revision', async function () {
        const all = await store.list(PVC);
        assert.deepEqual(names(all.items).sort(), ['a', 'b', 'c']);
        assert.equal(all.resourceVersion, await store.currentRevision());
        assert.deepEqual(names((await store.list(PVC, { namespace: 'default' })).items).sort(), ['a', 'b']);
        assert.deepEqual(names((await store.list(PV)).items).sort(), ['v1', 'v2']);
      });

      it('filters by label selector', async function () {
        const sel = async (labelSelector: string) =>
          names((await store.list(PVC, { labelSelector })).items).sort();
        assert.deepEqual(await sel('app=db'), ['a', 'c']);
        assert.deepEqual(await sel('app==db,tier=gold'), ['a']);
        assert.deepEqual(await sel('app!=db'), ['b']);
        assert.deepEqual(await sel('app in (web, db)'), ['a', 'b', 'c']);
        assert.deepEqual(await sel('app notin (db)'), ['b']);
        assert.deepEqual(await sel('tier'), ['a']);
        assert.deepEqual(await sel('!tier'), ['b', 'c']);
      });

      it('filters by field selector', async function () {
        const sel = async (kind: KindInfo, fieldSelector: string) =>
          names((await store.list(kind, { fieldSelector })).items).sort();
        assert.deepEqual(await sel(PVC, 'metadata.name=b'), ['b']);
        assert.deepEqual(await sel(PVC, 'metadata.namespace==other'), ['c']);
        // API servers take only the kind's field labels (PVs and claims: metadata.name/namespace)
        if (options.fieldSelectors === 'field-labels') return;
        assert.deepEqual(await sel(PV, 'status.phase!=Bound'), ['v1']);
        assert.deepEqual(await sel(PVC, 'spec.volumeName='), ['a', 'b', 'c']);
      });

      it('answers 400 BadRequest naming a malformed selector', async function () {
        await rejects(store.list(PVC, { labelSelector: 'app in db' }), 'BadRequest', /app in db/);
        await rejects(store.list(PVC, { fieldSelector: 'metadata.name' }), 'BadRequest', /metadata\.name/);
      });
    });

    describe('list paging', function () {
      const names = (items: KubeObject[]) => items.map((i) => i.metadata.name);

      beforeEach(async function () {
        for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) {
          await store.create<KubeObject>(PVC, claim(name, { labels: { odd: String(Number(name[1]) % 2) } }));
        }
        await store.create<KubeObject>(PVC, { ...claim('q'), metadata: { name: 'q', namespace: 'other' } });
      });

      it('pages by limit with continue tokens, all pages at the first page revision', async function () {
        const seen: string[] = [];
        const revisions = new Set<string>();
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await store.list(PVC, {
            namespace: 'default',
            limit: 2,
            ...(token ? { continue: token } : {}),
          });
          assert.ok(page.items.length <= 2);
          seen.push(...names(page.items).map(String));
          revisions.add(page.resourceVersion);
          token = page.continue;
          pages++;
        } while (token);
        assert.deepEqual(seen, ['p1', 'p2', 'p3', 'p4', 'p5']);
        assert.equal(pages, 3);
        assert.equal(revisions.size, 1);
        const unpaged = await store.list(PVC, { namespace: 'default' });
        assert.equal(unpaged.continue, undefined);
      });

      it('counts only matching items towards the limit, across namespaces', async function () {
        const first = await store.list(PVC, { labelSelector: 'odd=1', limit: 2 });
        assert.deepEqual(names(first.items), ['p1', 'p3']);
        const second = await store.list(PVC, { labelSelector: 'odd=1', limit: 2, continue: first.continue! });
        assert.deepEqual(names(second.items), ['p5']);
        assert.equal(second.continue, undefined);
        const all = await store.list(PVC, { limit: 10 });
        assert.deepEqual(names(all.items).sort(), ['p1', 'p2', 'p3', 'p4', 'p5', 'q']);
        assert.equal(all.continue, undefined);
      });

      it('answers 400 for a malformed continue token or limit', async function () {
        await rejects(
          store.list(PVC, { continue: 'not-a-token' }),
          'BadRequest',
          /continue key is not valid/,
        );
        const forged = Buffer.from(JSON.stringify({ v: 'berth/v1', rv: -3, start: 'x' })).toString(
          'base64url',
        );
        await rejects(store.list(PVC, { continue: forged }), 'BadRequest', /continue key is not valid/);
        await rejects(store.list(PVC, { limit: -1 }), 'BadRequest', /limit/);
        await rejects(store.list(PVC, { limit: 1.5 }), 'BadRequest', /limit/);
      });
    });

    describe('watch', function () {
      it('delivers changes after a list revision in order, asynchronously', async function () {
        await store.create<KubeObject>(CM, configMap('before'));
        const { resourceVersion } = await store.list(CM);
        const recorder = await watch(CM, { resourceVersion });
        const a = await store.create<KubeObject>(CM, configMap('a'));
        assert.equal(recorder.events.length, 0, 'no event inside the writer call');
        await store.patch(CM, 'default', 'a', { metadata: { labels: { x: 'y' } } });
        await store.delete(CM, 'default', 'a');
        await store.create<KubeObject>(PV, volume('other-kind'));
        await store.create<KubeObject>(CM, configMap('b'));
        const events = await recorder.waitFor(4);
        assert.deepEqual(
          events.map((e) => `${e.type}:${e.object.metadata.name}`),
          ['ADDED:a', 'MODIFIED:a', 'DELETED:a', 'ADDED:b'],
        );
        // a deletion carries the object's last state
        assert.deepEqual(events[2]!.object.metadata.labels, { x: 'y' });
        const revisions = events.map((e) => Number(e.object.metadata.resourceVersion));
        assert.deepEqual(
          [...revisions].sort((x, y) => x - y),
          revisions,
        );
        assert.equal(events[0]!.object.metadata.uid, a.metadata.uid);
      });

      it('starts with synthetic ADDED events for current objects when no revision is given', async function () {
        await store.create<KubeObject>(PVC, claim('one'));
        await store.create<KubeObject>(PVC, claim('two'));
        const recorder = await watch(PVC, {});
        await store.create<KubeObject>(PVC, claim('three'));
        const events = await recorder.waitFor(3);
        assert.deepEqual(
          events.map((e) => `${e.type}:${e.object.metadata.name}`),
          ['ADDED:one', 'ADDED:two', 'ADDED:three'],
        );
        const zero = await watch(PVC, { resourceVersion: '0' });
        assert.equal((await zero.waitFor(3)).length, 3);
      });

      it('resumes from a revision in the middle', async function () {
        await store.create<KubeObject>(CM, configMap('a'));
        const b = await store.create<KubeObject>(CM, configMap('b'));
        await store.create<KubeObject>(CM, configMap('c'));
        await store.delete(CM, 'default', 'a');
        const recorder = await watch(CM, { resourceVersion: b.metadata.resourceVersion! });
        const events = await recorder.waitFor(2);
        assert.deepEqual(
          events.map((e) => `${e.type}:${e.object.metadata.name}`),
          ['ADDED:c', 'DELETED:a'],
        );
      });

      it('turns filter transitions into ADDED and DELETED', async function () {
        const created = await store.create<KubeObject>(PVC, claim('t', { labels: { app: 'db' } }));
        const recorder = await watch(PVC, {
          resourceVersion: created.metadata.resourceVersion!,
          labelSelector: 'app=db',
          namespace: 'default',
        });
        await store.patch(PVC, 'default', 't', { metadata: { labels: { app: 'web' } } });
        await store.patch(PVC, 'default', 't', { metadata: { labels: { extra: '1' } } });
        await store.patch(PVC, 'default', 't', { metadata: { labels: { app: 'db' } } });
        await store.patch(PVC, 'default', 't', { spec: { volumeName: 'v' } });
        await store.create<KubeObject>(PVC, {
          ...claim('elsewhere'),
          metadata: { name: 'x', namespace: 'other', labels: { app: 'db' } },
        });
        const events = await recorder.waitFor(3);
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.deepEqual(
          events.map((e) => `${e.type}:${e.object.metadata.labels?.['app']}`),
          ['DELETED:web', 'ADDED:db', 'MODIFIED:db'],
        );
      });

      it('filters by field selector', async function () {
        skipUnless(
          this,
          options.fieldSelectors !== 'field-labels',
          'an API server takes only field labels; status.phase is none for PersistentVolumes',
        );
        const recorder = await watch(PV, { fieldSelector: 'status.phase=Bound' });
        await store.create<KubeObject>(PV, volume('v1', 'Available'));
        await store.patch(PV, undefined, 'v1', { status: { phase: 'Bound' } }, { subresource: 'status' });
        await store.patch(PV, undefined, 'v1', { status: { phase: 'Released' } }, { subresource: 'status' });
        const events = await recorder.waitFor(2);
        assert.deepEqual(
          events.map((e) => e.type),
          ['ADDED', 'DELETED'],
        );
      });

      it('stops delivering after stop()', async function () {
        const recorder = new Recorder();
        const w = await store.watch(PVC, {}, recorder.onEvent);
        w.stop();
        await store.create<KubeObject>(PVC, claim('late'));
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(recorder.events.length, 0);
      });

      it('answers 410 Expired for a revision older than the history kept', async function () {
        skipUnless(
          this,
          options.historyLimit !== undefined,
          'backend did not declare its watch history size',
        );
        const first = await store.create<KubeObject>(CM, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'h', namespace: 'default' },
        });
        for (let i = 0; i < options.historyLimit! + 5; i++) {
          await store.patch(CM, 'default', 'h', { data: { i: String(i) } });
        }
        const tooOld = new RegExp(`^too old resource version: ${first.metadata.resourceVersion} \\(\\d+\\)$`);
        if (options.watchExpiryReported === 'onError') {
          const ended = new Promise<Error>((resolve) => {
            void store
              .watch(CM, { resourceVersion: first.metadata.resourceVersion! }, () => undefined, resolve)
              .then((w) => watches.push(w));
          });
          await rejects(Promise.reject(await ended), 'Expired', tooOld);
          return;
        }
        await rejects(
          store.watch(CM, { resourceVersion: first.metadata.resourceVersion! }, () => undefined),
          'Expired',
          tooOld,
        );
        await assert.rejects(
          store.watch(CM, { resourceVersion: first.metadata.resourceVersion! }, () => undefined),
          (err: unknown) => (err as StatusError).code === 410,
        );
      });
    });

    describe('garbage collection', function () {
      it('deletes dependents whose owners are all gone, and keeps the rest', async function () {
        const owner = await store.create<KubeObject>(STS, {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'web', namespace: 'default' },
          spec: {
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: { containers: [{ name: 'web', image: 'nginx' }] },
            },
          },
        });
        const other = await store.create<KubeObject>(CM, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'o', namespace: 'default' },
        });
        const ref = (o: KubeObject) => ({
          apiVersion: o.apiVersion,
          kind: o.kind,
          name: o.metadata.name!,
          uid: o.metadata.uid!,
        });
        await store.create<KubeObject>(CM, {
          ...configMap('owned'),
          metadata: { name: 'owned', namespace: 'default', ownerReferences: [ref(owner)] },
        });
        await store.create<KubeObject>(CM, {
          ...configMap('two-owners'),
          metadata: { name: 'two-owners', namespace: 'default', ownerReferences: [ref(owner), ref(other)] },
        });
        await store.create<KubeObject>(CM, {
          ...configMap('foreign'),
          metadata: {
            name: 'foreign',
            namespace: 'default',
            ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Thing', name: 't', uid: 'nope' }],
          },
        });
        await store.create<KubeObject>(CM, configMap('free'));

        const gc = new GarbageCollector({ store, kinds });
        assert.deepEqual(await gc.collectOnce(), []);
        await store.delete(STS, 'default', 'web');
        const collected = await gc.collectOnce();
        assert.deepEqual(
          collected.map((o) => o.object.metadata.name),
          ['owned'],
        );
        const left = (await store.list(CM)).items.map((i) => i.metadata.name).sort();
        assert.deepEqual(left, ['foreign', 'free', 'o', 'two-owners']);
      });
    });
  });
}
