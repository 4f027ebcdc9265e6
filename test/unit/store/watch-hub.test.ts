// WatchHub: watchers that promised only to read share the committed object; others get copies.
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/meta.js';
import { compileFilter } from '../../../src/store/object-filter.js';
import { WatchHub } from '../../../src/store/watch-hub.js';
import type { WatchEvent } from '../../../src/store/types.js';

function received(): { events: WatchEvent[]; onEvent: (event: WatchEvent) => void } {
  const events: WatchEvent[] = [];
  return { events, onEvent: (event) => events.push(event) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WatchHub delivery', function () {
  it('hands read-only watchers the same object and every other watcher its own copy', async function () {
    const hub = new WatchHub(100, 0);
    const filter = compileFilter({});
    const [a, b, c] = [received(), received(), received()];
    hub.subscribe('configmaps', filter, 0, [], a.onEvent, { readOnly: true });
    hub.subscribe('configmaps', filter, 0, [], b.onEvent, { readOnly: true });
    hub.subscribe('configmaps', filter, 0, [], c.onEvent);
    const object: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'd' },
    };
    hub.publish({ rev: 1, kind: 'configmaps', type: 'ADDED', previous: undefined, object });
    await tick();
    assert.equal(a.events[0]!.object, object);
    assert.equal(b.events[0]!.object, object);
    assert.notEqual(c.events[0]!.object, object);
    assert.deepEqual(c.events[0]!.object, object);
    // the copy is the mutating watcher's own
    c.events[0]!.object.metadata.name = 'changed';
    assert.equal(object.metadata.name, 'x');
  });
});

describe('WatchHub index', function () {
  const object = (namespace: string | undefined, name: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, ...(namespace ? { namespace } : {}) },
  });

  it('hands a change only to the watchers of its kind and namespace, and to those of every namespace', async function () {
    const hub = new WatchHub(100, 0);
    const [inA, inB, everywhere, otherKind] = [received(), received(), received(), received()];
    hub.subscribe('configmaps', compileFilter({ namespace: 'a' }), 0, [], inA.onEvent, { readOnly: true });
    hub.subscribe('configmaps', compileFilter({ namespace: 'b' }), 0, [], inB.onEvent, { readOnly: true });
    hub.subscribe('configmaps', compileFilter({}), 0, [], everywhere.onEvent, { readOnly: true });
    hub.subscribe('secrets', compileFilter({}), 0, [], otherKind.onEvent, { readOnly: true });
    hub.publish({ rev: 1, kind: 'configmaps', type: 'ADDED', previous: undefined, object: object('a', 'x') });
    hub.publish({ rev: 2, kind: 'configmaps', type: 'ADDED', previous: undefined, object: object('b', 'y') });
    await tick();
    assert.deepEqual(
      inA.events.map((e) => e.object.metadata.name),
      ['x'],
    );
    assert.deepEqual(
      inB.events.map((e) => e.object.metadata.name),
      ['y'],
    );
    assert.deepEqual(
      everywhere.events.map((e) => e.object.metadata.name),
      ['x', 'y'],
    );
    assert.deepEqual(otherKind.events, []);
  });

  it('forgets a stopped watcher, and a later watcher of the same namespace is served', async function () {
    const hub = new WatchHub(100, 0);
    const first = received();
    const watch = hub.subscribe('configmaps', compileFilter({ namespace: 'a' }), 0, [], first.onEvent, {
      readOnly: true,
    });
    watch.stop();
    assert.equal(hub.watcherCount, 0);
    hub.publish({ rev: 1, kind: 'configmaps', type: 'ADDED', previous: undefined, object: object('a', 'x') });
    const second = received();
    hub.subscribe('configmaps', compileFilter({ namespace: 'a' }), 1, [], second.onEvent, { readOnly: true });
    hub.publish({ rev: 2, kind: 'configmaps', type: 'ADDED', previous: undefined, object: object('a', 'y') });
    await tick();
    assert.deepEqual(first.events, []);
    assert.deepEqual(
      second.events.map((e) => e.object.metadata.name),
      ['y'],
    );
  });
});

describe('WatchHub shared batches', function () {
  const object = (name: string, labels?: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'a', ...(labels ? { labels } : {}) },
  });
  const added = (rev: number, name: string, labels?: Record<string, string>) =>
    ({ rev, kind: 'configmaps', type: 'ADDED', previous: undefined, object: object(name, labels) }) as const;

  /** What a watcher saw, in order: a batch as its names, an event as a name, a bookmark as '@rev'. */
  function recorder(): {
    seen: (string | string[])[];
    batches: (readonly WatchEvent[])[];
    onEvent: (event: WatchEvent) => void;
    options: {
      readOnly: true;
      onEvents: (events: readonly WatchEvent[]) => void;
      onProgress: (rev: string) => void;
    };
  } {
    const seen: (string | string[])[] = [];
    const batches: (readonly WatchEvent[])[] = [];
    return {
      seen,
      batches,
      onEvent: (event) => seen.push(event.object.metadata.name!),
      options: {
        readOnly: true,
        onEvents: (events) => {
          batches.push(events);
          seen.push(events.map((e) => e.object.metadata.name!));
        },
        onProgress: (rev) => seen.push(`@${rev}`),
      },
    };
  }

  it('hands every selector-less read-only watcher of a namespace the same frozen batch', async function () {
    const hub = new WatchHub(100, 0);
    const [a, b] = [recorder(), recorder()];
    hub.subscribe('configmaps', compileFilter({ namespace: 'a' }), 0, [], a.onEvent, a.options);
    hub.subscribe('configmaps', compileFilter({ namespace: 'a' }), 0, [], b.onEvent, b.options);
    hub.publish(added(1, 'x'));
    hub.publish(added(2, 'y'));
    await tick();
    assert.deepEqual(a.seen, [['x', 'y']]);
    assert.equal(a.batches[0], b.batches[0]);
    assert.ok(Object.isFrozen(a.batches[0]) && Object.isFrozen(a.batches[0]![0]!.object));
    // the next changes go in a new batch, not into the one handed out
    hub.publish(added(3, 'z'));
    await tick();
    assert.deepEqual(b.seen, [['x', 'y'], ['z']]);
  });

  it('filters each change per watcher for watchers with a selector, and for those that copy', async function () {
    const hub = new WatchHub(100, 0);
    const [shared, selecting, copying] = [recorder(), recorder(), recorder()];
    hub.subscribe('configmaps', compileFilter({ namespace: 'a' }), 0, [], shared.onEvent, shared.options);
    hub.subscribe(
      'configmaps',
      compileFilter({ namespace: 'a', labelSelector: 'app=web' }),
      0,
      [],
      selecting.onEvent,
      selecting.options,
    );
    hub.subscribe('configmaps', compileFilter({ namespace: 'a' }), 0, [], copying.onEvent, {
      onEvents: copying.options.onEvents,
    });
    hub.publish(added(1, 'x', { app: 'web' }));
    hub.publish(added(2, 'y'));
    await tick();
    assert.deepEqual(shared.seen, [['x', 'y']]);
    assert.deepEqual(selecting.seen, ['x']);
    assert.deepEqual(copying.seen, ['x', 'y']);
  });

  it('a watcher that joins between two changes gets each once, in order', async function () {
    const hub = new WatchHub(100, 0);
    const [early, late] = [recorder(), recorder()];
    hub.subscribe('configmaps', compileFilter({ namespace: 'a' }), 0, [], early.onEvent, early.options);
    hub.publish(added(1, 'x'));
    hub.subscribe('configmaps', compileFilter({ namespace: 'a' }), 0, [], late.onEvent, late.options);
    hub.publish(added(2, 'y'));
    await tick();
    assert.deepEqual(early.seen, [['x'], ['y']]);
    assert.deepEqual(late.seen, ['x', ['y']]);
  });

  it('a bookmark asked for between two changes comes after the first and before the second', async function () {
    const hub = new WatchHub(100, 0);
    const a = recorder();
    const watch = hub.subscribe('configmaps', compileFilter({ namespace: 'a' }), 0, [], a.onEvent, a.options);
    hub.publish(added(1, 'x'));
    watch.requestProgress!();
    hub.publish(added(2, 'y'));
    await tick();
    assert.deepEqual(a.seen, [['x'], '@1', ['y']]);
  });
});
