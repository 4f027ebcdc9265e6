import assert from 'node:assert/strict';
import { kinds } from '../../../src/api/kinds.js';
import type { KubeObject, OwnerReference } from '../../../src/api/meta.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finalizerWork, findOrphans, GarbageCollector } from '../../../src/store/gc.js';
import { GcTriggers } from '../../../src/store/gc-triggers.js';
import { openEmbeddedStore } from '../../../src/store/embedded.js';
import type { ObjectStore } from '../../../src/store/types.js';
import { SharedInformerCache } from '../../../src/machinery/shared-cache.js';
import { eventually } from '../../helpers/eventually.js';

const PVC = kinds.find((k) => k.kind === 'PersistentVolumeClaim')!;

function dependent(name: string, owners: OwnerReference[]): { kind: typeof PVC; object: KubeObject } {
  return {
    kind: PVC,
    object: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, ownerReferences: owners } },
  };
}
const sts = (uid: string): OwnerReference => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 's', uid });
const foreign: OwnerReference = { apiVersion: 'example.com/v1', kind: 'Thing', name: 't', uid: 'gone' };

describe('store/gc findOrphans', function () {
  const live = new Set(['alive']);
  const cases: Array<[string, OwnerReference[], boolean]> = [
    ['no owners: kept', [], false],
    ['owner alive: kept', [sts('alive')], false],
    ['owner gone: collected', [sts('gone')], true],
    ['one of two owners alive: kept', [sts('gone'), sts('alive')], false],
    ['all owners gone: collected', [sts('gone'), sts('gone2')], true],
    ['owner of an unscanned kind: kept', [foreign], false],
    ['unscanned owner beside a gone one: kept', [sts('gone'), foreign], false],
  ];
  for (const [title, owners, collected] of cases) {
    it(title, function () {
      assert.equal(findOrphans([dependent('d', owners)], kinds, live).length, collected ? 1 : 0);
    });
  }
});

describe('store/gc finalizerWork (orphan and foreground propagation)', function () {
  const STS = kinds.find((k) => k.kind === 'StatefulSet')!;
  const owner = (finalizers: string[], deleting = true): { kind: typeof STS; object: KubeObject } => ({
    kind: STS,
    object: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: {
        name: 's',
        uid: 'owner',
        finalizers,
        ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
      },
    },
  });
  const child = (name: string, deleting = false) => {
    const d = dependent(name, [sts('owner')]);
    if (deleting) d.object.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    return d;
  };
  const summary = (objects: Array<{ kind: typeof PVC; object: KubeObject }>) =>
    finalizerWork(objects).map((a) =>
      a.type === 'removeFinalizer' ? `${a.type} ${a.finalizer}` : `${a.type} ${a.object.metadata.name ?? ''}`,
    );

  const cases: Array<[string, Array<{ kind: typeof PVC; object: KubeObject }>, string[]]> = [
    [
      'orphan: dependents lose their reference first',
      [owner(['orphan']), child('a'), child('b')],
      ['dropOwnerReference a', 'dropOwnerReference b'],
    ],
    ['orphan: no dependents left, the finalizer goes', [owner(['orphan'])], ['removeFinalizer orphan']],
    [
      'foreground: dependents are deleted first',
      [owner(['foregroundDeletion']), child('a')],
      ['deleteDependent a'],
    ],
    [
      'foreground: a dependent already deleting is waited for',
      [owner(['foregroundDeletion']), child('a', true)],
      [],
    ],
    [
      'foreground: no dependents left, the finalizer goes',
      [owner(['foregroundDeletion'])],
      ['removeFinalizer foregroundDeletion'],
    ],
    ['an owner not being deleted is left alone', [owner(['orphan'], false), child('a')], []],
    [
      'orphan: a dependent naming the owner twice is handled once',
      [owner(['orphan']), dependent('twice', [sts('owner'), sts('owner')])],
      ['dropOwnerReference twice'],
    ],
    [
      'orphan: only the dependents of the owner being deleted',
      [owner(['orphan']), child('a'), dependent('other', [sts('someone-else')])],
      ['dropOwnerReference a'],
    ],
    ["other finalizers are not the collector's", [owner(['kubernetes.io/pvc-protection']), child('a')], []],
  ];
  for (const [title, objects, want] of cases) {
    it(title, function () {
      assert.deepEqual(summary(objects), want);
    });
  }
});

describe('store/gc triggers (a pass runs only after a change that can give it work)', function () {
  const cm = (uid: string, meta: Partial<KubeObject['metadata']> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: uid, namespace: 'default', uid, ...meta },
  });
  const owned = (uid: string, owner: string, meta: Partial<KubeObject['metadata']> = {}): KubeObject =>
    cm(uid, { ownerReferences: [sts(owner)], ...meta });

  it('an object without owners, added, changed or deleted, wakes nothing', function () {
    const t = new GcTriggers(['orphan', 'foregroundDeletion']);
    assert.equal(t.observe({ type: 'ADDED', object: cm('a') }), false);
    assert.equal(t.observe({ type: 'MODIFIED', object: cm('a', { labels: { x: 'y' } }) }), false);
    assert.equal(t.observe({ type: 'DELETED', object: cm('a') }), false);
    assert.equal(t.size, 0);
  });

  it('a new dependent wakes it; the same owners again (a renewed lease) do not', function () {
    const t = new GcTriggers(['orphan', 'foregroundDeletion']);
    assert.equal(t.observe({ type: 'ADDED', object: owned('d', 'o') }), true);
    assert.equal(
      t.observe({ type: 'MODIFIED', object: owned('d', 'o', { labels: { renewed: '1' } }) }),
      false,
    );
    assert.equal(t.observe({ type: 'MODIFIED', object: owned('d', 'other') }), true);
  });

  it('the deletion of a named owner wakes it, of an unnamed object not', function () {
    const t = new GcTriggers(['orphan', 'foregroundDeletion']);
    t.observe({ type: 'ADDED', object: owned('d', 'o') });
    assert.equal(t.observe({ type: 'DELETED', object: cm('unrelated') }), false);
    assert.equal(t.observe({ type: 'DELETED', object: cm('o') }), true);
  });

  it('a dependent that loses its owners or goes wakes it (an orphaning owner may wait for it); then it is forgotten', function () {
    const t = new GcTriggers(['orphan', 'foregroundDeletion']);
    t.observe({ type: 'ADDED', object: owned('d', 'o') });
    assert.equal(t.observe({ type: 'MODIFIED', object: cm('d') }), true);
    assert.equal(t.observe({ type: 'DELETED', object: cm('o') }), false);
    t.observe({ type: 'ADDED', object: owned('e', 'o') });
    assert.equal(t.observe({ type: 'DELETED', object: owned('e', 'o') }), true);
    assert.equal(t.size, 0);
  });

  it('an owner being deleted with a propagation finalizer wakes it; with another finalizer not', function () {
    const t = new GcTriggers(['orphan', 'foregroundDeletion']);
    const deleting = { deletionTimestamp: '2026-01-01T00:00:00Z' };
    assert.equal(
      t.observe({ type: 'MODIFIED', object: cm('x', { ...deleting, finalizers: ['other'] }) }),
      false,
    );
    assert.equal(
      t.observe({ type: 'MODIFIED', object: cm('y', { ...deleting, finalizers: ['orphan'] }) }),
      true,
    );
  });
});

describe('store/gc GarbageCollector running on a store', function () {
  let dir: string;
  let store: ObjectStore;
  let gc: GarbageCollector;
  const STS = kinds.find((k) => k.kind === 'StatefulSet')!;
  const CM = kinds.find((k) => k.kind === 'ConfigMap')!;
  const passes = { count: 0 };

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'berth-gc-'));
    store = await openEmbeddedStore({ dataDir: dir });
    passes.count = 0;
    const counting: ObjectStore = Object.create(store) as ObjectStore;
    // a pass lists every kind: count the passes by the lists of one kind
    counting.list = (kind, options) => {
      if (kind === CM) passes.count++;
      return store.list(kind, options);
    };
    gc = new GarbageCollector({ store: counting, kinds: [STS, CM], intervalMs: 20 });
  });
  afterEach(async function () {
    await gc.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('collects a dependent after its owner is deleted, and lists nothing while only unrelated objects change', async function () {
    const owner = await store.create<KubeObject>(STS, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } } } },
    });
    await store.create<KubeObject>(CM, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'owned',
        namespace: 'default',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: owner.metadata.uid! },
        ],
      },
    });
    gc.start();
    await eventually(
      'the first pass (the existing dependent counts as a change)',
      async () => passes.count > 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const settled = passes.count;
    for (let i = 0; i < 5; i++)
      await store.create<KubeObject>(CM, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `free-${i}`, namespace: 'default' },
      });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(passes.count, settled, 'objects without owners start no pass');
    assert.ok(await store.get(CM, 'default', 'owned'));

    await store.delete(STS, 'default', 'web');
    await eventually('the dependent collected', async () =>
      store.get(CM, 'default', 'owned').then(
        () => false,
        () => true,
      ),
    );
  });

  it('hears of a kind the process has an informer of from that informer, not a watch of its own', async function () {
    const informers = new SharedInformerCache({ store });
    const configMaps = informers.informer(CM);
    configMaps.start();
    await configMaps.waitForSync();
    const watched: string[] = [];
    const counting: ObjectStore = Object.create(store) as ObjectStore;
    counting.watch = (kind, ...rest) => {
      watched.push(kind.kind);
      return store.watch(kind, ...rest);
    };
    const shared = new GarbageCollector({
      store: counting,
      kinds: [STS, CM],
      intervalMs: 20,
      changesFrom: (kind) => informers.existing(kind),
    });
    try {
      shared.start();
      const owner = await store.create<KubeObject>(STS, {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: 'default' },
        spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } } } },
      });
      await store.create<KubeObject>(CM, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'owned-by-db',
          namespace: 'default',
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: owner.metadata.uid! },
          ],
        },
      });
      await store.delete(STS, 'default', 'db');
      await eventually('the dependent collected', async () =>
        store.get(CM, 'default', 'owned-by-db').then(
          () => false,
          () => true,
        ),
      );
      assert.deepEqual(watched, ['StatefulSet'], 'only the kind without an informer is watched');
    } finally {
      await shared.stop();
      await informers.stop();
    }
  });
});
