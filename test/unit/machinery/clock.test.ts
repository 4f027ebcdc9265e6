import assert from 'node:assert/strict';
import { FakeClock, sleep, systemClock } from '../../../src/machinery/clock.js';

describe('machinery/clock', () => {
  it('FakeClock fires due timers in due order, ties in the order set', () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('c@20'), 20);
    clock.setTimeout(() => fired.push('d@50'), 50);
    clock.advance(20);
    assert.deepEqual(fired, ['a@10', 'b@20', 'c@20']);
    assert.equal(clock.now().getTime(), 20);
    assert.equal(clock.pendingTimers(), 1);
  });

  it('now() is the timer due time while it runs; timers set by timers fire within the window', () => {
    const clock = new FakeClock(1000);
    const seen: number[] = [];
    clock.setTimeout(() => {
      seen.push(clock.now().getTime());
      clock.setTimeout(() => seen.push(clock.now().getTime()), 5);
    }, 10);
    clock.advance(100);
    assert.deepEqual(seen, [1010, 1015]);
    assert.equal(clock.now().getTime(), 1100);
  });

  it('cancelled timers never fire', () => {
    const clock = new FakeClock();
    let fired = false;
    clock.setTimeout(() => (fired = true), 10).cancel();
    clock.advance(10);
    assert.equal(fired, false);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('advanceAsync lets promise chains set follow-up timers', async () => {
    const clock = new FakeClock(0);
    const ticks: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 100);
        ticks.push(clock.now().getTime());
      }
    })();
    await clock.advanceAsync(300);
    await loop;
    assert.deepEqual(ticks, [100, 200, 300]);
  });

  it('sleep rejects with the abort reason', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const p = sleep(clock, 1000, ac.signal);
    ac.abort(new Error('bye'));
    await assert.rejects(p, /bye/);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('systemClock timers fire and can be cancelled', async () => {
    let cancelledFired = false;
    systemClock.setTimeout(() => (cancelledFired = true), 1).cancel();
    await sleep(systemClock, 5);
    assert.equal(cancelledFired, false);
  });
});
