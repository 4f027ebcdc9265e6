// The convergence harness: decisions applied to an in-memory store until nothing changes, with a
// crash (a lost write, then a restarted controller with an empty cache) injected before every
// write of a run in turn. Whatever the crash point, the end state must be the one a clean run
// reaches; and for random clusters (fast-check) the binding invariants must hold.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type {
  AccessMode,
  PersistentVolume,
  PersistentVolumeClaim,
  ReclaimPolicy,
} from '../../../src/api/types.js';
import { newClaim, newClass, newVolume } from '../../helpers/builders.js';
import type { Fixture } from './world.js';
import { K, World } from './world.js';

async function snapshot(
  world: World,
): Promise<{ volumes: PersistentVolume[]; claims: PersistentVolumeClaim[] }> {
  const volumes = (await world.store.list<PersistentVolume>(K.pv)).items;
  const claims = (await world.store.list<PersistentVolumeClaim>(K.pvc)).items;
  return { volumes, claims };
}

/** Who is bound to what: "claim->volume" for every Bound claim, sorted. */
function bindings(s: { claims: PersistentVolumeClaim[] }): string[] {
  return s.claims
    .filter((c) => c.status?.phase === 'Bound')
    .map((c) => `${c.metadata.name ?? ''}->${c.spec.volumeName ?? ''}`)
    .sort();
}

async function assertInvariants(world: World): Promise<void> {
  const s = await snapshot(world);
  const volumes = new Map(s.volumes.map((v) => [v.metadata.name ?? '', v]));
  const holders = new Map<string, string[]>();
  for (const c of s.claims) {
    if (c.status?.phase !== 'Bound') continue;
    const name = c.spec.volumeName ?? '';
    holders.set(name, [...(holders.get(name) ?? []), c.metadata.name ?? '']);
    const v = volumes.get(name);
    assert.ok(v, `Bound claim ${c.metadata.name ?? ''} has its volume ${name}`);
    assert.equal(
      v.spec.claimRef?.uid,
      c.metadata.uid,
      `volume ${name} points back at ${c.metadata.name ?? ''}`,
    );
    assert.equal(v.status?.phase, 'Bound', `volume ${name} is Bound`);
  }
  for (const [volume, claims] of holders)
    assert.equal(claims.length, 1, `one claim per volume ${volume}: ${claims.join(',')}`);
  for (const v of s.volumes) {
    if (v.status?.phase !== 'Bound') continue;
    const ref = v.spec.claimRef;
    assert.ok(ref?.uid, `Bound volume ${v.metadata.name ?? ''} has a claim UID`);
  }
}

/** After convergence: a further round writes nothing, even for a controller that just restarted. */
async function assertIdle(world: World): Promise<void> {
  const writes = world.store.totalWrites();
  const events = world.events.length;
  await world.converge();
  assert.equal(world.store.totalWrites(), writes, 'idle round writes nothing');
  assert.equal(world.events.length, events, 'idle round records no events');
  world.restart();
  await world.converge();
  assert.equal(world.store.totalWrites(), writes, 'idle round after a restart writes nothing');
}

const scenario = (): Fixture => ({
  classes: [newClass('gold', { provisioner: 'kubernetes.io/no-provisioner' })],
  volumes: [
    newVolume('two', '2G'),
    newVolume('seven', '7G'),
    newVolume('ten', '10G'),
    newVolume('gold-1', '5Gi', { className: 'gold' }),
    newVolume('pre', '20Gi', { claim: { name: 'named' } }),
  ],
  claims: [
    newClaim('six', '6Gi'),
    newClaim('one', '1Gi'),
    newClaim('golden', '1Gi', { className: 'gold' }),
    newClaim('named', '1Gi'),
    newClaim('wants-ten', '1Gi', { volumeName: 'ten' }),
  ],
});

describe('pv-controller convergence', function () {
  it('binds the scenario, then is idle', async function () {
    const world = new World(scenario());
    await world.converge();
    const s = await snapshot(world);
    assert.deepEqual(bindings(s), [
      'golden->gold-1',
      'named->pre',
      'one->two',
      'six->seven',
      'wants-ten->ten',
    ]);
    await assertInvariants(world);
    await assertIdle(world);
  });

  it('reaches the same end state with a crash before any single write', async function () {
    const clean = new World(scenario());
    await clean.converge();
    const expected = bindings(await snapshot(clean));
    const total = clean.store.totalWrites();
    assert.ok(total > 10);
    for (let k = 1; k <= total; k++) {
      const world = new World(scenario());
      world.store.armCrash(k);
      await world.converge();
      assert.deepEqual(bindings(await snapshot(world)), expected, `crash at write ${k}`);
      await assertInvariants(world);
      await assertIdle(world);
    }
  });

  it('a Released volume is not rebound, with a crash anywhere in the release', async function () {
    const fixture = (): Fixture => ({
      volumes: [newVolume('v1', '1Gi', { policy: 'Retain' })],
      claims: [newClaim('c1', '1Gi')],
    });
    for (let k = 0; k <= 6; k++) {
      const world = new World(fixture());
      await world.converge();
      await world.store.delete(K.pvc, 'default', 'c1');
      await world.converge(); // the protection finalizer goes, and with it the claim
      assert.equal(await world.claim('c1'), undefined);
      // The same name again: a new claim (new UID) must not get the old data.
      await world.store.create(K.pvc, newClaim('c1', '1Gi', { uid: 'uid-c1-again' }));
      if (k > 0) world.store.armCrash(k);
      world.restart();
      await world.converge();
      const v = await world.volume('v1');
      const c = await world.claim('c1');
      assert.equal(v?.status?.phase, 'Released', `crash ${k}`);
      assert.equal(v?.spec.claimRef?.uid, 'uid-c1');
      assert.equal(c?.status?.phase ?? 'Pending', 'Pending');
      await assertInvariants(world);
    }
  });

  it('random clusters: invariants hold and the end state is idle, with a random crash (fast-check)', async function () {
    const modes = fc.subarray<AccessMode>(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany'], {
      minLength: 1,
    });
    const size = fc.constantFrom('1Gi', '2Gi', '5Gi', '10Gi');
    const volumeArb = fc.record({
      size,
      className: fc.constantFrom(undefined, '', 'gold'),
      modes,
      available: fc.boolean(),
      preBind: fc.option(fc.nat(5), { nil: undefined }),
      policy: fc.constantFrom<ReclaimPolicy>('Retain', 'Delete', 'Recycle'),
    });
    const claimArb = fc.record({
      size,
      className: fc.constantFrom<string | null>(null, '', 'gold'),
      modes,
      named: fc.option(fc.nat(7), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(volumeArb, { maxLength: 7 }),
        fc.array(claimArb, { maxLength: 6 }),
        fc.nat(40),
        fc.array(fc.nat(5), { maxLength: 3 }),
        async (vols, claims, crashAt, deletions) => {
          const fixture: Fixture = {
            classes: [newClass('gold')],
            volumes: vols.map((v, i) =>
              newVolume(`v${i}`, v.size, {
                ...(v.className !== undefined ? { className: v.className } : {}),
                accessModes: v.modes,
                ...(v.available ? { phase: 'Available' as const } : {}),
                ...(v.preBind !== undefined ? { claim: { name: `c${v.preBind}` } } : {}),
                policy: v.policy,
              }),
            ),
            claims: claims.map((c, i) =>
              newClaim(`c${i}`, c.size, {
                className: c.className,
                accessModes: c.modes,
                ...(c.named !== undefined ? { volumeName: `v${c.named}` } : {}),
              }),
            ),
          };
          const world = new World(fixture);
          if (crashAt > 0) world.store.armCrash(crashAt);
          await world.converge();
          world.store.armCrash(undefined);
          await assertInvariants(world);
          await assertIdle(world);
          for (const d of deletions)
            await world.store.delete(K.pvc, 'default', `c${d}`).catch(() => undefined);
          world.restart();
          await world.converge();
          await assertInvariants(world);
          await assertIdle(world);
        },
      ),
      { numRuns: 150 },
    );
  });
});
