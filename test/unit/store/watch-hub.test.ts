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
    hub.subscribe('configmaps', filter, 0, [], a.onEvent, true);
    hub.subscribe('configmaps', filter, 0, [], b.onEvent, true);
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
