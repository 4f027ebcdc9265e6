import assert from 'node:assert/strict';
import { WatchFlusher } from '../../../src/apiserver/watch-flusher.js';

const microtasks = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));
const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));
const later = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('apiserver/watch-flusher WatchFlusher', function () {
  it('writes the first batch after a quiet spell at once', async function () {
    const flusher = new WatchFlusher({ minIntervalMs: 10_000 });
    const calls: string[] = [];
    flusher.schedule(() => calls.push('a'));
    await microtasks();
    assert.deepEqual(calls, ['a']);
  });

  it('gathers the streams due within one interval into one tick, each flushed once, in order', async function () {
    const flusher = new WatchFlusher({ minIntervalMs: 1000 });
    const calls: string[] = [];
    const a = (): number => calls.push('a');
    const b = (): number => calls.push('b');
    flusher.schedule(a);
    await microtasks();
    flusher.schedule(b);
    flusher.schedule(a);
    flusher.schedule(b);
    await microtasks();
    assert.deepEqual(calls, ['a'], 'the second batch waits for the next tick');
    await later(1100);
    assert.deepEqual(calls, ['a', 'b', 'a']);
  });

  it('spaces ticks so that writing takes at most its share of the time, within the bounds', async function () {
    let clock = 0;
    const flusher = new WatchFlusher({
      minIntervalMs: 20,
      maxIntervalMs: 100,
      busyShare: 0.25,
      now: () => clock,
    });
    // a tick whose writes (done on the next tick, as HTTP's corked sockets do) take 15 ms
    flusher.schedule(() => process.nextTick(() => (clock += 15)));
    await microtasks();
    await nextTick();
    await nextTick();
    assert.equal(flusher.intervalMs, 60);
    // a very costly tick is bounded by the longest interval
    clock += 60;
    flusher.schedule(() => (clock += 500));
    await microtasks();
    await nextTick();
    assert.equal(flusher.intervalMs, 100);
    // a cheap one brings the interval back to the shortest
    clock += 100;
    flusher.schedule(() => (clock += 1));
    await microtasks();
    await nextTick();
    assert.equal(flusher.intervalMs, 20);
  });
});
