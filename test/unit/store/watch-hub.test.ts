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
