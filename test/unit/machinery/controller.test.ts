import assert from 'node:assert/strict';
import { FakeClock, flushMicrotasks } from '../../../src/machinery/clock.js';
import type { Reconciler } from '../../../src/machinery/controller.js';
import { Controller, ReconcileTimeoutError, TerminalError } from '../../../src/machinery/controller.js';
import type { LogFields, Logger } from '../../../src/machinery/logger.js';
import { ItemExponentialFailureRateLimiter } from '../../../src/machinery/rate-limiter.js';

/** Remembers every line, for asserting what was logged. */
function memoryLogger(
  lines: { level: string; msg: string; fields: LogFields }[] = [],
  base: LogFields = {},
): Logger {
  const at =
    (level: string) =>
    (msg: string, fields: LogFields = {}): void =>
      void lines.push({ level, msg, fields: { ...base, ...fields } });
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => memoryLogger(lines, { ...base, ...fields }),
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function newController(reconcile: Reconciler, extra: { workers?: number; reconcileTimeoutMs?: number } = {}) {
  const clock = new FakeClock(0);
  const lines: { level: string; msg: string; fields: LogFields }[] = [];
  const controller = new Controller({
    name: 'test',
    reconcile,
    clock,
    logger: memoryLogger(lines),
    rateLimiter: new ItemExponentialFailureRateLimiter(1000, 300_000),
    ...extra,
  });
  return { controller, clock, lines };
}

describe('machinery/controller', () => {
  it('reconciles enqueued keys and forgets them on success', async () => {
    const seen: string[] = [];
    const { controller } = newController(async (key) => void seen.push(key));
    controller.start();
    controller.enqueue('ns/a');
    controller.enqueue('ns/b');
    await controller.whenIdle();
    assert.deepEqual(seen, ['ns/a', 'ns/b']);
    assert.equal(controller.queue.numRequeues('ns/a'), 0);
    await controller.stop();
  });

  it('retries failures with exponential back-off on the clock, then forgets on success', async () => {
    let calls = 0;
    const { controller, clock, lines } = newController(async () => {
      calls++;
      if (calls < 3) throw new Error(`transient ${calls}`);
    });
    controller.start();
    controller.enqueue('k');
    await controller.whenIdle();
    assert.equal(calls, 1);
    assert.equal(controller.queue.numRequeues('k'), 1);
    await clock.advanceAsync(999);
    assert.equal(calls, 1, 'first retry waits 1 s');
    await clock.advanceAsync(1);
    await controller.whenIdle();
    assert.equal(calls, 2);
    await clock.advanceAsync(1999);
    assert.equal(calls, 2, 'second retry waits 2 s');
    await clock.advanceAsync(1);
    await controller.whenIdle();
    assert.equal(calls, 3);
    assert.equal(controller.queue.numRequeues('k'), 0);
    const warns = lines.filter((l) => l.level === 'warn');
    assert.equal(warns.length, 2);
    assert.equal(warns[0]?.fields['key'], 'k');
    assert.equal(warns[0]?.fields['controller'], 'test');
    await controller.stop();
  });

  it('a TerminalError is logged and not retried', async () => {
    let calls = 0;
    const { controller, clock, lines } = newController(async () => {
      calls++;
      throw new TerminalError('bad spec');
    });
    controller.start();
    controller.enqueue('k');
    await controller.whenIdle();
    await clock.advanceAsync(600_000);
    assert.equal(calls, 1);
    assert.equal(controller.queue.delayedLen(), 0);
    assert.ok(lines.some((l) => l.level === 'error' && /permanently/.test(l.msg)));
    await controller.stop();
  });

  it('requeueAfterMs re-adds the key after that delay with no failure counted', async () => {
    let calls = 0;
    const { controller, clock } = newController(async () => {
      calls++;
      return calls === 1 ? { requeueAfterMs: 30_000 } : undefined;
    });
    controller.start();
    controller.enqueue('k');
    await controller.whenIdle();
    assert.equal(controller.queue.numRequeues('k'), 0);
    await clock.advanceAsync(29_999);
    assert.equal(calls, 1);
    await clock.advanceAsync(1);
    await controller.whenIdle();
    assert.equal(calls, 2);
    await controller.stop();
  });

  it('runs distinct keys in parallel but never one key twice at once', async () => {
    const running = new Set<string>();
    let maxParallel = 0;
    let overlaps = 0;
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const { controller } = newController(
      async (key) => {
        if (running.has(key)) overlaps++;
        running.add(key);
        maxParallel = Math.max(maxParallel, running.size);
        const gate = deferred();
        gates.set(key, gate);
        await gate.promise;
        running.delete(key);
      },
      { workers: 3 },
    );
    controller.start();
    for (const k of ['a', 'b', 'c', 'a', 'b']) controller.enqueue(k);
    await flushMicrotasks();
    assert.equal(running.size, 3);
    controller.enqueue('a'); // while a is in flight: must wait
    await flushMicrotasks();
    assert.deepEqual(controller.inFlightKeys().sort(), ['a', 'b', 'c']);
    while (running.size > 0 || !controller.isIdle()) {
      for (const g of gates.values()) g.resolve();
      await flushMicrotasks();
    }
    assert.equal(overlaps, 0);
    assert.equal(maxParallel, 3);
    await controller.stop();
  });

  it('aborts the signal when a reconcile exceeds its timeout, and retries the key', async () => {
    let calls = 0;
    let reason: unknown;
    const { controller, clock, lines } = newController(
      async (_key, { signal }) => {
        calls++;
        if (calls > 1) return;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        reason = signal.reason;
        throw signal.reason;
      },
      { reconcileTimeoutMs: 5000 },
    );
    controller.start();
    controller.enqueue('slow');
    await flushMicrotasks();
    await clock.advanceAsync(5000);
    await controller.whenIdle();
    assert.ok(reason instanceof ReconcileTimeoutError);
    assert.equal(lines.find((l) => l.level === 'warn')?.fields['timedOut'], true);
    await clock.advanceAsync(1000);
    await controller.whenIdle();
    assert.equal(calls, 2);
    await controller.stop();
  });

  it('stop() aborts in-flight reconciles and waits for them to return', async () => {
    const gate = deferred();
    let aborted = false;
    const { controller } = newController(async (_key, { signal }) => {
      signal.addEventListener('abort', () => (aborted = true));
      await gate.promise;
    });
    controller.start();
    controller.enqueue('k');
    await flushMicrotasks();
    let stopped = false;
    const stopping = controller.stop().then(() => (stopped = true));
    await flushMicrotasks();
    assert.equal(aborted, true);
    assert.equal(stopped, false, 'stop waits for the in-flight reconcile');
    gate.resolve();
    await stopping;
    assert.equal(stopped, true);
    controller.enqueue('after-stop');
    assert.equal(controller.queue.len(), 0);
  });

  it('survives synchronous throws as well as rejections', async () => {
    let calls = 0;
    // Not an async function on purpose: a plain function may throw before returning a promise.
    const reconcile: Reconciler = (key) => {
      calls++;
      if (key === 'sync') throw new Error('sync boom');
      return Promise.reject(new Error('plain rejection'));
    };
    const { controller, lines } = newController(reconcile);
    controller.start();
    controller.enqueue('sync');
    controller.enqueue('async');
    await controller.whenIdle();
    assert.equal(calls, 2);
    assert.equal(lines.filter((l) => l.level === 'warn').length, 2);
    await controller.stop();
  });
});
