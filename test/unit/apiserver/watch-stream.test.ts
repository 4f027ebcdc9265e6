import assert from 'node:assert/strict';
import { WatchFlusher } from '../../../src/apiserver/watch-stream.js';

const microtasks = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));
const later = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('apiserver/watch-stream WatchFlusher', function () {
  it('writes the first batch after a quiet spell at once', async function () {
    const flusher = new WatchFlusher(10_000);
    const calls: string[] = [];
    flusher.schedule(() => calls.push('a'));
    await microtasks();
    assert.deepEqual(calls, ['a']);
  });

  it('gathers the streams due within one interval into one tick, each flushed once, in order', async function () {
    const flusher = new WatchFlusher(1000);
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
});
