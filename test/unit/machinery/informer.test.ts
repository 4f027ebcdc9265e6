import assert from 'node:assert/strict';
import { StatusError } from '../../../src/api/errors.js';
import { kindFor } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { FakeClock } from '../../../src/machinery/clock.js';
import { Controller } from '../../../src/machinery/controller.js';
import { Informer, enqueueOnChange, keyOf } from '../../../src/machinery/informer.js';
import type { InformerOptions } from '../../../src/machinery/informer.js';
import { SettledResync } from '../../../src/machinery/settled-resync.js';
import type { TempStore } from './helpers.js';
import { InterposedStore, tempStore, waitFor } from './helpers.js';

const configMaps = kindFor('v1', 'ConfigMap')!;
const nodes = kindFor('v1', 'Node')!;

function cm(
  namespace: string,
  name: string,
  labels: Record<string, string> = {},
  data: Record<string, string> = {},
) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name, labels }, data };
}

type Seen = string[];
function recordInto(seen: Seen) {
  return {
    onAdd: (o: KubeObject) => void seen.push(`add ${keyOf(o)}`),
    onUpdate: (a: KubeObject, b: KubeObject) =>
      void seen.push(a === b ? `resync ${keyOf(b)}` : `update ${keyOf(b)} ${JSON.stringify(b['data'])}`),
    onDelete: (o: KubeObject) => void seen.push(`delete ${keyOf(o)}`),
  };
}

describe('machinery/informer (embedded store)', () => {
  let t: TempStore;
  const informers: Informer[] = [];
  function informer(options: Partial<InformerOptions> = {}): Informer {
    const inf = new Informer({ store: t.store, kind: configMaps, ...options });
    informers.push(inf);
    return inf;
  }

  beforeEach(async () => {
    t = await tempStore();
  });
  afterEach(async () => {
    for (const inf of informers.splice(0)) await inf.stop();
    await t.cleanup();
  });

  it('keyOf is "ns/name" for namespaced objects and "name" otherwise', () => {
    assert.equal(keyOf(cm('ns', 'a')), 'ns/a');
    assert.equal(keyOf({ metadata: { name: 'node-1' } }), 'node-1');
  });

  it('lists, syncs, then follows the watch: add, update, delete in order', async () => {
    await t.store.create(configMaps, cm('ns', 'a'));
    await t.store.create(configMaps, cm('ns', 'b'));
    const seen: Seen = [];
    const inf = informer();
    inf.addHandler(recordInto(seen));
    assert.equal(inf.hasSynced(), false);
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.hasSynced(), true);
    assert.deepEqual(seen.sort(), ['add ns/a', 'add ns/b']);
    assert.equal(inf.get('ns', 'a')?.metadata.name, 'a');
    assert.equal(inf.list().length, 2);

    seen.length = 0;
    await t.store.create(configMaps, cm('ns', 'c'));
    await t.store.patch(configMaps, 'ns', 'a', { data: { k: 'v' } });
    await t.store.delete(configMaps, 'ns', 'b');
    await waitFor(() => seen.length === 3, 'three watch events');
    assert.deepEqual(seen, ['add ns/c', 'update ns/a {"k":"v"}', 'delete ns/b']);
    assert.deepEqual(inf.get('ns', 'a')?.['data'], { k: 'v' });
    assert.equal(inf.get('ns', 'b'), undefined);
    assert.equal(inf.lastSyncResourceVersion(), await t.store.currentRevision());
  });

  it('caches frozen objects, from the list and from the watch: a handler cannot change what others read', async () => {
    await t.store.create(configMaps, cm('ns', 'a', {}, { k: 'v' }));
    const inf = informer();
    const refused: boolean[] = [];
    inf.addHandler({
      onUpdate: (_old, obj) =>
        void refused.push(!Reflect.set(obj['data'] as object, 'k', 'changed by a handler')),
    });
    inf.start();
    await inf.waitForSync();
    assert.ok(Object.isFrozen(inf.get('ns', 'a')?.['data']));
    await t.store.patch(configMaps, 'ns', 'a', { data: { k: 'w' } });
    await waitFor(() => refused.length > 0, 'the handler told of the update');
    assert.deepEqual(refused, [true]);
    assert.deepEqual(inf.get('ns', 'a')?.['data'], { k: 'w' });
    assert.deepEqual((await t.store.get(configMaps, 'ns', 'a'))['data'], { k: 'w' });
  });

  it('handlers added after sync are told about every cached object', async () => {
    await t.store.create(configMaps, cm('ns', 'a'));
    const inf = informer();
    inf.start();
    await inf.waitForSync();
    const seen: Seen = [];
    inf.addHandler(recordInto(seen));
    assert.deepEqual(seen, ['add ns/a']);
  });

  it('honours namespace and label selectors; an object that stops matching is deleted from the cache', async () => {
    await t.store.create(configMaps, cm('ns', 'a', { app: 'db' }));
    await t.store.create(configMaps, cm('ns', 'b', { app: 'web' }));
    await t.store.create(configMaps, cm('other', 'c', { app: 'db' }));
    const seen: Seen = [];
    const inf = informer({ namespace: 'ns', labelSelector: 'app=db' });
    inf.addHandler(recordInto(seen));
    inf.start();
    await inf.waitForSync();
    assert.deepEqual(seen, ['add ns/a']);
    await t.store.patch(configMaps, 'ns', 'a', { metadata: { labels: { app: 'web' } } });
    await t.store.patch(configMaps, 'ns', 'b', { metadata: { labels: { app: 'db' } } });
    await waitFor(() => seen.length === 3, 'selector transitions');
    assert.deepEqual(seen, ['add ns/a', 'delete ns/a', 'add ns/b']);
    assert.deepEqual(
      inf.list().map((o) => keyOf(o)),
      ['ns/b'],
    );
  });

  it('works for cluster-scoped kinds', async () => {
    await t.store.create(nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    const inf = informer({ kind: nodes });
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.get(undefined, 'n1')?.metadata.name, 'n1');
    assert.equal(inf.getByKey('n1')?.metadata.name, 'n1');
  });

  it('keeps named indexes current through adds, updates and deletes', async () => {
    await t.store.create(configMaps, cm('ns', 'a', { tier: 'gold' }));
    const inf = informer();
    inf.addIndex('tier', (o) => (o.metadata.labels?.['tier'] ? [o.metadata.labels['tier']] : []));
    inf.start();
    await inf.waitForSync();
    inf.addIndex('namespace', (o) => [o.metadata.namespace ?? '']);
    assert.deepEqual(
      inf.byIndex('tier', 'gold').map((o) => o.metadata.name),
      ['a'],
    );
    assert.equal(inf.byIndex('namespace', 'ns').length, 1, 'an index added later covers cached objects');

    await t.store.create(configMaps, cm('ns', 'b', { tier: 'gold' }));
    await t.store.patch(configMaps, 'ns', 'a', { metadata: { labels: { tier: 'silver' } } });
    await waitFor(() => inf.byIndex('tier', 'silver').length === 1, 'a re-indexed');
    assert.deepEqual(
      inf.byIndex('tier', 'gold').map((o) => o.metadata.name),
      ['b'],
    );
    await t.store.delete(configMaps, 'ns', 'b');
    await waitFor(() => inf.byIndex('tier', 'gold').length === 0, 'b unindexed');
    assert.throws(() => inf.byIndex('nope', 'x'), /does not exist/);
    assert.throws(() => inf.addIndex('tier', () => []), /already exists/);
  });

  it('relists on 410 Expired and delivers only the differences', async () => {
    await t.cleanup();
    t = await tempStore({ historyLimit: 2 });
    await t.store.create(configMaps, cm('ns', 'a'));
    await t.store.create(configMaps, cm('ns', 'b'));
    await t.store.create(configMaps, cm('ns', 'same'));
    const store = new InterposedStore(t.store);
    store.holdWatches();
    const seen: Seen = [];
    const inf = informer({ store });
    inf.addHandler(recordInto(seen));
    inf.start();
    await inf.waitForSync();
    seen.length = 0;
    // While the informer is between its list and its watch, history moves past its revision.
    await t.store.patch(configMaps, 'ns', 'a', { data: { v: '2' } });
    await t.store.delete(configMaps, 'ns', 'b');
    await t.store.create(configMaps, cm('ns', 'c'));
    await t.store.create(configMaps, cm('ns', 'd'));
    store.releaseWatches();
    await waitFor(() => store.calls['list'] === 2 && inf.list().length === 4, 'relist');
    assert.deepEqual(seen.sort(), ['add ns/c', 'add ns/d', 'delete ns/b', 'update ns/a {"v":"2"}']);

    seen.length = 0;
    await t.store.create(configMaps, cm('ns', 'e'));
    await waitFor(() => seen.length === 1, 'watch after relist');
    assert.deepEqual(seen, ['add ns/e']);
    assert.equal(store.calls['watch'], 2);
  });

  it('retries a failed list after a back-off on its clock', async () => {
    await t.store.create(configMaps, cm('ns', 'a'));
    const clock = new FakeClock();
    const store = new InterposedStore(t.store);
    store.failNext.push({ op: 'list', error: new StatusError(503, 'ServiceUnavailable', 'not ready') });
    const inf = informer({ store, clock });
    inf.start();
    await waitFor(() => clock.pendingTimers() === 1, 'back-off timer');
    assert.equal(inf.hasSynced(), false);
    clock.advance(1000);
    await inf.waitForSync();
    assert.equal(inf.list().length, 1);
    assert.equal(store.calls['list'], 2);
  });

  it('a watch that keeps ending is re-established after a growing back-off, not in a loop', async () => {
    const clock = new FakeClock();
    const store = new InterposedStore(t.store);
    store.endWatchesAtOnce = true;
    const inf = informer({ store, clock });
    inf.start();
    await inf.waitForSync();
    // The first end re-watches at once; the second waits on the clock.
    await waitFor(() => store.calls['watch'] === 2 && clock.pendingTimers() === 1, 'first back-off');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(store.calls['watch'], 2, 'no watch while backing off');
    const first = clock.nextDue()! - clock.now().getTime();
    clock.advance(first);
    await waitFor(() => store.calls['watch'] === 3 && clock.pendingTimers() === 1, 'second back-off');
    const second = clock.nextDue()! - clock.now().getTime();
    assert.ok(first >= 800 && first <= 1200, `first wait ${first} ms`);
    assert.ok(second >= 1600 && second <= 2400, `second wait ${second} ms`);
    assert.equal(store.calls['list'], 1, 'an ended watch resumes without relisting');
  });

  it('resync re-delivers onUpdate(obj, obj) for every cached object; 0 turns it off', async () => {
    await t.store.create(configMaps, cm('ns', 'a'));
    await t.store.create(configMaps, cm('ns', 'b'));
    const clock = new FakeClock();
    const seen: Seen = [];
    const inf = informer({ clock, resyncMs: 60_000 });
    inf.addHandler(recordInto(seen));
    inf.start();
    await inf.waitForSync();
    seen.length = 0;
    clock.advance(59_999);
    assert.deepEqual(seen, []);
    clock.advance(1);
    assert.deepEqual(seen.sort(), ['resync ns/a', 'resync ns/b']);
    clock.advance(60_000);
    assert.equal(seen.length, 4);

    const quietClock = new FakeClock();
    const quiet = informer({ clock: quietClock, resyncMs: 0 });
    quiet.start();
    await quiet.waitForSync();
    assert.equal(quietClock.pendingTimers(), 0);
  });

  it("a handler's resync filter re-delivers only the objects it says may need a look", async () => {
    await t.store.create(configMaps, cm('ns', 'settled'));
    await t.store.create(configMaps, cm('ns', 'due'));
    const clock = new FakeClock();
    const seen: Seen = [];
    const inf = informer({ clock });
    inf.addHandler(recordInto(seen), { resyncMs: 1000, resyncFilter: (o) => o.metadata.name === 'due' });
    inf.start();
    await inf.waitForSync();
    seen.length = 0;
    clock.advance(1000);
    assert.deepEqual(seen, ['resync ns/due']);
    await t.store.update(configMaps, { ...cm('ns', 'settled', {}, { x: '1' }) });
    await waitFor(() => seen.length === 2);
    assert.deepEqual(
      seen[1],
      'update ns/settled {"x":"1"}',
      'changes are delivered whatever the filter says',
    );
  });

  it('SettledResync skips passes while nothing changed since a pass that found everything settled', async () => {
    await t.store.create(configMaps, cm('ns', 'a'));
    await t.store.create(configMaps, cm('ns', 'b'));
    const clock = new FakeClock();
    const seen: Seen = [];
    let generation = 0;
    const due = new Set(['b']);
    const checked: string[] = [];
    const resync = new SettledResync(() => generation);
    const inf = informer({ clock });
    inf.addHandler(
      recordInto(seen),
      resync.options(1000, (o) => {
        checked.push(o.metadata.name ?? '');
        return due.has(o.metadata.name ?? '');
      }),
    );
    inf.start();
    await inf.waitForSync();
    seen.length = 0;
    clock.advance(1000);
    assert.deepEqual(seen, ['resync ns/b']);
    // b still needs a look, with no change: it is looked at again
    clock.advance(1000);
    assert.deepEqual(seen, ['resync ns/b', 'resync ns/b']);
    // b settles (its own reconcile changed the cache): one more pass finds everything settled...
    due.clear();
    generation++;
    clock.advance(1000);
    assert.equal(seen.length, 2);
    checked.length = 0;
    // ...and while nothing changes, no pass looks at anything
    clock.advance(5000);
    assert.deepEqual(checked, []);
    // a change brings the passes back; what they find is re-delivered
    due.add('a');
    generation++;
    clock.advance(1000);
    assert.deepEqual(checked.sort(), ['a', 'b']);
    assert.deepEqual(seen.slice(2), ['resync ns/a']);
  });

  it('counts the changes of its cache (a generation for SettledResync): not its resyncs', async () => {
    await t.store.create(configMaps, cm('ns', 'a'));
    const clock = new FakeClock();
    const inf = informer({ clock, resyncMs: 1000 });
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.changes, 1, 'the first list');
    clock.advance(5000);
    assert.equal(inf.changes, 1, 'resyncs re-deliver, they change nothing');
    await t.store.create(configMaps, cm('ns', 'b'));
    await t.store.patch(configMaps, 'ns', 'a', { data: { k: 'v' } });
    await t.store.delete(configMaps, 'ns', 'b');
    await waitFor(() => inf.changes === 4, 'add, update and delete counted');
  });

  it('a throwing handler does not stop the cache or other handlers', async () => {
    const seen: Seen = [];
    const inf = informer();
    inf.addHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    inf.addHandler(recordInto(seen));
    inf.start();
    await inf.waitForSync();
    await t.store.create(configMaps, cm('ns', 'a'));
    await waitFor(() => seen.length === 1, 'second handler');
    assert.equal(inf.list().length, 1);
  });

  it('stop() ends the watch and releases waitForSync', async () => {
    const store = new InterposedStore(t.store);
    store.failing.set('list', new StatusError(503, 'ServiceUnavailable', 'down'));
    const inf = informer({ store, clock: new FakeClock() });
    inf.start();
    const waiting = inf.waitForSync();
    await inf.stop();
    await waiting;
    assert.equal(inf.hasSynced(), false);
  });

  it('drives a controller: changes are enqueued by key and reconciled from the cache', async () => {
    const inf = informer();
    const reconciled: string[] = [];
    const controller = new Controller({
      name: 'echo',
      workers: 2,
      reconcile: async (key) => {
        const obj = inf.getByKey(key);
        reconciled.push(`${key}=${obj ? JSON.stringify(obj['data']) : 'gone'}`);
      },
    });
    inf.addHandler(enqueueOnChange((key) => controller.enqueue(key)));
    inf.start();
    controller.start();
    await inf.waitForSync();
    await t.store.create(configMaps, cm('ns', 'a', {}, { v: '1' }));
    await waitFor(() => reconciled.includes('ns/a={"v":"1"}'), 'add reconciled');
    await t.store.delete(configMaps, 'ns', 'a');
    await waitFor(() => reconciled.includes('ns/a=gone'), 'delete reconciled');
    await controller.stop();
  });
});
