import assert from 'node:assert/strict';
import { K, kindFor } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import type { PersistentVolume, Pod, VolumeAttachment } from '../../../src/api/types.js';
import { FakeClock } from '../../../src/machinery/clock.js';
import {
  attachmentsByVolume,
  byNamespace,
  claimsByVolume,
  podsByClaim,
  podsByNode,
  volumesByClaim,
  volumesByDriver,
} from '../../../src/machinery/indexes.js';
import { defineIndex } from '../../../src/machinery/indexed-cache.js';
import { keyOf } from '../../../src/machinery/informer.js';
import { ControllerInformers, SharedInformerCache } from '../../../src/machinery/shared-cache.js';
import type { TempStore } from './helpers.js';
import { InterposedStore, tempStore, waitFor } from './helpers.js';

const configMaps = kindFor('v1', 'ConfigMap')!;

function cm(namespace: string, name: string, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name }, data };
}

function pod(name: string, node: string | undefined, volumes: Pod['spec']['volumes']): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'ns', name, uid: `uid-${name}` },
    spec: { containers: [], ...(node ? { nodeName: node } : {}), volumes },
  } as Pod;
}

describe('machinery/shared-cache', () => {
  let t: TempStore;
  let store: InterposedStore;
  let cache: SharedInformerCache;

  beforeEach(async () => {
    t = await tempStore();
    store = new InterposedStore(t.store);
    cache = new SharedInformerCache({ store });
  });
  afterEach(async () => {
    await cache.stop();
    await t.cleanup();
  });

  it('gives every controller the same informer: one list and one watch per kind', async () => {
    await t.store.create(configMaps, cm('ns', 'a'));
    const a = new ControllerInformers({ shared: cache, store });
    const b = new ControllerInformers({ shared: cache, store });
    const ia = a.informer(configMaps, byNamespace);
    const ib = b.informer(configMaps, byNamespace);
    assert.equal(ia, ib);
    await Promise.all([a.sync(), b.sync()]);
    assert.equal(cache.size, 1);
    assert.equal(store.calls['list'], 1);
    assert.equal(store.calls['watch'], 1);
    assert.equal(ia.byIndex(byNamespace, 'ns').length, 1);
  });

  it('an index name means one function: the same definition twice is fine, another one throws', () => {
    const c = new ControllerInformers({ shared: cache, store });
    c.informer(configMaps, byNamespace);
    c.informer(configMaps, byNamespace);
    const impostor = defineIndex<KubeObject>('namespace', () => ['x']);
    assert.throws(() => c.informer(configMaps, impostor), /index "namespace" already exists/);
  });

  it('closing one controller removes only its handlers; the informer keeps serving the others', async () => {
    const a = new ControllerInformers({ shared: cache, store });
    const b = new ControllerInformers({ shared: cache, store });
    const seenA: string[] = [];
    const seenB: string[] = [];
    a.on(a.informer(configMaps), { onAdd: (o) => void seenA.push(keyOf(o)) });
    b.on(b.informer(configMaps), { onAdd: (o) => void seenB.push(keyOf(o)) });
    await Promise.all([a.sync(), b.sync()]);
    await t.store.create(configMaps, cm('ns', 'a'));
    await waitFor(() => seenA.length === 1 && seenB.length === 1, 'both told');
    await a.close();
    await t.store.create(configMaps, cm('ns', 'b'));
    await waitFor(() => seenB.length === 2, 'b told');
    assert.deepEqual(seenA, ['ns/a']);
    assert.equal(cache.informer(configMaps).list().length, 2, 'the shared informer still runs');
  });

  it('a controller without a shared cache gets its own, and stops it on close', async () => {
    const own = new ControllerInformers({ store });
    const informer = own.informer(configMaps);
    await own.sync();
    assert.equal(informer.hasSynced(), true);
    await own.close();
    await t.store.create(configMaps, cm('ns', 'late'));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(informer.list().length, 0, 'stopped: no more events');
  });

  it('resync is per handler: only the controller that asked is re-told, on its own period', async () => {
    const clock = new FakeClock();
    const timed = new SharedInformerCache({ store, clock });
    try {
      await t.store.create(configMaps, cm('ns', 'a'));
      const a = new ControllerInformers({ shared: timed, store });
      const b = new ControllerInformers({ shared: timed, store });
      const resyncs: string[] = [];
      const on = (who: string) => ({
        onUpdate: (old: KubeObject, obj: KubeObject) => {
          if (old === obj) resyncs.push(`${who} ${keyOf(obj)}`);
        },
      });
      a.on(a.informer(configMaps), on('a'), { resyncMs: 1000 });
      b.on(b.informer(configMaps), on('b'));
      await Promise.all([a.sync(), b.sync()]);
      clock.advance(999);
      assert.deepEqual(resyncs, []);
      clock.advance(1);
      assert.deepEqual(resyncs, ['a ns/a']);
      await a.close();
      clock.advance(5000);
      assert.deepEqual(resyncs, ['a ns/a'], 'a closed handler has no timer left');
      assert.equal(clock.pendingTimers(), 0);
    } finally {
      await timed.stop();
    }
  });

  it('a handler that removes itself while being told does not make others miss the event', async () => {
    const informer = cache.informer(configMaps);
    const seen: string[] = [];
    const remove = informer.addHandler({ onAdd: () => remove() });
    informer.addHandler({ onAdd: (o) => void seen.push(keyOf(o)) });
    informer.start();
    await informer.waitForSync();
    await t.store.create(configMaps, cm('ns', 'a'));
    await waitFor(() => seen.length === 1, 'second handler told');
  });

  it('caches objects without managedFields, frozen, from the list and from the watch', async () => {
    const managed = [{ manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {} }];
    const withFields = (name: string, n: string): KubeObject => {
      const obj = cm('ns', name, { n });
      return { ...obj, metadata: { ...obj.metadata, managedFields: managed } };
    };
    await t.store.create(configMaps, withFields('listed', '0'));
    const informers = new ControllerInformers({ shared: cache, store });
    const informer = informers.informer(configMaps);
    await informers.sync();
    await t.store.create(configMaps, withFields('watched', '1'));
    await waitFor(() => informer.get('ns', 'watched') !== undefined);
    for (const name of ['listed', 'watched']) {
      const cached = informer.get('ns', name)!;
      assert.equal(cached.metadata['managedFields'], undefined, name);
      assert.equal(cached.metadata.name, name);
      assert.ok(Object.isFrozen(cached.metadata), name);
    }
    assert.deepEqual((await t.store.get(configMaps, 'ns', 'watched')).metadata['managedFields'], managed);
  });

  it('refuses new informers once stopped', async () => {
    await cache.stop();
    assert.throws(() => cache.informer(configMaps), /stopped/);
  });
});

describe('machinery/indexes', () => {
  it('files pods by node, by claim (generic ephemeral claims too) and nothing for an unscheduled pod', () => {
    const p = pod('web-0', 'node-1', [
      { name: 'data', persistentVolumeClaim: { claimName: 'data-web-0' } },
      { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } },
      { name: 'again', persistentVolumeClaim: { claimName: 'data-web-0' } },
    ]);
    assert.deepEqual(podsByNode.fn(p), ['node-1']);
    assert.deepEqual(podsByClaim.fn(p), ['ns/data-web-0', 'ns/web-0-scratch']);
    assert.deepEqual(podsByNode.fn(pod('pending', undefined, [])), []);
  });

  it('files volumes by claimRef and driver, claims by volume, attachments by volume', () => {
    const pv = {
      metadata: { name: 'pv-1' },
      spec: { claimRef: { namespace: 'ns', name: 'c' }, csi: { driver: 'd.example.com', volumeHandle: 'h' } },
    } as PersistentVolume;
    assert.deepEqual(volumesByClaim.fn(pv), ['ns/c']);
    assert.deepEqual(volumesByDriver.fn(pv), ['d.example.com']);
    assert.deepEqual(volumesByClaim.fn({ metadata: { name: 'free' }, spec: {} } as PersistentVolume), []);
    assert.deepEqual(claimsByVolume.fn({ metadata: { name: 'c' }, spec: { volumeName: 'pv-1' } } as never), [
      'pv-1',
    ]);
    const va = {
      metadata: { name: 'va' },
      spec: { attacher: 'd', nodeName: 'n', source: { persistentVolumeName: 'pv-1' } },
    } as VolumeAttachment;
    assert.deepEqual(attachmentsByVolume.fn(va), ['pv-1']);
    assert.ok(K.pod, 'kinds load');
  });
});
