// The seed scenarios end to end: an embedded store in a temp dir, the PV controller running
// against it (informers, queues, real writes), objects created the way `berth apply` would.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { KindInfo } from '../../src/api/kinds.js';
import { kindFor } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Event, PersistentVolume, PersistentVolumeClaim } from '../../src/api/types.js';
import { FINALIZER_PVC_PROTECTION } from '../../src/volume/annotations.js';
import { PvController } from '../../src/pv-controller/controller.js';
import type { EmbeddedStore } from '../../src/store/embedded.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { newClaim, newClass, newPod, newVolume } from '../helpers/builders.js';

function kind(apiVersion: string, name: string): KindInfo {
  const info = kindFor(apiVersion, name);
  if (!info) throw new Error(name);
  return info;
}
const PV = kind('v1', 'PersistentVolume');
const PVC = kind('v1', 'PersistentVolumeClaim');
const SC = kind('storage.k8s.io/v1', 'StorageClass');
const POD = kind('v1', 'Pod');
const EVENT = kind('v1', 'Event');

/** Polls until `check` returns a value (not undefined), or fails after `ms`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('pv-controller end to end (embedded store)', function () {
  let dir: string;
  let store: EmbeddedStore;
  let controller: PvController;

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'berth-pvc-'));
    store = await openEmbeddedStore({ dataDir: dir });
    controller = new PvController({ store, resyncMs: 200 });
    await controller.start();
  });

  afterEach(async function () {
    await controller.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const create = <T extends KubeObject>(k: KindInfo, obj: T): Promise<T> => store.create(k, obj);
  const claim = (name: string) =>
    store.get<PersistentVolumeClaim>(PVC, 'default', name).catch(() => undefined);
  const volume = (name: string) => store.get<PersistentVolume>(PV, undefined, name).catch(() => undefined);
  const boundTo = async (name: string): Promise<string | undefined> => {
    const c = await claim(name);
    return c?.status?.phase === 'Bound' ? c.spec.volumeName : undefined;
  };
  const events = async (): Promise<Event[]> => (await store.list<Event>(EVENT)).items;

  it('the 2/7/10 GB example binds the 7 GB volume to a 6Gi claim', async function () {
    for (const [name, size] of [
      ['pv-2g', '2G'],
      ['pv-7g', '7G'],
      ['pv-10g', '10G'],
    ] as const) {
      await create(PV, newVolume(name, size));
    }
    await create(PVC, newClaim('data', '6Gi'));
    assert.equal(await eventually('bind', () => boundTo('data')), 'pv-7g');
    const v = await eventually('volume Bound', async () => {
      const pv = await volume('pv-7g');
      return pv?.status?.phase === 'Bound' ? pv : undefined;
    });
    assert.equal(v.spec.claimRef?.name, 'data');
    assert.equal((await volume('pv-2g'))?.status?.phase, 'Available');
  });

  it('a claim stays Pending until a large enough volume appears, then binds by itself', async function () {
    await create(PV, newVolume('small', '1Gi'));
    await create(PVC, newClaim('big', '5Gi'));
    const failed = await eventually('FailedBinding', async () =>
      (await events()).find((e) => e.reason === 'FailedBinding' && e.involvedObject.name === 'big'),
    );
    // Kubernetes' message, then the closest candidate and why it was rejected
    assert.match(
      failed.message ?? '',
      /^no persistent volumes available for this claim and no storage class is set \(closest: small: .*capacity 1Gi < requested 5Gi\)$/,
    );
    assert.equal((await claim('big'))?.status?.phase ?? 'Pending', 'Pending');
    await create(PV, newVolume('large', '8Gi'));
    assert.equal(await eventually('bind', () => boundTo('big')), 'large');
  });

  it('a Released volume is not rebound to a new claim of the same name', async function () {
    await create(PV, newVolume('keep', '1Gi', { policy: 'Retain' }));
    await create(PVC, newClaim('app', '1Gi'));
    await eventually('bind', () => boundTo('app'));
    await store.delete(PVC, 'default', 'app');
    await eventually('Released', async () =>
      (await volume('keep'))?.status?.phase === 'Released' ? true : undefined,
    );
    await eventually('old claim gone', async () => ((await claim('app')) ? undefined : true));
    await create(PVC, newClaim('app', '1Gi'));
    // Several resync periods pass; the new claim must stay Pending.
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await claim('app'))?.status?.phase ?? 'Pending', 'Pending');
    assert.equal((await volume('keep'))?.status?.phase, 'Released');
  });

  it('a class-less claim never takes a classed volume', async function () {
    await create(SC, newClass('gold'));
    await create(PV, newVolume('gold-pv', '10Gi', { className: 'gold' }));
    await create(PVC, newClaim('plain', '1Gi'));
    await eventually('FailedBinding', async () =>
      (await events()).find((e) => e.reason === 'FailedBinding' && e.involvedObject.name === 'plain'),
    );
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await volume('gold-pv'))?.spec.claimRef, undefined);
    await create(PVC, newClaim('golden', '1Gi', { className: 'gold' }));
    assert.equal(await eventually('bind', () => boundTo('golden')), 'gold-pv');
  });

  it('hands a CSI class claim to its provisioner and binds the volume it creates', async function () {
    await create(SC, newClass('fast', { provisioner: 'local.csi.berth.dev' }));
    const pvc = await create(PVC, newClaim('db', '2Gi', { className: 'fast' }));
    const annotated = await eventually('provisioner annotation', async () => {
      const c = await claim('db');
      return c?.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'];
    });
    assert.equal(annotated, 'local.csi.berth.dev');
    await create(
      PV,
      newVolume(`pvc-${pvc.metadata.uid ?? ''}`, '2Gi', {
        source: 'csi',
        className: 'fast',
        policy: 'Delete',
        claim: { name: 'db', ...(pvc.metadata.uid ? { uid: pvc.metadata.uid } : {}) },
        annotations: { 'pv.kubernetes.io/provisioned-by': 'local.csi.berth.dev' },
      }),
    );
    assert.equal(await eventually('bind', () => boundTo('db')), `pvc-${pvc.metadata.uid ?? ''}`);
  });

  it('keeps a deleted claim while a running pod uses it, then lets it go', async function () {
    await create(PV, newVolume('v', '1Gi'));
    await create(PVC, newClaim('used', '1Gi'));
    await eventually('bind', () => boundTo('used'));
    assert.deepEqual((await claim('used'))?.metadata.finalizers, [FINALIZER_PVC_PROTECTION]);
    const pod = await create(POD, newPod('web', ['used'], { nodeName: 'node-a', phase: 'Running' }));
    await store.delete(PVC, 'default', 'used');
    await new Promise((r) => setTimeout(r, 400));
    assert.ok((await claim('used'))?.metadata.deletionTimestamp, 'still there, being deleted');
    await store.delete(POD, 'default', pod.metadata.name ?? '');
    await eventually('claim gone', async () => ((await claim('used')) ? undefined : true));
    await eventually('volume Released', async () =>
      (await volume('v'))?.status?.phase === 'Released' ? true : undefined,
    );
  });

  it('an idle cluster is not written to by resyncs', async function () {
    await create(PV, newVolume('v', '1Gi'));
    await create(PVC, newClaim('c', '1Gi'));
    await create(PVC, newClaim('waiting', '50Gi'));
    await eventually('bind', () => boundTo('c'));
    await new Promise((r) => setTimeout(r, 500));
    await controller.whenIdle();
    const before = await store.currentRevision();
    await new Promise((r) => setTimeout(r, 700)); // three resync periods
    await controller.whenIdle();
    assert.equal(await store.currentRevision(), before);
  });
});
