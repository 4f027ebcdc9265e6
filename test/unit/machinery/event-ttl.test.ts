import assert from 'node:assert/strict';
import { K } from '../../../src/api/kinds.js';
import type { Event } from '../../../src/api/types.js';
import { FakeClock } from '../../../src/machinery/clock.js';
import { EventExpiry, expiredEvents, lastWrittenMs } from '../../../src/machinery/event-ttl.js';
import { EventRecorder } from '../../../src/machinery/events.js';
import type { TempStore } from './helpers.js';
import { tempStore } from './helpers.js';

function event(name: string, stamps: Partial<Pick<Event, 'firstTimestamp' | 'lastTimestamp'>>): Event {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'p' },
    ...stamps,
  };
}

describe('machinery/event-ttl', () => {
  it('an Event expires a TTL after its last write; one without any time never does', () => {
    const e1 = event('a', { firstTimestamp: '2025-01-01T00:00:00Z', lastTimestamp: '2025-01-01T00:30:00Z' });
    const e2 = event('b', { firstTimestamp: '2025-01-01T00:00:00Z' });
    const e3 = event('c', {});
    assert.equal(lastWrittenMs(e1), Date.parse('2025-01-01T00:30:00Z'));
    assert.equal(lastWrittenMs(e3), undefined);
    const at = Date.parse('2025-01-01T01:00:00Z');
    assert.deepEqual(
      expiredEvents([e1, e2, e3], 3_600_000, at).map((e) => e.metadata.name),
      ['b'],
    );
  });

  describe('against the embedded store', () => {
    let t: TempStore;
    beforeEach(async () => {
      t = await tempStore();
    });
    afterEach(async () => {
      await t.cleanup();
    });

    it('sweeps expired Events and keeps ones written again within the TTL', async () => {
      const clock = new FakeClock(Date.UTC(2025, 0, 1));
      const rec = new EventRecorder({ store: t.store, component: 'c', clock });
      const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u' } };
      rec.event(obj, 'Warning', 'Old', 'once');
      rec.event(obj, 'Warning', 'Repeated', 'again');
      await rec.flush();
      clock.advance(9 * 60_000);
      rec.event(obj, 'Warning', 'Repeated', 'again'); // bumps lastTimestamp
      await rec.flush();
      clock.advance(52 * 60_000);
      const expiry = new EventExpiry({ store: t.store, ttlMs: 3_600_000, clock });
      assert.equal(await expiry.sweep(), 1);
      const left = (await t.store.list<Event>(K.event)).items.map((e) => e.reason);
      assert.deepEqual(left, ['Repeated']);
    });
  });
});
