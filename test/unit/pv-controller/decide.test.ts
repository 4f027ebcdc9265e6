// Table-driven tests of the binder's decisions: one syncClaim or syncVolume against a small world,
// then the resulting objects and events. The groups follow Kubernetes' binder_test.go (sets 1-4,
// 13, 14), provision_test.go (11) and delete_test.go (8); the cases are berth's own.
import assert from 'node:assert/strict';
import type { PersistentVolume, PersistentVolumeClaim } from '../../../src/api/types.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_PROVISIONING,
  FINALIZER_PROVISIONING,
  ANN_BOUND_BY_CONTROLLER,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  FINALIZER_PV_PROTECTION,
  FINALIZER_PVC_PROTECTION,
} from '../../../src/volume/annotations.js';
import type { Decision } from '../../../src/pv-controller/actions.js';
import { newClaim, newClass, newPod, newVolume } from '../../helpers/builders.js';
import type { Fixture } from './world.js';
import { K, NOW, World } from './world.js';
import { EXTERNAL_PROVISIONING_PATIENCE_MS } from '../../../src/pv-controller/claim-sync.js';

const bound = { [ANN_BIND_COMPLETED]: 'yes' };
const boundByController = { [ANN_BIND_COMPLETED]: 'yes', [ANN_BOUND_BY_CONTROLLER]: 'yes' };
const CSI = 'local.csi.berth.dev';

interface Expect {
  volumes?: Record<
    string,
    { phase?: string; claimUid?: string | null; annotations?: string[]; message?: string; gone?: boolean }
  >;
  claims?: Record<
    string,
    {
      phase?: string;
      volumeName?: string | null;
      annotations?: string[];
      noAnnotations?: string[];
      capacity?: string;
      gone?: boolean;
      className?: string;
    }
  >;
  events?: string[];
  messages?: string[];
  error?: boolean;
  recycled?: string[];
}

interface Case {
  name: string;
  fixture: Fixture;
  sync: ['claim' | 'volume', string];
  expect: Expect;
}

async function check(world: World, decision: Decision, expect: Expect): Promise<void> {
  for (const [name, want] of Object.entries(expect.volumes ?? {})) {
    const v: PersistentVolume | undefined = await world.volume(name);
    if (want.gone) {
      assert.equal(v, undefined, `volume ${name} should be gone`);
      continue;
    }
    assert.ok(v, `volume ${name} exists`);
    if (want.phase !== undefined) assert.equal(v.status?.phase, want.phase, `volume ${name} phase`);
    if (want.claimUid !== undefined) {
      if (want.claimUid === null) assert.equal(v.spec.claimRef, undefined, `volume ${name} claimRef`);
      else assert.equal(v.spec.claimRef?.uid, want.claimUid, `volume ${name} claimRef.uid`);
    }
    for (const a of want.annotations ?? []) assert.ok(v.metadata.annotations?.[a], `volume ${name} has ${a}`);
    if (want.message !== undefined) assert.equal(v.status?.message, want.message);
  }
  for (const [name, want] of Object.entries(expect.claims ?? {})) {
    const c: PersistentVolumeClaim | undefined = await world.claim(name);
    if (want.gone) {
      assert.equal(c, undefined, `claim ${name} should be gone`);
      continue;
    }
    assert.ok(c, `claim ${name} exists`);
    if (want.phase !== undefined)
      assert.equal(c.status?.phase ?? 'Pending', want.phase, `claim ${name} phase`);
    if (want.volumeName !== undefined)
      assert.equal(c.spec.volumeName, want.volumeName ?? undefined, `claim ${name} volumeName`);
    for (const a of want.annotations ?? []) assert.ok(c.metadata.annotations?.[a], `claim ${name} has ${a}`);
    for (const a of want.noAnnotations ?? [])
      assert.equal(c.metadata.annotations?.[a], undefined, `claim ${name} lacks ${a}`);
    if (want.capacity !== undefined) assert.equal(c.status?.capacity?.['storage'], want.capacity);
    if (want.className !== undefined) assert.equal(c.spec.storageClassName, want.className);
  }
  assert.deepEqual(world.eventStrings(), expect.events ?? [], 'events');
  for (const m of expect.messages ?? []) {
    assert.ok(
      world.events.some((e) => e.message === m),
      `event message "${m}" in ${JSON.stringify(world.events.map((e) => e.message))}`,
    );
  }
  assert.equal(decision.error !== undefined, expect.error ?? false, `error: ${decision.error ?? 'none'}`);
  if (expect.recycled) assert.deepEqual(world.recycled, expect.recycled);
}

function run(cases: Case[]): void {
  for (const c of cases) {
    it(c.name, async function () {
      const world = new World(c.fixture);
      const decision =
        c.sync[0] === 'claim' ? await world.syncClaim(c.sync[1]) : await world.syncVolume(c.sync[1]);
      await check(world, decision, c.expect);
    });
  }
}

describe('pv-controller decide', function () {
  describe('set 1: claims without volumeName', function () {
    run([
      {
        name: '1-1 binds an Available volume, four steps, both sides annotated',
        fixture: {
          volumes: [newVolume('v1', '10Gi', { phase: 'Available' })],
          claims: [newClaim('c1', '10Gi')],
        },
        sync: ['claim', 'c1'],
        expect: {
          volumes: { v1: { phase: 'Bound', claimUid: 'uid-c1', annotations: [ANN_BOUND_BY_CONTROLLER] } },
          claims: {
            c1: {
              phase: 'Bound',
              volumeName: 'v1',
              annotations: [ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER],
              capacity: '10Gi',
            },
          },
        },
      },
      {
        name: '1-2 no volume and no class: Pending with FailedBinding',
        fixture: { claims: [newClaim('c1', '10Gi')] },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { phase: 'Pending' } },
          events: ['Normal FailedBinding'],
          messages: ['no persistent volumes available for this claim and no storage class is set'],
        },
      },
      {
        name: '1-3 a claim marked Bound without a volume goes back to Pending',
        fixture: { claims: [newClaim('c1', '10Gi', { phase: 'Bound' })] },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Pending' } }, events: ['Normal FailedBinding'] },
      },
      {
        name: '1-4 picks the smallest volume that fits (2/7/10 GB, claim 6Gi -> 7 GB)',
        fixture: {
          volumes: [
            newVolume('two', '2G', { phase: 'Available' }),
            newVolume('seven', '7G', { phase: 'Available' }),
            newVolume('ten', '10G', { phase: 'Available' }),
          ],
          claims: [newClaim('c1', '6Gi')],
        },
        sync: ['claim', 'c1'],
        expect: {
          volumes: { seven: { phase: 'Bound' }, ten: { phase: 'Available' }, two: { phase: 'Available' } },
        },
      },
      {
        name: '1-5 a larger volume pre-bound by name wins over a smaller free one',
        fixture: {
          volumes: [
            newVolume('small', '1Gi', { phase: 'Available' }),
            newVolume('big', '10Gi', { phase: 'Available', claim: { name: 'c1' } }),
          ],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: {
          volumes: {
            big: { phase: 'Bound', claimUid: 'uid-c1' },
            small: { phase: 'Available', claimUid: null },
          },
          claims: { c1: { phase: 'Bound', volumeName: 'big', capacity: '10Gi' } },
        },
      },
      {
        name: '1-6 a volume pre-bound by UID binds',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Available', claim: { name: 'c1', uid: 'uid-c1' } })],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Bound', volumeName: 'v1' } } },
      },
      {
        name: '1-7 a volume pre-bound to another UID of the same name is not taken',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Released', claim: { name: 'c1', uid: 'old-uid' } })],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: {
          volumes: { v1: { phase: 'Released', claimUid: 'old-uid' } },
          claims: { c1: { phase: 'Pending' } },
          events: ['Normal FailedBinding'],
        },
      },
      {
        name: '1-8 completes a bind interrupted after the volume claimRef write',
        fixture: {
          volumes: [
            newVolume('v1', '5Gi', {
              phase: 'Available',
              claim: { name: 'c1', uid: 'uid-c1' },
              annotations: { [ANN_BOUND_BY_CONTROLLER]: 'yes' },
            }),
          ],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: { volumes: { v1: { phase: 'Bound' } }, claims: { c1: { phase: 'Bound', volumeName: 'v1' } } },
      },
      {
        name: '1-9 completes a bind interrupted after the volume status write',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Bound', claim: { name: 'c1', uid: 'uid-c1' } })],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Bound', volumeName: 'v1', annotations: [ANN_BIND_COMPLETED] } } },
      },
      {
        name: '1-10 completes a bind interrupted after the claim spec write',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Bound', claim: { name: 'c1', uid: 'uid-c1' } })],
          claims: [newClaim('c1', '1Gi', { volumeName: 'v1', annotations: boundByController })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Bound', capacity: '5Gi' } } },
      },
      {
        name: '1-11 binds when the selector matches the labels',
        fixture: {
          volumes: [
            newVolume('plain', '1Gi', { phase: 'Available' }),
            newVolume('fast', '5Gi', { phase: 'Available', labels: { tier: 'fast' } }),
          ],
          claims: [newClaim('c1', '1Gi', { selector: { matchLabels: { tier: 'fast' } } })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Bound', volumeName: 'fast' } } },
      },
      {
        name: '1-12 does not bind when the selector does not match',
        fixture: {
          volumes: [newVolume('fast', '5Gi', { phase: 'Available', labels: { tier: 'slow' } })],
          claims: [
            newClaim('c1', '1Gi', {
              selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['fast'] }] },
            }),
          ],
        },
        sync: ['claim', 'c1'],
        expect: {
          volumes: { fast: { phase: 'Available', claimUid: null } },
          events: ['Normal FailedBinding'],
        },
      },
      {
        name: '1-13 WaitForFirstConsumer: no bind without a selected node',
        fixture: {
          classes: [newClass('wait', { bindingMode: 'WaitForFirstConsumer' })],
          volumes: [newVolume('v1', '5Gi', { phase: 'Available', className: 'wait' })],
          claims: [newClaim('c1', '1Gi', { className: 'wait' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          volumes: { v1: { phase: 'Available', claimUid: null } },
          claims: { c1: { phase: 'Pending' } },
          events: ['Normal WaitForFirstConsumer'],
          messages: ['waiting for first consumer to be created before binding'],
        },
      },
      {
        name: '1-13b WaitForFirstConsumer names unscheduled pods that wait for the claim',
        fixture: {
          classes: [newClass('wait', { bindingMode: 'WaitForFirstConsumer' })],
          claims: [newClaim('c1', '1Gi', { className: 'wait' })],
          pods: [newPod('web-0', ['c1'])],
        },
        sync: ['claim', 'c1'],
        expect: {
          events: ['Normal WaitForPodScheduled'],
          messages: ['waiting for pod web-0 to be scheduled'],
        },
      },
      {
        name: "1-13c WaitForPodScheduled carries the scheduler's reason once it has one",
        fixture: {
          classes: [newClass('wait', { bindingMode: 'WaitForFirstConsumer' })],
          claims: [newClaim('c1', '100Ti', { className: 'wait' })],
          pods: [
            {
              ...newPod('web-0', ['c1']),
              status: {
                phase: 'Pending',
                conditions: [
                  {
                    type: 'PodScheduled',
                    status: 'False',
                    reason: 'Unschedulable',
                    message: '0/2 nodes are available: 2 node(s) did not have enough free storage.',
                  },
                ],
              },
            },
          ],
        },
        sync: ['claim', 'c1'],
        expect: {
          events: ['Normal WaitForPodScheduled'],
          messages: [
            'waiting for pod web-0 to be scheduled: 0/2 nodes are available: 2 node(s) did not have enough free storage.',
          ],
        },
      },
      {
        name: '1-14 WaitForFirstConsumer: a pre-bound volume still binds',
        fixture: {
          classes: [newClass('wait', { bindingMode: 'WaitForFirstConsumer' })],
          volumes: [newVolume('v1', '5Gi', { phase: 'Available', className: 'wait', claim: { name: 'c1' } })],
          claims: [newClaim('c1', '1Gi', { className: 'wait' })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Bound', volumeName: 'v1' } } },
      },
      {
        name: '1-15 WaitForFirstConsumer with a selected node binds a volume reachable from it',
        fixture: {
          classes: [newClass('wait', { bindingMode: 'WaitForFirstConsumer' })],
          volumes: [
            newVolume('on-a', '1Gi', { phase: 'Available', className: 'wait', node: 'node-a' }),
            newVolume('on-b', '5Gi', { phase: 'Available', className: 'wait', node: 'node-b' }),
          ],
          claims: [
            newClaim('c1', '1Gi', { className: 'wait', annotations: { [ANN_SELECTED_NODE]: 'node-b' } }),
          ],
        },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { phase: 'Bound', volumeName: 'on-b' } },
          volumes: { 'on-a': { claimUid: null } },
        },
      },
      {
        name: '1-16 a pre-bound volume without the requested access mode is not bound',
        fixture: {
          volumes: [
            newVolume('v1', '5Gi', {
              phase: 'Available',
              claim: { name: 'c1' },
              accessModes: ['ReadOnlyMany'],
            }),
          ],
          claims: [newClaim('c1', '1Gi', { accessModes: ['ReadWriteMany'] })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Pending' } }, events: ['Normal FailedBinding'] },
      },
      {
        name: '1-17 skips volumes that are not Available (Pending, Failed, Released, no phase)',
        fixture: {
          volumes: [
            newVolume('pending', '1Gi', { phase: 'Pending' }),
            newVolume('failed', '1Gi', { phase: 'Failed' }),
            newVolume('released', '1Gi', { phase: 'Released' }),
            newVolume('empty', '1Gi'),
          ],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Pending' } }, events: ['Normal FailedBinding'] },
      },
      {
        name: '1-18 access modes: the smallest superset bucket wins over a smaller volume with more modes',
        fixture: {
          volumes: [
            newVolume('many', '1Gi', { phase: 'Available', accessModes: ['ReadWriteOnce', 'ReadWriteMany'] }),
            newVolume('exact', '5Gi', { phase: 'Available', accessModes: ['ReadWriteOnce'] }),
          ],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { volumeName: 'exact' } } },
      },
      {
        name: '1-19 skips a volume that is being deleted',
        fixture: {
          volumes: [
            newVolume('v1', '5Gi', {
              phase: 'Available',
              deletionTimestamp: '2025-01-01T00:00:00Z',
              finalizers: ['x'],
            }),
          ],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: { volumes: { v1: { claimUid: null } }, events: ['Normal FailedBinding'] },
      },
    ]);

    it('1-20 protection finalizers, and exactly four writes per bind', async function () {
      const world = new World({
        volumes: [newVolume('v1', '1Gi', { phase: 'Available' })],
        claims: [newClaim('c1', '1Gi')],
      });
      await world.syncClaim('c1');
      assert.equal(world.store.totalWrites(), 4);
      assert.deepEqual((await world.volume('v1'))?.metadata.finalizers, [FINALIZER_PV_PROTECTION]);
      assert.deepEqual((await world.claim('c1'))?.metadata.finalizers, [FINALIZER_PVC_PROTECTION]);
    });

    it("1-20b the bind write clears the provisioner's in-flight record for that volume", async function () {
      const marked = (volumeName: string) =>
        newClaim('c1', '1Gi', {
          annotations: { [ANN_PROVISIONING]: volumeName },
          finalizers: [FINALIZER_PROVISIONING],
        });
      const world = new World({
        volumes: [newVolume('pvc-uid-c1', '1Gi', { phase: 'Pending', claim: { name: 'c1', uid: 'uid-c1' } })],
        claims: [marked('pvc-uid-c1')],
      });
      await world.syncClaim('c1');
      const claim = await world.claim('c1');
      assert.equal(claim?.spec.volumeName, 'pvc-uid-c1');
      assert.equal(claim?.metadata.annotations?.[ANN_PROVISIONING], undefined);
      assert.deepEqual(claim?.metadata.finalizers, [FINALIZER_PVC_PROTECTION]);
      // A record naming another volume is not this bind's to clear.
      const other = new World({
        volumes: [newVolume('v1', '1Gi', { phase: 'Available' })],
        claims: [marked('pvc-something-else')],
      });
      await other.syncClaim('c1');
      const kept = await other.claim('c1');
      assert.equal(kept?.spec.volumeName, 'v1');
      assert.equal(kept?.metadata.annotations?.[ANN_PROVISIONING], 'pvc-something-else');
      assert.ok(kept?.metadata.finalizers?.includes(FINALIZER_PROVISIONING));
    });

    it('1-21 an unchanged bound pair writes nothing when synced again', async function () {
      const world = new World({
        volumes: [newVolume('v1', '1Gi', { phase: 'Available' })],
        claims: [newClaim('c1', '1Gi')],
      });
      await world.syncClaim('c1');
      world.restart();
      const before = world.store.totalWrites();
      await world.syncClaim('c1');
      await world.syncVolume('v1');
      assert.equal(world.store.totalWrites(), before);
    });
  });

  describe('set 2: claims naming a volume', function () {
    run([
      {
        name: '2-1 the named volume does not exist: Pending, no event',
        fixture: { claims: [newClaim('c1', '1Gi', { volumeName: 'nope' })] },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Pending' } } },
      },
      {
        name: '2-2 the named volume does not exist: a Bound status is reset to Pending',
        fixture: { claims: [newClaim('c1', '1Gi', { volumeName: 'nope', phase: 'Bound' })] },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Pending' } } },
      },
      {
        name: '2-3 the named volume is free: volume marked bound-by-controller, claim not',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Available' })],
          claims: [newClaim('c1', '1Gi', { volumeName: 'v1' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          volumes: { v1: { phase: 'Bound', claimUid: 'uid-c1', annotations: [ANN_BOUND_BY_CONTROLLER] } },
          claims: {
            c1: {
              phase: 'Bound',
              annotations: [ANN_BIND_COMPLETED],
              noAnnotations: [ANN_BOUND_BY_CONTROLLER],
            },
          },
        },
      },
      {
        name: '2-4 pre-bound on both sides by name',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Available', claim: { name: 'c1' } })],
          claims: [newClaim('c1', '1Gi', { volumeName: 'v1' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          volumes: { v1: { claimUid: 'uid-c1' } },
          claims: { c1: { phase: 'Bound', noAnnotations: [ANN_BOUND_BY_CONTROLLER] } },
        },
      },
      {
        name: '2-6 the named volume is bound to someone else: Pending with FailedBinding',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Bound', claim: { name: 'other', uid: 'uid-other' } })],
          claims: [newClaim('c1', '1Gi', { volumeName: 'v1' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { phase: 'Pending' } },
          events: ['Warning FailedBinding'],
          messages: ['volume "v1" already bound to a different claim.'],
        },
      },
      {
        name: '2-7 claim bound by the controller to a volume claimed elsewhere: an error',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Bound', claim: { name: 'other', uid: 'uid-other' } })],
          claims: [
            newClaim('c1', '1Gi', { volumeName: 'v1', annotations: { [ANN_BOUND_BY_CONTROLLER]: 'yes' } }),
          ],
        },
        sync: ['claim', 'c1'],
        expect: { events: ['Warning FailedBinding'], error: true },
      },
      {
        name: '2-8 the selector is ignored for a named volume',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Available' })],
          claims: [newClaim('c1', '1Gi', { volumeName: 'v1', selector: { matchLabels: { no: 'match' } } })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Bound' } } },
      },
      {
        name: '2-9 the named volume is too small: VolumeMismatch',
        fixture: {
          volumes: [newVolume('v1', '1Gi', { phase: 'Available' })],
          claims: [newClaim('c1', '5Gi', { volumeName: 'v1' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          volumes: { v1: { claimUid: null } },
          events: ['Warning VolumeMismatch'],
          messages: ['Cannot bind to requested volume "v1": requested PV is too small'],
        },
      },
      {
        name: '2-10 the named volume has another class: VolumeMismatch',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Available', className: 'gold' })],
          claims: [newClaim('c1', '1Gi', { volumeName: 'v1', className: 'silver' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          events: ['Warning VolumeMismatch'],
          messages: ['Cannot bind to requested volume "v1": storageClassName does not match'],
        },
      },
    ]);
  });

  describe('set 3: bound claims', function () {
    run([
      {
        name: '3-1 a bound claim without volumeName is Lost',
        fixture: { claims: [newClaim('c1', '1Gi', { phase: 'Bound', annotations: bound })] },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { phase: 'Lost' } },
          events: ['Warning ClaimLost'],
          messages: ['Bound claim has lost reference to PersistentVolume. Data on the volume is lost!'],
        },
      },
      {
        name: '3-2 a bound claim whose volume disappeared is Lost',
        fixture: {
          claims: [newClaim('c1', '1Gi', { phase: 'Bound', volumeName: 'gone', annotations: bound })],
        },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { phase: 'Lost' } },
          events: ['Warning ClaimLost'],
          messages: ['Bound claim has lost its PersistentVolume. Data on the volume is lost!'],
        },
      },
      {
        name: '3-3 a bound claim re-binds a volume whose claimRef is empty',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Available' })],
          claims: [newClaim('c1', '1Gi', { phase: 'Bound', volumeName: 'v1', annotations: bound })],
        },
        sync: ['claim', 'c1'],
        expect: {
          volumes: { v1: { phase: 'Bound', claimUid: 'uid-c1' } },
          claims: { c1: { phase: 'Bound' } },
        },
      },
      {
        name: '3-4 a bound claim whose volume points at another claim is Lost (ClaimMisbound)',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Bound', claim: { name: 'c1', uid: 'someone-else' } })],
          claims: [newClaim('c1', '1Gi', { phase: 'Bound', volumeName: 'v1', annotations: bound })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Lost' } }, events: ['Warning ClaimMisbound'] },
      },
      {
        name: '3-5 a bound pair with stale phases gets them fixed',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Available', claim: { name: 'c1', uid: 'uid-c1' } })],
          claims: [newClaim('c1', '1Gi', { phase: 'Pending', volumeName: 'v1', annotations: bound })],
        },
        sync: ['claim', 'c1'],
        expect: { volumes: { v1: { phase: 'Bound' } }, claims: { c1: { phase: 'Bound' } } },
      },
      {
        name: '3-6 a Lost claim whose volume reappears unbound is Bound again',
        fixture: {
          volumes: [newVolume('v1', '5Gi', { phase: 'Available' })],
          claims: [newClaim('c1', '1Gi', { phase: 'Lost', volumeName: 'v1', annotations: bound })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Bound' } } },
      },
    ]);
  });

  describe('set 4: syncVolume', function () {
    run([
      {
        name: '4-1 a new volume becomes Available',
        fixture: { volumes: [newVolume('v1', '1Gi')] },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Available' } } },
      },
      {
        name: '4-2 a volume pre-bound by name only stays Available',
        fixture: { volumes: [newVolume('v1', '1Gi', { phase: 'Pending', claim: { name: 'c1' } })] },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Available' } } },
      },
      {
        name: '4-3 a volume whose claim is gone is Released (Retain keeps it)',
        fixture: {
          volumes: [
            newVolume('v1', '1Gi', {
              phase: 'Bound',
              claim: { name: 'c1', uid: 'uid-c1' },
              policy: 'Retain',
            }),
          ],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Released', claimUid: 'uid-c1' } } },
      },
      {
        name: '4-4 a volume whose claim was re-created (new UID) is Released',
        fixture: {
          volumes: [
            newVolume('v1', '1Gi', { phase: 'Bound', claim: { name: 'c1', uid: 'old' }, policy: 'Retain' }),
          ],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Released' } } },
      },
      {
        name: '4-5 a volume bound to a claim that has not caught up waits (no writes)',
        fixture: {
          volumes: [newVolume('v1', '1Gi', { phase: 'Available', claim: { name: 'c1', uid: 'uid-c1' } })],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Available' } } },
      },
      {
        name: '4-6 a volume whose claim points back is Bound',
        fixture: {
          volumes: [newVolume('v1', '1Gi', { phase: 'Available', claim: { name: 'c1', uid: 'uid-c1' } })],
          claims: [newClaim('c1', '1Gi', { volumeName: 'v1', annotations: bound })],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Bound' } } },
      },
      {
        name: '4-7 a controller-bound volume whose claim went elsewhere is unbound',
        fixture: {
          volumes: [
            newVolume('v1', '1Gi', {
              phase: 'Bound',
              claim: { name: 'c1', uid: 'uid-c1' },
              annotations: { [ANN_BOUND_BY_CONTROLLER]: 'yes' },
            }),
          ],
          claims: [newClaim('c1', '1Gi', { volumeName: 'other', annotations: bound })],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Available', claimUid: null } } },
      },
      {
        name: '4-8 a user-bound volume whose claim went elsewhere keeps the name, loses the UID',
        fixture: {
          volumes: [newVolume('v1', '1Gi', { phase: 'Bound', claim: { name: 'c1', uid: 'uid-c1' } })],
          claims: [newClaim('c1', '1Gi', { volumeName: 'other', annotations: bound })],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Available' } } },
      },
      {
        name: '4-9 a bound volume with Delete policy is left alone',
        fixture: {
          volumes: [
            newVolume('v1', '1Gi', {
              phase: 'Bound',
              claim: { name: 'c1', uid: 'uid-c1' },
              policy: 'Delete',
            }),
          ],
          claims: [newClaim('c1', '1Gi', { volumeName: 'v1', annotations: bound, phase: 'Bound' })],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Bound' } } },
      },
      {
        name: '4-10 a volume with a volumeMode mismatch warns on both objects',
        fixture: {
          volumes: [
            newVolume('v1', '1Gi', {
              phase: 'Available',
              claim: { name: 'c1', uid: 'uid-c1' },
              volumeMode: 'Block',
            }),
          ],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['volume', 'v1'],
        expect: { events: ['Warning VolumeMismatch', 'Warning VolumeMismatch'] },
      },
    ]);

    it('4-8 keeps the claim name on a user-bound volume', async function () {
      const world = new World({
        volumes: [newVolume('v1', '1Gi', { phase: 'Bound', claim: { name: 'c1', uid: 'uid-c1' } })],
        claims: [newClaim('c1', '1Gi', { volumeName: 'other', annotations: bound })],
      });
      await world.syncVolume('v1');
      const v = await world.volume('v1');
      assert.equal(v?.spec.claimRef?.name, 'c1');
      assert.equal(v?.spec.claimRef?.uid, undefined);
    });
  });

  describe('set 8: reclaim', function () {
    const released = (policy: 'Delete' | 'Recycle' | 'Retain', extra: Parameters<typeof newVolume>[2] = {}) =>
      newVolume('v1', '1Gi', { phase: 'Bound', claim: { name: 'c1', uid: 'uid-c1' }, policy, ...extra });
    run([
      {
        name: '8-3 Delete on a static hostPath volume: Failed with the Kubernetes message',
        fixture: { volumes: [released('Delete')] },
        sync: ['volume', 'v1'],
        expect: {
          volumes: {
            v1: {
              phase: 'Failed',
              message:
                'error getting deleter volume plugin for volume "v1": no deletable volume plugin matched',
            },
          },
          events: ['Warning VolumeFailedDelete'],
        },
      },
      {
        name: '8-10 Delete on a CSI volume is left to its provisioner (Released only)',
        fixture: {
          volumes: [
            released('Delete', { source: 'csi', annotations: { [ANN_DYNAMICALLY_PROVISIONED]: CSI } }),
          ],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Released' } } },
      },
      {
        name: '8-11 a provisioned Delete volume whose claim bound elsewhere is Released for deletion',
        fixture: {
          volumes: [
            released('Delete', { source: 'csi', annotations: { [ANN_DYNAMICALLY_PROVISIONED]: CSI } }),
          ],
          claims: [newClaim('c1', '1Gi', { volumeName: 'winner', annotations: bound })],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Released' } } },
      },
      {
        name: '8-12 Recycle on hostPath scrubs and makes the volume Available again',
        fixture: { volumes: [released('Recycle', { annotations: { [ANN_BOUND_BY_CONTROLLER]: 'yes' } })] },
        sync: ['volume', 'v1'],
        expect: {
          volumes: { v1: { phase: 'Available', claimUid: null } },
          events: ['Normal VolumeRecycled'],
          recycled: ['v1'],
        },
      },
      {
        name: '8-13 Recycle on an RBD volume fails with a clear event',
        fixture: { volumes: [released('Recycle', { source: 'rbd' })] },
        sync: ['volume', 'v1'],
        expect: {
          volumes: { v1: { phase: 'Failed', message: 'No recycler plugin found for the volume!' } },
          events: ['Warning VolumeFailedRecycle'],
        },
      },
      {
        name: '8-14 Recycle waits while pods still use the old claim',
        fixture: {
          volumes: [released('Recycle')],
          pods: [newPod('p', ['c1'], { nodeName: 'n1', phase: 'Running' })],
        },
        sync: ['volume', 'v1'],
        expect: {
          volumes: { v1: { phase: 'Released' } },
          events: ['Normal VolumeFailedRecycle'],
          recycled: [],
        },
      },
      {
        name: '8-15 an unknown reclaim policy fails the volume',
        fixture: { volumes: [released('Weird' as 'Retain')] },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Failed' } }, events: ['Warning VolumeUnknownReclaimPolicy'] },
      },
    ]);

    it('8-16 a failed scrub marks the volume Failed with the error', async function () {
      const world = new World({ volumes: [released('Recycle')] });
      world.recycleError = 'disk on fire';
      await world.syncVolume('v1');
      const v = await world.volume('v1');
      assert.equal(v?.status?.phase, 'Failed');
      assert.equal(v?.status?.message, 'Recycle failed: disk on fire');
      assert.deepEqual(world.eventStrings(), ['Warning VolumeFailedRecycle']);
    });
  });

  describe('set 11: provisioning hand-off', function () {
    run([
      {
        name: '11-6 a matching static volume beats provisioning',
        fixture: {
          classes: [newClass('gold', { provisioner: CSI })],
          volumes: [newVolume('v1', '1Gi', { phase: 'Available', className: 'gold' })],
          claims: [newClaim('c1', '1Gi', { className: 'gold' })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Bound', noAnnotations: [ANN_STORAGE_PROVISIONER] } } },
      },
      {
        name: '11-14 a class that does not exist: ProvisioningFailed',
        fixture: { claims: [newClaim('c1', '1Gi', { className: 'nope' })] },
        sync: ['claim', 'c1'],
        expect: {
          events: ['Warning ProvisioningFailed'],
          messages: ['storageclass.storage.k8s.io "nope" not found'],
        },
      },
      {
        name: '11-15 class "" is never provisioned',
        fixture: {
          classes: [newClass('gold', { provisioner: CSI, isDefault: true })],
          claims: [newClaim('c1', '1Gi', { className: '' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { phase: 'Pending', noAnnotations: [ANN_STORAGE_PROVISIONER] } },
          events: ['Normal FailedBinding'],
        },
      },
      {
        name: '11-16 no class and no default class is never provisioned',
        fixture: { classes: [newClass('gold', { provisioner: CSI })], claims: [newClaim('c1', '1Gi')] },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { noAnnotations: [ANN_STORAGE_PROVISIONER] } },
          events: ['Normal FailedBinding'],
        },
      },
      {
        name: '11-17 a CSI class: both provisioner annotations and ExternalProvisioning',
        fixture: {
          classes: [newClass('gold', { provisioner: CSI })],
          claims: [newClaim('c1', '1Gi', { className: 'gold' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          claims: {
            c1: { phase: 'Pending', annotations: [ANN_STORAGE_PROVISIONER, ANN_BETA_STORAGE_PROVISIONER] },
          },
          events: ['Normal ExternalProvisioning'],
          messages: [
            `Waiting for a volume to be created either by the external provisioner '${CSI}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
          ],
        },
      },
      {
        name: '11-18 a no-provisioner class only binds statically',
        fixture: { classes: [newClass('local')], claims: [newClaim('c1', '1Gi', { className: 'local' })] },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { noAnnotations: [ANN_STORAGE_PROVISIONER] } },
          events: ['Warning ProvisioningFailed'],
          messages: ['no volume plugin matched name: kubernetes.io/no-provisioner'],
        },
      },
      {
        name: '11-18b a removed in-tree rbd class says which CSI driver replaces it',
        fixture: {
          classes: [newClass('rbd', { provisioner: 'kubernetes.io/rbd' })],
          claims: [newClaim('c1', '1Gi', { className: 'rbd' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          events: ['Warning ProvisioningFailed'],
          messages: [
            'no volume plugin matched name: kubernetes.io/rbd (berth serves these volumes with the CSI driver rbd.csi.berth.io: use a StorageClass with that provisioner, see examples/rbd)',
          ],
        },
      },
      {
        name: '11-19 a claim with a selector is not provisioned',
        fixture: {
          classes: [newClass('gold', { provisioner: CSI })],
          claims: [newClaim('c1', '1Gi', { className: 'gold', selector: { matchLabels: { a: 'b' } } })],
        },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { noAnnotations: [ANN_STORAGE_PROVISIONER] } },
          events: ['Warning ProvisioningFailed'],
        },
      },
      {
        name: '11-23 WaitForFirstConsumer: no provisioning before a node is selected',
        fixture: {
          classes: [newClass('gold', { provisioner: CSI, bindingMode: 'WaitForFirstConsumer' })],
          claims: [newClaim('c1', '1Gi', { className: 'gold' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { noAnnotations: [ANN_STORAGE_PROVISIONER] } },
          events: ['Normal WaitForFirstConsumer'],
        },
      },
      {
        name: '11-24 WaitForFirstConsumer: provisioning starts once a node is selected',
        fixture: {
          classes: [newClass('gold', { provisioner: CSI, bindingMode: 'WaitForFirstConsumer' })],
          claims: [
            newClaim('c1', '1Gi', { className: 'gold', annotations: { [ANN_SELECTED_NODE]: 'node-a' } }),
          ],
        },
        sync: ['claim', 'c1'],
        expect: {
          claims: { c1: { annotations: [ANN_STORAGE_PROVISIONER] } },
          events: ['Normal ExternalProvisioning'],
        },
      },
      {
        name: '11-25 a claim without a class gets the default class first',
        fixture: {
          classes: [
            newClass('old', { provisioner: CSI, isDefault: true, creationTimestamp: '2024-01-01T00:00:00Z' }),
            newClass('new', { provisioner: CSI, isDefault: true, creationTimestamp: '2024-06-01T00:00:00Z' }),
          ],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { className: 'new', noAnnotations: [ANN_STORAGE_PROVISIONER] } } },
      },
    ]);

    it('12-1 the provisioner pre-binds a volume, the binder finishes the bind', async function () {
      const world = new World({
        classes: [newClass('gold', { provisioner: CSI })],
        claims: [newClaim('c1', '1Gi', { className: 'gold' })],
      });
      await world.syncClaim('c1');
      // What an external provisioner does: a PV pre-bound to the claim, with its name on it.
      await world.store.create(
        K.pv,
        newVolume('pvc-uid-c1', '1Gi', {
          source: 'csi',
          className: 'gold',
          policy: 'Delete',
          claim: { name: 'c1', uid: 'uid-c1' },
          annotations: { [ANN_DYNAMICALLY_PROVISIONED]: CSI },
        }),
      );
      world.restart();
      await world.converge();
      const claim = await world.claim('c1');
      const volume = await world.volume('pvc-uid-c1');
      assert.equal(claim?.status?.phase, 'Bound');
      assert.equal(claim?.spec.volumeName, 'pvc-uid-c1');
      assert.equal(volume?.status?.phase, 'Bound');
      // Pre-bound by its provisioner, so not marked as bound by the controller.
      assert.equal(volume?.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER], undefined);
    });
  });

  describe('set 13: classes', function () {
    run([
      {
        name: '13-1 a classed claim takes the classed volume over a smaller class-less one',
        fixture: {
          classes: [newClass('gold')],
          volumes: [
            newVolume('plain', '1Gi', { phase: 'Available' }),
            newVolume('gold', '10Gi', { phase: 'Available', className: 'gold' }),
          ],
          claims: [newClaim('c1', '1Gi', { className: 'gold' })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { volumeName: 'gold' } } },
      },
      {
        name: '13-2 a class-less claim never takes a classed volume',
        fixture: {
          volumes: [newVolume('gold', '10Gi', { phase: 'Available', className: 'gold' })],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: { volumes: { gold: { claimUid: null } }, events: ['Normal FailedBinding'] },
      },
      {
        name: '13-4 class "" takes a volume without a class',
        fixture: {
          volumes: [newVolume('plain', '1Gi', { phase: 'Available' })],
          claims: [newClaim('c1', '1Gi', { className: '' })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { volumeName: 'plain' } } },
      },
      {
        name: '13-5 an unset class matches a volume with class ""',
        fixture: {
          volumes: [newVolume('plain', '1Gi', { phase: 'Available', className: '' })],
          claims: [newClaim('c1', '1Gi')],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { volumeName: 'plain' } } },
      },
    ]);
  });

  describe('set 14: volumeMode', function () {
    run([
      {
        name: '14-1 Block claim, Filesystem volume: no bind',
        fixture: {
          volumes: [newVolume('v1', '1Gi', { phase: 'Available' })],
          claims: [newClaim('c1', '1Gi', { volumeMode: 'Block' })],
        },
        sync: ['claim', 'c1'],
        expect: { volumes: { v1: { claimUid: null } }, events: ['Normal FailedBinding'] },
      },
      {
        name: '14-2 Block claim, Block volume: bound',
        fixture: {
          volumes: [newVolume('v1', '1Gi', { phase: 'Available', volumeMode: 'Block' })],
          claims: [newClaim('c1', '1Gi', { volumeMode: 'Block' })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Bound' } } },
      },
      {
        name: '14-3 Block claim naming a Filesystem volume: VolumeMismatch',
        fixture: {
          volumes: [newVolume('v1', '1Gi', { phase: 'Available' })],
          claims: [newClaim('c1', '1Gi', { volumeMode: 'Block', volumeName: 'v1' })],
        },
        sync: ['claim', 'c1'],
        expect: {
          events: ['Warning VolumeMismatch'],
          messages: ['Cannot bind to requested volume "v1": incompatible volumeMode'],
        },
      },
    ]);
  });

  describe('protection', function () {
    const deleting = { deletionTimestamp: '2025-01-01T00:00:00Z', finalizers: [FINALIZER_PVC_PROTECTION] };
    run([
      {
        name: 'P-1 a deleted claim no pod uses loses its finalizer (and is gone)',
        fixture: { claims: [newClaim('c1', '1Gi', deleting)] },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { gone: true } } },
      },
      {
        name: 'P-2 a deleted claim used by a running pod keeps its finalizer',
        fixture: {
          claims: [newClaim('c1', '1Gi', deleting)],
          pods: [newPod('p', ['c1'], { nodeName: 'n1', phase: 'Running' })],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { phase: 'Pending' } } },
      },
      {
        name: 'P-3 finished and unscheduled pods do not hold a deleted claim',
        fixture: {
          claims: [newClaim('c1', '1Gi', deleting)],
          pods: [
            newPod('done', ['c1'], { nodeName: 'n1', phase: 'Succeeded' }),
            newPod('unscheduled', ['c1']),
          ],
        },
        sync: ['claim', 'c1'],
        expect: { claims: { c1: { gone: true } } },
      },
      {
        name: 'P-4 a deleted Bound volume keeps its finalizer',
        fixture: {
          volumes: [
            newVolume('v1', '1Gi', {
              phase: 'Bound',
              claim: { name: 'c1', uid: 'uid-c1' },
              deletionTimestamp: '2025-01-01T00:00:00Z',
              finalizers: [FINALIZER_PV_PROTECTION],
            }),
          ],
          claims: [newClaim('c1', '1Gi', { volumeName: 'v1', annotations: bound, phase: 'Bound' })],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { phase: 'Bound' } } },
      },
      {
        name: 'P-5 a deleted Released volume loses its finalizer (and is gone)',
        fixture: {
          volumes: [
            newVolume('v1', '1Gi', {
              phase: 'Released',
              claim: { name: 'c1', uid: 'uid-c1' },
              deletionTimestamp: '2025-01-01T00:00:00Z',
              finalizers: [FINALIZER_PV_PROTECTION],
            }),
          ],
        },
        sync: ['volume', 'v1'],
        expect: { volumes: { v1: { gone: true } } },
      },
    ]);
  });
});

describe('pv-controller/decide: ExternalProvisioning once the claim has waited', function () {
  const claimCreated = (secondsAgo: number): PersistentVolumeClaim => {
    const claim = newClaim('c1', '1Gi', { className: 'gold' });
    claim.metadata.creationTimestamp = new Date(NOW.getTime() - secondsAgo * 1000)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    return claim;
  };

  it('a claim made a moment ago is handed off with no Event, and looked at again after the patience', async function () {
    const world = new World({
      classes: [newClass('gold', { provisioner: CSI })],
      claims: [claimCreated(1)],
    });
    const decision = await world.syncClaim('c1');
    assert.deepEqual(
      world.events.map((e) => e.reason),
      [],
    );
    const claim = await world.claim('c1');
    assert.equal(claim?.metadata.annotations?.[ANN_STORAGE_PROVISIONER], CSI);
    assert.equal(decision.requeueAfterMs, EXTERNAL_PROVISIONING_PATIENCE_MS + 1000 - 1000);
  });

  it('a claim still waiting after the patience gets the Event, and is not looked at again for it', async function () {
    const world = new World({
      classes: [newClass('gold', { provisioner: CSI })],
      claims: [claimCreated(EXTERNAL_PROVISIONING_PATIENCE_MS / 1000)],
    });
    const decision = await world.syncClaim('c1');
    assert.deepEqual(
      world.events.map((e) => e.reason),
      ['ExternalProvisioning'],
    );
    assert.equal(decision.requeueAfterMs, undefined);
  });
});
