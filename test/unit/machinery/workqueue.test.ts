import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FakeClock, flushMicrotasks } from '../../../src/machinery/clock.js';
import { ItemExponentialFailureRateLimiter } from '../../../src/machinery/rate-limiter.js';
import { WorkQueue } from '../../../src/machinery/workqueue.js';

function newQueue(clock = new FakeClock(0)): { q: WorkQueue; clock: FakeClock } {
  return { q: new WorkQueue({ clock, rateLimiter: new ItemExponentialFailureRateLimiter(10, 80) }), clock };
}

describe('machinery/workqueue', () => {
  it('de-duplicates keys waiting in the queue and keeps FIFO order', async () => {
    const { q } = newQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  it('keeps FIFO order over thousands of keys taken while others are added', async () => {
    const q = new WorkQueue();
    const taken: string[] = [];
    let next = 0;
    for (; next < 3000; next++) q.add(`k${next}`);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 1000; i++) {
        const key = (await q.get())!;
        taken.push(key);
        q.done(key);
      }
      for (let i = 0; i < 700; i++, next++) q.add(`k${next}`);
    }
    while (q.len() > 0) taken.push((await q.get())!);
    assert.deepEqual(
      taken,
      Array.from({ length: next }, (_, i) => `k${i}`),
    );
  });

  it('a key added while processing is queued again only after done()', async () => {
    const { q } = newQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'not handed to a second worker while processing');
    q.done(key!);
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'a');
  });

  it('get() waits for an add and hands keys to waiting getters in order', async () => {
    const { q } = newQueue();
    const first = q.get();
    const second = q.get();
    q.add('x');
    q.add('y');
    assert.equal(await first, 'x');
    assert.equal(await second, 'y');
  });

  it('addAfter fires on the clock; a second addAfter keeps the earlier time', async () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 100);
    q.addAfter('a', 50);
    q.addAfter('a', 500);
    assert.equal(q.delayedLen(), 1);
    clock.advance(49);
    assert.equal(q.len(), 0);
    clock.advance(1);
    assert.equal(q.len(), 1);
    assert.equal(q.delayedLen(), 0);
    clock.advance(1000);
    assert.equal(q.len(), 1, 'the later requests were folded into the earlier one');
  });

  it('addRateLimited backs off per key until forget', () => {
    const { q, clock } = newQueue();
    q.addRateLimited('a'); // 10 ms
    clock.advance(10);
    assert.equal(q.len(), 1);
    q.addRateLimited('b');
    q.addRateLimited('b'); // folded; b has 2 failures -> next 40
    assert.equal(q.numRequeues('b'), 2);
    q.forget('b');
    assert.equal(q.numRequeues('b'), 0);
  });

  it('shutDown releases waiting getters, drops delayed keys, ignores new adds, hands out what is left', async () => {
    const { q, clock } = newQueue();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);

    const r = newQueue(clock);
    r.q.add('left');
    r.q.addAfter('delayed', 10);
    r.q.shutDown();
    r.q.add('new');
    clock.advance(100);
    assert.equal(r.q.shuttingDown(), true);
    assert.equal(await r.q.get(), 'left');
    assert.equal(await r.q.get(), undefined);
  });

  it('concurrent workers never hold the same key and lose no adds (random schedules)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.nat(3)), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        async (adds, workers) => {
          const { q } = newQueue();
          const held = new Set<string>();
          /** keys added and not yet picked up by a get() after that add */
          const owed = new Set<string>();
          const track = (key: string): void => {
            q.add(key);
            owed.add(key);
          };
          const loops = Array.from({ length: workers }, async () => {
            for (;;) {
              const key = await q.get();
              if (key === undefined) return;
              assert.ok(!held.has(key), `key ${key} processed by two workers at once`);
              held.add(key);
              owed.delete(key);
              for (let i = 0; i < key.charCodeAt(0) % 3; i++) await Promise.resolve();
              held.delete(key);
              q.done(key);
            }
          });
          for (const [key, pause] of adds) {
            track(key);
            for (let i = 0; i < pause; i++) await Promise.resolve();
          }
          while (q.len() > 0 || q.processingLen() > 0) await flushMicrotasks();
          q.shutDown();
          await Promise.all(loops);
          assert.deepEqual([...owed], [], 'every add was followed by a get');
        },
      ),
      { numRuns: 150 },
    );
  });

  describe('model-based (fast-check commands)', () => {
    interface Model {
      queue: string[];
      dirty: Set<string>;
      processing: Set<string>;
      waiting: Map<string, { readyAt: number; seq: number }>;
      failures: Map<string, number>;
      now: number;
      seq: number;
      stopping: boolean;
    }
    interface Real {
      q: WorkQueue;
      clock: FakeClock;
    }

    function modelAdd(m: Model, key: string): void {
      if (m.stopping || m.dirty.has(key)) return;
      m.dirty.add(key);
      if (!m.processing.has(key)) m.queue.push(key);
    }
    function modelAddAfter(m: Model, key: string, ms: number): void {
      if (m.stopping) return;
      if (ms <= 0) return modelAdd(m, key);
      const existing = m.waiting.get(key);
      if (existing && existing.readyAt <= m.now + ms) return;
      m.waiting.set(key, { readyAt: m.now + ms, seq: m.seq++ });
    }
    function check(m: Model, r: Real): void {
      assert.equal(r.q.len(), m.queue.length, 'len');
      assert.equal(r.q.processingLen(), m.processing.size, 'processing');
      assert.equal(r.q.delayedLen(), m.waiting.size, 'delayed');
      assert.equal(new Set(m.queue).size, m.queue.length, 'model queue has no duplicates');
    }

    class Add implements fc.AsyncCommand<Model, Real> {
      readonly key: string;
      constructor(key: string) {
        this.key = key;
      }
      check = (): boolean => true;
      async run(m: Model, r: Real): Promise<void> {
        r.q.add(this.key);
        modelAdd(m, this.key);
        check(m, r);
      }
      toString = (): string => `add(${this.key})`;
    }
    class Get implements fc.AsyncCommand<Model, Real> {
      check = (m: Readonly<Model>): boolean => m.queue.length > 0 || m.stopping;
      async run(m: Model, r: Real): Promise<void> {
        const key = await r.q.get();
        const expected = m.queue.shift();
        assert.equal(key, expected);
        if (key !== undefined) {
          assert.ok(!m.processing.has(key), 'a processing key was handed out again');
          m.processing.add(key);
          m.dirty.delete(key);
        }
        check(m, r);
      }
      toString = (): string => 'get()';
    }
    class Done implements fc.AsyncCommand<Model, Real> {
      readonly pick: number;
      constructor(pick: number) {
        this.pick = pick;
      }
      check = (m: Readonly<Model>): boolean => m.processing.size > 0;
      async run(m: Model, r: Real): Promise<void> {
        const keys = [...m.processing];
        const key = keys[this.pick % keys.length]!;
        r.q.done(key);
        m.processing.delete(key);
        if (m.dirty.has(key)) m.queue.push(key);
        check(m, r);
      }
      toString = (): string => `done(#${this.pick})`;
    }
    class AddAfter implements fc.AsyncCommand<Model, Real> {
      readonly key: string;
      readonly ms: number;
      constructor(key: string, ms: number) {
        this.key = key;
        this.ms = ms;
      }
      check = (): boolean => true;
      async run(m: Model, r: Real): Promise<void> {
        r.q.addAfter(this.key, this.ms);
        modelAddAfter(m, this.key, this.ms);
        check(m, r);
      }
      toString = (): string => `addAfter(${this.key}, ${this.ms})`;
    }
    class AddRateLimited implements fc.AsyncCommand<Model, Real> {
      readonly key: string;
      constructor(key: string) {
        this.key = key;
      }
      check = (): boolean => true;
      async run(m: Model, r: Real): Promise<void> {
        r.q.addRateLimited(this.key);
        const n = m.failures.get(this.key) ?? 0;
        m.failures.set(this.key, n + 1);
        modelAddAfter(m, this.key, Math.min(10 * 2 ** n, 80));
        assert.equal(r.q.numRequeues(this.key), n + 1);
        check(m, r);
      }
      toString = (): string => `addRateLimited(${this.key})`;
    }
    class Forget implements fc.AsyncCommand<Model, Real> {
      readonly key: string;
      constructor(key: string) {
        this.key = key;
      }
      check = (): boolean => true;
      async run(m: Model, r: Real): Promise<void> {
        r.q.forget(this.key);
        m.failures.delete(this.key);
        assert.equal(r.q.numRequeues(this.key), 0);
        check(m, r);
      }
      toString = (): string => `forget(${this.key})`;
    }
    class Advance implements fc.AsyncCommand<Model, Real> {
      readonly ms: number;
      constructor(ms: number) {
        this.ms = ms;
      }
      check = (): boolean => true;
      async run(m: Model, r: Real): Promise<void> {
        r.clock.advance(this.ms);
        const target = m.now + this.ms;
        const due = [...m.waiting]
          .filter(([, w]) => w.readyAt <= target)
          .sort(([, a], [, b]) => a.readyAt - b.readyAt || a.seq - b.seq);
        for (const [key] of due) {
          m.waiting.delete(key);
          modelAdd(m, key);
        }
        m.now = target;
        check(m, r);
      }
      toString = (): string => `advance(${this.ms})`;
    }
    class ShutDown implements fc.AsyncCommand<Model, Real> {
      check = (): boolean => true;
      async run(m: Model, r: Real): Promise<void> {
        r.q.shutDown();
        m.stopping = true;
        m.waiting.clear();
        assert.equal(r.q.shuttingDown(), true);
        check(m, r);
      }
      toString = (): string => 'shutDown()';
    }

    const key = fc.constantFrom('a', 'b', 'c');
    const commands = [
      key.map((k) => new Add(k)),
      fc.constant(new Get()),
      fc.nat(5).map((n) => new Done(n)),
      fc.tuple(key, fc.integer({ min: 0, max: 100 })).map(([k, ms]) => new AddAfter(k, ms)),
      key.map((k) => new AddRateLimited(k)),
      key.map((k) => new Forget(k)),
      fc.integer({ min: 0, max: 60 }).map((ms) => new Advance(ms)),
    ];

    it('matches the model and loses no key', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.commands([...commands, fc.constant(new ShutDown())], { maxCommands: 60 }),
          async (cmds) => {
            const clock = new FakeClock(0);
            const real: Real = { clock, q: newQueue(clock).q };
            const model: Model = {
              queue: [],
              dirty: new Set(),
              processing: new Set(),
              waiting: new Map(),
              failures: new Map(),
              now: 0,
              seq: 0,
              stopping: false,
            };
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            if (model.stopping) return;
            // No key lost: finish everything and drain; every dirty or delayed key comes out once.
            const owed = new Set([...model.dirty, ...model.waiting.keys()]);
            for (const k of [...model.processing]) real.q.done(k);
            clock.advance(10_000);
            const drained: string[] = [];
            while (real.q.len() > 0) {
              const k = (await real.q.get())!;
              drained.push(k);
              real.q.done(k);
            }
            assert.deepEqual([...drained].sort(), [...owed].sort());
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
