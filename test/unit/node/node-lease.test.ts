// The node's two heartbeats over a real embedded store on a fake clock: the Lease renewed every
// 10 s (plus up to 4% jitter) and the Ready condition posted every 5 minutes. The status post stands in for the renewal
// due right after it, so an idle node writes at most 6 times a minute, and the node lifecycle
// controller still sees a heartbeat (a new renewTime or lastHeartbeatTime) well within the 40 s lease.
import assert from 'node:assert/strict';
import { K } from '../../../src/api/kinds.js';
import type { Lease, Node } from '../../../src/api/types.js';
import { FakeClock, flushMicrotasks, silentLogger } from '../../../src/machinery/index.js';
import { NodeLease } from '../../../src/node/node-lease.js';
import { NodeObject } from '../../../src/node/node-object.js';
import type { ObjectStore } from '../../../src/store/types.js';
import { tempStore, type TempStore } from '../machinery/helpers.js';

const WRITES = new Set(['create', 'update', 'patch']);

describe('node heartbeats (Lease and Ready condition)', function () {
  let temp: TempStore;
  const parts: { stop(): void }[] = [];

  beforeEach(async function () {
    temp = await tempStore();
  });
  afterEach(async function () {
    for (const p of parts.splice(0)) p.stop();
    await temp.cleanup();
  });

  /** The store, with the fake time of every write and the calls still in flight. */
  function recording(store: ObjectStore, clock: FakeClock) {
    const writes: { at: number; what: string }[] = [];
    const inflight = new Set<Promise<unknown>>();
    const proxy = new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (WRITES.has(String(prop)))
            writes.push({ at: clock.now().getTime(), what: (args[0] as { plural: string }).plural });
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) {
            inflight.add(result);
            void result.catch(() => undefined).finally(() => inflight.delete(result));
          }
          return result;
        };
      },
    });
    const settle = async (): Promise<void> => {
      do {
        await Promise.allSettled([...inflight]);
        await flushMicrotasks();
      } while (inflight.size > 0);
    };
    return { store: proxy, writes, settle };
  }

  // the jitter's extremes: periods of exactly 10 s, and of nearly 10.4 s
  for (const [jitter, quietMs] of [
    [0, 20_000],
    [0.999, 21_000],
  ] as const)
    it(`an idle node writes at most 6 times a minute and its heartbeat never goes ${quietMs / 1000} s without news (jitter ${jitter})`, async function () {
      this.timeout(60_000);
      const clock = new FakeClock();
      const start = clock.now().getTime();
      const { store, writes, settle } = recording(temp.store, clock);
      const deps = { store, nodeName: 'n1', clock, log: silentLogger };
      const node = new NodeObject({ ...deps, heartbeatMs: 10_000 });
      const lease = new NodeLease({
        ...deps,
        renewMs: 10_000,
        lastStatusPostMs: () => node.lastStatusPostMs,
        random: () => jitter,
      });
      parts.push(node, lease);
      await node.ensure();
      await node.heartbeat();
      node.startHeartbeat();
      lease.start();
      // the last time the node lifecycle controller would have seen news of the node, each second
      let seen = { heartbeat: '', renew: '' };
      let quietSince = clock.now().getTime();
      let longestQuietMs = 0;
      for (let second = 0; second < 11 * 60; second++) {
        await clock.advanceAsync(1000);
        await settle();
        const n = await temp.store.get<Node>(K.node, undefined, 'n1');
        const l = await temp.store.get<Lease>(K.lease, 'kube-node-lease', 'n1').catch(() => undefined);
        const now = {
          heartbeat: n.status?.conditions?.[0]?.lastHeartbeatTime ?? '',
          renew: l?.spec.renewTime ?? '',
        };
        if (now.heartbeat !== seen.heartbeat || now.renew !== seen.renew) quietSince = clock.now().getTime();
        longestQuietMs = Math.max(longestQuietMs, clock.now().getTime() - quietSince);
        seen = now;
      }
      const statusPosts = writes.filter((w) => w.what === 'nodes').length;
      assert.equal(statusPosts, 4, "the Node's create, then Ready at start and every 5 minutes");
      assert.ok(longestQuietMs <= quietMs, `the heartbeat went ${longestQuietMs} ms without news`);
      // every minute after the first (which creates the Node and the Lease)
      for (let minute = 1; minute < 11; minute++) {
        const from = start + minute * 60_000;
        const inMinute = writes.filter((w) => w.at >= from && w.at < from + 60_000);
        assert.ok(inMinute.length <= 6, `minute ${minute}: ${inMinute.length} writes`);
      }
    });
});
