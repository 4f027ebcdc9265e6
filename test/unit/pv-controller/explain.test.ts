// Every stuck claim explains itself: the binder's decision for a claim no volume fits names the
// closest volumes and why each was rejected; a class that is missing, or a node-local class that
// binds Immediately, is said so in an event. One syncClaim against a small world each.
import assert from 'node:assert/strict';
import { ANN_SELECTED_NODE } from '../../../src/volume/annotations.js';
import { LOCAL_DRIVER_NAME } from '../../../src/volume/node-local.js';
import { newClaim, newClass, newVolume } from '../../helpers/builders.js';
import { World } from './world.js';

async function eventsOf(world: World, claim = 'c1'): Promise<string[]> {
  await world.syncClaim(claim);
  return world.events.map((e) => `${e.type} ${e.reason}: ${e.message}`);
}

describe('pv-controller: a stuck claim explains itself', function () {
  it('no volume fits and no class: FailedBinding names the closest volumes and why (bound ones last)', async function () {
    const world = new World({
      volumes: [
        newVolume('small', '1Gi', { phase: 'Available' }),
        newVolume('rox', '20Gi', { phase: 'Available', accessModes: ['ReadOnlyMany'] }),
        newVolume('gold', '10Gi', { phase: 'Available', className: 'gold' }),
        newVolume('taken', '10Gi', { phase: 'Bound', claim: { name: 'other', uid: 'uid-other' } }),
        newVolume('far', '1Ti', { phase: 'Available', accessModes: ['ReadOnlyMany'], className: 'x' }),
      ],
      claims: [newClaim('c1', '10Gi')],
    });
    assert.deepEqual(await eventsOf(world), [
      'Normal FailedBinding: no persistent volumes available for this claim and no storage class is set' +
        ' (closest: gold: storageClassName "gold", not ""; small: capacity 1Gi < requested 10Gi;' +
        ' rox: access modes ReadOnlyMany lack ReadWriteOnce; 2 more)',
    ]);
  });

  it('a label selector and the selected node reject volumes too', async function () {
    const world = new World({
      classes: [newClass('manual', { bindingMode: 'WaitForFirstConsumer' })],
      volumes: [
        newVolume('elsewhere', '5Gi', { phase: 'Available', className: 'manual', node: 'node-b' }),
        newVolume('unlabelled', '5Gi', { phase: 'Available', className: 'manual', node: 'node-a' }),
      ],
      claims: [
        newClaim('c1', '5Gi', {
          className: 'manual',
          selector: { matchLabels: { tier: 'db' } },
          annotations: { [ANN_SELECTED_NODE]: 'node-a' },
        }),
      ],
    });
    const events = await eventsOf(world);
    assert.equal(events.length, 1);
    assert.match(
      events[0] ?? '',
      /^Warning ProvisioningFailed: no volume plugin matched name: kubernetes.io\/no-provisioner/,
    );
    assert.match(events[0] ?? '', /unlabelled: labels do not match the claim's selector;/);
    assert.match(
      events[0] ?? '',
      /elsewhere: labels do not match the claim's selector, node affinity excludes node "node-a"\)$/,
    );
  });

  it('a volume bound to another claim says to which', async function () {
    const world = new World({
      volumes: [newVolume('taken', '10Gi', { phase: 'Bound', claim: { name: 'other', uid: 'uid-other' } })],
      claims: [newClaim('c1', '10Gi')],
    });
    assert.match((await eventsOf(world))[0] ?? '', /\(closest: taken: already bound to default\/other\)$/);
  });

  it('no volume at all: the upstream message alone', async function () {
    const world = new World({ claims: [newClaim('c1', '1Gi')] });
    assert.deepEqual(await eventsOf(world), [
      'Normal FailedBinding: no persistent volumes available for this claim and no storage class is set',
    ]);
  });

  it("a missing class: ProvisioningFailed with the API server's not-found wording, phase Pending", async function () {
    const world = new World({ claims: [newClaim('c1', '1Gi', { className: 'later' })] });
    assert.deepEqual(await eventsOf(world), [
      'Warning ProvisioningFailed: storageclass.storage.k8s.io "later" not found',
    ]);
    assert.equal((await world.claim('c1'))?.status?.phase ?? 'Pending', 'Pending');
  });

  it('a node-local class with Immediate binding: a Warning explains it, and provisioning is still handed off', async function () {
    const world = new World({
      classes: [newClass('fast', { provisioner: LOCAL_DRIVER_NAME })],
      claims: [newClaim('c1', '1Gi', { className: 'fast' })],
    });
    const events = await eventsOf(world);
    assert.deepEqual(events, [
      `Warning UnsuitableBindingMode: StorageClass "fast" uses volumeBindingMode Immediate, but ${LOCAL_DRIVER_NAME} makes node-local volumes: the volume is made before any pod is scheduled, on a node the pod may not fit or be allowed on; set volumeBindingMode: WaitForFirstConsumer`,
      `Normal ExternalProvisioning: Waiting for a volume to be created either by the external provisioner '${LOCAL_DRIVER_NAME}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
    ]);
  });

  it('the same node-local class waiting for its first consumer says only that', async function () {
    const world = new World({
      classes: [newClass('fast', { provisioner: LOCAL_DRIVER_NAME, bindingMode: 'WaitForFirstConsumer' })],
      claims: [newClaim('c1', '1Gi', { className: 'fast' })],
    });
    assert.deepEqual(await eventsOf(world), [
      'Normal WaitForFirstConsumer: waiting for first consumer to be created before binding',
    ]);
  });
});
