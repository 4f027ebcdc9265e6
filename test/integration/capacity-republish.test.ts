// The provisioner's published CSIStorageCapacity objects are watched (in its own namespace only,
// as its namespaced Role allows): one deleted or edited by hand is put back at once, not at the
// next poll, with the same content; a CSIStorageCapacity this provisioner does not manage is left
// alone. Real embedded store, the mock CSI driver over a unix socket.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { CSIStorageCapacity } from '../../src/api/types.js';
import { CsiClient } from '../../src/csi/client.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { CapacityPublisher } from '../../src/provisioner/capacity.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import type { ObjectStore } from '../../src/store/types.js';
import { newClass } from '../helpers/builders.js';
import { eventuallyWithin } from '../helpers/eventually.js';
import { startMockDriver, type StartedMockDriver } from '../mock-driver/driver.js';

const DRIVER = 'mock.csi.berth.io';
const NAMESPACE = 'berth-system';
// far beyond the test: anything put back was put back by the watch, not by the poll
const POLL_MS = 10 * 60_000;
const eventually = eventuallyWithin(20_000, 50);

/** What a user reads in an object: everything but its identity and bookkeeping. */
function content(c: CSIStorageCapacity): unknown {
  return {
    namespace: c.metadata.namespace,
    labels: c.metadata.labels,
    owners: c.metadata.ownerReferences,
    storageClassName: c.storageClassName,
    nodeTopology: c.nodeTopology,
    capacity: c.capacity,
    maximumVolumeSize: c.maximumVolumeSize,
  };
}

/** The store, noting the namespace of every list and watch of CSIStorageCapacity. */
function noteCapacityReads(inner: ObjectStore, namespaces: (string | undefined)[]): ObjectStore {
  return {
    ...inner,
    get: (kind, ns, name) => inner.get(kind, ns, name),
    create: (kind, obj) => inner.create(kind, obj),
    update: (kind, obj, options) => inner.update(kind, obj, options),
    patch: (kind, ns, name, p, options) => inner.patch(kind, ns, name, p, options),
    delete: (kind, ns, name, options) => inner.delete(kind, ns, name, options),
    currentRevision: () => inner.currentRevision(),
    close: () => inner.close(),
    list: (kind, options) => {
      if (kind === K.csicapacity) namespaces.push(options?.namespace);
      return inner.list(kind, options);
    },
    watch: (kind, options, onEvent) => {
      if (kind === K.csicapacity) namespaces.push(options.namespace);
      return inner.watch(kind, options, onEvent);
    },
  };
}

describe('capacity publishing: objects deleted or edited by hand come back at once', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EmbeddedStore;
  let mock: StartedMockDriver;
  let csi: CsiClient;
  let publisher: CapacityPublisher;
  const namespaces: (string | undefined)[] = [];

  const ours = async (): Promise<CSIStorageCapacity[]> =>
    (await store.list<CSIStorageCapacity>(K.csicapacity, { namespace: NAMESPACE })).items.filter(
      (c) => c.metadata.labels?.['csi.storage.k8s.io/drivername'] === DRIVER,
    );

  /** Deletes this provisioner's one object by hand and waits for the one published in its place. */
  const deleteAndWaitForAnother = async (): Promise<[CSIStorageCapacity, CSIStorageCapacity]> => {
    const [deleted] = await ours();
    await store.delete(K.csicapacity, NAMESPACE, deleted!.metadata.name ?? '');
    const [again] = await eventually('published again', async () => {
      const items = await ours();
      return items.length === 1 && items[0]!.metadata.name !== deleted!.metadata.name ? items : undefined;
    });
    await publisher.whenIdle();
    return [deleted!, again!];
  };

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-capacity-republish-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'data') });
    mock = await startMockDriver({
      socketPath: join(dir, 'csi.sock'),
      name: DRIVER,
      capacityBytes: 10n << 30n,
      maxVolumeSizeBytes: 4n << 30n,
    });
    csi = new CsiClient(mock.endpoint, {});
    await store.create(K.sc, newClass('fast', { provisioner: DRIVER }));
    publisher = new CapacityPublisher({
      store: noteCapacityReads(store, namespaces),
      csi,
      driverName: DRIVER,
      namespace: NAMESPACE,
      pollIntervalMs: POLL_MS,
      log: silentLogger,
    });
    await publisher.start();
  });
  after(async function () {
    await publisher?.stop();
    csi?.close();
    await mock?.shutdown();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a deleted object is published again with the same content', async function () {
    await eventually('the class capacity published', async () => (await ours()).length === 1);
    const [published, again] = await deleteAndWaitForAnother();
    assert.deepEqual(content(again), content(published));
    assert.equal(again.capacity, '10Gi');
  });

  it('an object edited by hand is put back', async function () {
    const [current] = await ours();
    await store.update(K.csicapacity, { ...current!, capacity: '1Ki' });
    const restored = await eventually('the capacity put back', async () => {
      const items = await ours();
      return items.length === 1 && items[0]!.capacity === current!.capacity ? items[0] : undefined;
    });
    assert.equal(restored.metadata.name, current!.metadata.name, 'the same object, updated');
    assert.deepEqual(content(restored), content(current!));
  });

  it('a CSIStorageCapacity it does not manage is left alone: not withdrawn, not changed, not put back', async function () {
    const foreign = await store.create<CSIStorageCapacity>(K.csicapacity, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIStorageCapacity',
      metadata: {
        name: 'someone-elses',
        namespace: NAMESPACE,
        labels: { 'csi.storage.k8s.io/drivername': 'other.csi.example.com' },
      },
      storageClassName: 'fast',
      capacity: '1Gi',
    });
    // a sync runs (its own object deleted) while the foreign one is there
    await deleteAndWaitForAnother();
    const kept = await store.get<CSIStorageCapacity>(K.csicapacity, NAMESPACE, 'someone-elses');
    assert.equal(kept.metadata.resourceVersion, foreign.metadata.resourceVersion);
    // deleted, it stays deleted: the same sync again does not make it
    await store.delete(K.csicapacity, NAMESPACE, 'someone-elses');
    await deleteAndWaitForAnother();
    await assert.rejects(store.get(K.csicapacity, NAMESPACE, 'someone-elses'), /not found/);
  });

  it('lists and watches CSIStorageCapacity in its own namespace only', function () {
    assert.ok(namespaces.length >= 2, 'at least a list and a watch');
    assert.deepEqual([...new Set(namespaces)], [NAMESPACE]);
  });
});
