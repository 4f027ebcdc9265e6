import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/machinery/clock.js';
import {
  BACKOFF,
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  backoffFor,
  defaultControllerRateLimiter,
} from '../../../src/machinery/rate-limiter.js';

describe('machinery/rate-limiter', () => {
  it('exponential: base, doubling per failure, capped; per key; forget resets', () => {
    const rl = new ItemExponentialFailureRateLimiter(1000, 10_000);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => rl.when('a')),
      [1000, 2000, 4000, 8000, 10_000, 10_000],
    );
    assert.equal(rl.numRequeues('a'), 6);
    assert.equal(rl.when('b'), 1000);
    rl.forget('a');
    assert.equal(rl.numRequeues('a'), 0);
    assert.equal(rl.when('a'), 1000);
  });

  it('exponential defaults are 1 s and 5 min, and huge failure counts stay capped', () => {
    const rl = new ItemExponentialFailureRateLimiter();
    assert.equal(rl.when('k'), 1000);
    for (let i = 0; i < 2000; i++) rl.when('k');
    assert.equal(rl.when('k'), 300_000);
  });

  it('bucket: burst is free, then one token per 1/qps seconds; refills with time', () => {
    const clock = new FakeClock(0);
    const rl = new BucketRateLimiter(10, 3, clock);
    assert.deepEqual(
      [1, 2, 3].map(() => rl.when('x')),
      [0, 0, 0],
    );
    assert.equal(rl.when('x'), 100);
    assert.equal(rl.when('y'), 200);
    clock.advance(1000); // debt of 2 tokens repaid, bucket refilled to burst
    assert.equal(rl.when('x'), 0);
    assert.equal(rl.numRequeues('x'), 0);
  });

  it('max-of returns the longest delay and forgets in every member', () => {
    const clock = new FakeClock(0);
    const rl = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter(5, 1000),
      new BucketRateLimiter(1, 1, clock),
    );
    assert.equal(rl.when('a'), 5); // bucket had a token
    assert.equal(rl.when('a'), 1000); // bucket in debt by 1 token = 1 s
    assert.equal(rl.numRequeues('a'), 2);
    rl.forget('a');
    assert.equal(rl.numRequeues('a'), 0);
  });

  it('default controller limiter: first retry after 1 s', () => {
    const rl = defaultControllerRateLimiter({ clock: new FakeClock() });
    assert.equal(rl.when('k'), 1000);
    assert.equal(rl.when('k'), 2000);
  });
});

describe('machinery/rate-limiter back-off presets and jitter', () => {
  it('jitter shortens each delay by at most its share, never past the documented numbers', () => {
    const rl = new ItemExponentialFailureRateLimiter(1000, 4000, { jitter: 0.1, random: () => 0.5 });
    assert.deepEqual(
      [1, 2, 3, 4].map(() => rl.when('k')),
      [950, 1900, 3800, 3800],
    );
    const top = new ItemExponentialFailureRateLimiter(1000, 4000, { jitter: 0.1, random: () => 0 });
    assert.equal(top.when('k'), 1000);
  });

  it('presets carry the Kubernetes numbers', () => {
    const exact = { jitter: 0 };
    const kubelet = backoffFor('volumeOperation', exact);
    const delays = Array.from({ length: 10 }, () => kubelet.when('v'));
    assert.equal(delays[0], 500);
    assert.equal(delays.at(-1), 122_000);
    const scheduler = backoffFor('schedulerPod', exact);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => scheduler.when('p')),
      [1000, 2000, 4000, 8000, 10_000, 10_000],
    );
    const provisioner = backoffFor('provisioner', exact);
    assert.equal(provisioner.when('c'), 1000);
    for (let i = 0; i < 20; i++) provisioner.when('c');
    assert.equal(provisioner.when('c'), 300_000);
    assert.equal(BACKOFF.volumeOperation.maxMs, 122_000);
  });
});
