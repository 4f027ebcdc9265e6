import assert from 'node:assert/strict';
import { StatusError } from '../../../src/api/errors.js';
import { kindFor } from '../../../src/api/kinds.js';
import type { Lease } from '../../../src/api/types.js';
import { FakeClock } from '../../../src/machinery/clock.js';
import { LeaderElector } from '../../../src/machinery/leader-election.js';
import type { LeaderElectorOptions } from '../../../src/machinery/leader-election.js';
import type { TempStore } from './helpers.js';
import { InterposedStore, tempStore, waitFor } from './helpers.js';

const leases = kindFor('coordination.k8s.io/v1', 'Lease')!;

describe('machinery/leader-election (embedded store, fake clock)', () => {
  let t: TempStore;
  let clock: FakeClock;
  const electors: LeaderElector[] = [];

  beforeEach(async () => {
    t = await tempStore();
    clock = new FakeClock(Date.UTC(2025, 0, 1));
  });
  afterEach(async () => {
    for (const e of electors.splice(0)) await e.stop();
    await t.cleanup();
  });

  function candidate(identity: string, extra: Partial<LeaderElectorOptions> = {}) {
    const log: string[] = [];
    const elector = new LeaderElector({
      store: t.store,
      name: 'example.csi.io',
      namespace: 'kube-system',
      identity,
      clock,
      random: () => 0,
      onStartedLeading: () => void log.push('started'),
      onStoppedLeading: () => void log.push('stopped'),
      ...extra,
    });
    electors.push(elector);
    return { elector, log };
  }

  async function lease(): Promise<Lease> {
    return t.store.get<Lease>(leases, 'kube-system', 'example.csi.io');
  }

  /**
   * Moves the clock forward in steps, letting every running elector finish its round and sleep
   * again: a sleeping candidate waits on one timer, a sleeping leader on two (its next renewal and
   * its renew-deadline watchdog).
   */
  async function runFor(ms: number, ...running: LeaderElector[]): Promise<void> {
    const stepMs = 500;
    const sleeping = () => running.reduce((n, e) => n + (e.isLeader() ? 2 : 1), 0);
    for (let done = 0; done < ms; done += stepMs) {
      clock.advance(stepMs);
      await waitFor(() => clock.pendingTimers() >= sleeping(), 'electors to sleep again');
    }
  }

  it('rejects timings that are not leaseDuration > renewDeadline > retryPeriod', () => {
    const { elector } = candidate('a');
    assert.equal(elector.isLeader(), false);
    assert.throws(
      () =>
        new LeaderElector({
          store: t.store,
          name: 'x',
          namespace: 'y',
          identity: 'z',
          renewDeadlineMs: 20_000,
        }),
      /leaseDuration > renewDeadline > retryPeriod/,
    );
  });

  it('one round at a time: free lease is taken, a held one only after a lease duration without renewal', async () => {
    const a = candidate('a').elector;
    const b = candidate('b').elector;
    assert.equal(await a.tryAcquireOrRenew(), true);
    let l = await lease();
    assert.equal(l.spec.holderIdentity, 'a');
    assert.equal(l.spec.leaseDurationSeconds, 15);
    assert.equal(l.spec.leaseTransitions, 0);
    assert.equal(l.spec.renewTime, '2025-01-01T00:00:00.000000Z');

    assert.equal(await b.tryAcquireOrRenew(), false);
    assert.equal(b.leader(), 'a');
    clock.advance(10_000);
    assert.equal(await a.tryAcquireOrRenew(), true, 'renewal');
    assert.equal(
      (await lease()).spec.acquireTime,
      '2025-01-01T00:00:00.000000Z',
      'acquireTime kept on renew',
    );
    assert.equal(await b.tryAcquireOrRenew(), false);
    clock.advance(14_900);
    assert.equal(await b.tryAcquireOrRenew(), false, 'b saw the renewal 14.9 s ago');
    clock.advance(200);
    assert.equal(await b.tryAcquireOrRenew(), true, 'expired on b’s clock');
    l = await lease();
    assert.equal(l.spec.holderIdentity, 'b');
    assert.equal(l.spec.leaseTransitions, 1);
    assert.equal(l.spec.acquireTime, l.spec.renewTime);
    assert.equal(await a.tryAcquireOrRenew(), false, 'a sees b as a fresh holder');
  });

  it('two candidates: one leads and renews; the other takes over after the leader dies', async () => {
    const a = candidate('a', { releaseOnStop: false });
    const b = candidate('b');
    a.elector.start();
    await waitFor(() => a.elector.isLeader(), 'a to lead');
    b.elector.start();
    await runFor(60_000, a.elector, b.elector);
    assert.equal(a.elector.isLeader(), true);
    assert.equal(b.elector.isLeader(), false);
    assert.deepEqual(b.log, []);
    assert.equal((await lease()).spec.holderIdentity, 'a');

    // a crashes: no release, no more renewals
    await a.elector.stop();
    assert.deepEqual(a.log, ['started', 'stopped']);
    assert.equal((await lease()).spec.holderIdentity, 'a');
    await runFor(10_000, b.elector);
    assert.equal(b.elector.isLeader(), false, 'lease not yet expired');
    await runFor(10_000, b.elector);
    assert.equal(b.elector.isLeader(), true);
    assert.deepEqual(b.log, ['started']);
    const l = await lease();
    assert.equal(l.spec.holderIdentity, 'b');
    assert.equal(l.spec.leaseTransitions, 1);
  });

  it('stop() releases the lease so the next candidate takes it at its next retry', async () => {
    const a = candidate('a');
    const b = candidate('b');
    a.elector.start();
    await waitFor(() => a.elector.isLeader(), 'a to lead');
    b.elector.start();
    await runFor(1000, a.elector, b.elector);
    await a.elector.stop();
    assert.equal((await lease()).spec.holderIdentity, '');
    await runFor(5000, b.elector);
    assert.equal(b.elector.isLeader(), true);
  });

  it('a leader that cannot renew within the renew deadline steps down, then campaigns again', async () => {
    const store = new InterposedStore(t.store);
    let signal: AbortSignal | undefined;
    const a = candidate('a', { store, onStartedLeading: (s) => void (signal = s) });
    a.elector.start();
    await waitFor(() => a.elector.isLeader(), 'a to lead');
    store.failing.set('update', new StatusError(503, 'ServiceUnavailable', 'store down'));
    await runFor(5000, a.elector);
    assert.equal(a.elector.isLeader(), true, 'one failed renewal is tolerated');
    await runFor(5000, a.elector);
    assert.equal(a.elector.isLeader(), false, 'renew deadline passed');
    assert.equal(signal?.aborted, true);
    store.failing.clear();
    await runFor(5000, a.elector);
    assert.equal(a.elector.isLeader(), true, 're-acquired its own lease');
  });

  it('a leader whose renewal hangs (API cut off) steps down at the renew deadline, not later', async () => {
    let hang = false;
    const hung: (() => void)[] = [];
    const cutOff = new Proxy(t.store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          hang && prop === 'get'
            ? new Promise((_, reject) =>
                hung.push(() => reject(new StatusError(503, 'ServiceUnavailable', 'cut off'))),
              )
            : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    const a = candidate('a', { store: cutOff, retryPeriodMs: 2000 });
    a.elector.start();
    await waitFor(() => a.elector.isLeader(), 'a to lead');
    const lastRenew = clock.now().getTime();
    hang = true;
    // the renewal sent at +2 s never answers: only the watchdog's timer is left to fire
    for (let elapsed = 0; a.elector.isLeader() && elapsed < 15_000; elapsed += 250) {
      clock.advance(250);
      await waitFor(() => clock.pendingTimers() >= 1 || !a.elector.isLeader(), 'the elector to wait');
    }
    assert.equal(a.elector.isLeader(), false);
    assert.deepEqual(a.log, ['started', 'stopped']);
    const steppedDownAfter = clock.now().getTime() - lastRenew;
    assert.ok(steppedDownAfter <= 10_000, `stepped down ${steppedDownAfter} ms after the last renewal`);
    hang = false;
    for (const release of hung.splice(0)) release();
  });
});
