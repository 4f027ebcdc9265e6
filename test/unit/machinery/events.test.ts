import assert from 'node:assert/strict';
import { StatusError } from '../../../src/api/errors.js';
import { kindFor } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import type { Event } from '../../../src/api/types.js';
import { FakeClock } from '../../../src/machinery/clock.js';
import { EventRecorder } from '../../../src/machinery/events.js';
import type { Logger } from '../../../src/machinery/logger.js';
import type { TempStore } from './helpers.js';
import { InterposedStore, tempStore } from './helpers.js';

const events = kindFor('v1', 'Event')!;
const claim: KubeObject = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { namespace: 'apps', name: 'data-0', uid: 'uid-claim', resourceVersion: '7' },
};
const volume: KubeObject = {
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: 'pv-1', uid: 'uid-pv' },
};

describe('machinery/events (embedded store)', () => {
  let t: TempStore;
  let clock: FakeClock;
  beforeEach(async () => {
    t = await tempStore();
    clock = new FakeClock(Date.UTC(2025, 4, 6, 7, 8, 9, 500));
  });
  afterEach(async () => {
    await t.cleanup();
  });

  async function allEvents(): Promise<Event[]> {
    return (await t.store.list<Event>(events)).items;
  }

  it('writes a core/v1 Event the way Kubernetes does', async () => {
    const rec = new EventRecorder({ store: t.store, component: 'persistentvolume-controller', clock });
    rec.event(claim, 'Warning', 'FailedBinding', 'no persistent volumes available for this claim');
    await rec.flush();
    const [ev, ...rest] = await allEvents();
    assert.equal(rest.length, 0);
    assert.match(ev!.metadata.name!, /^data-0\.[0-9a-f]+$/);
    assert.equal(ev!.metadata.name, `data-0.${(BigInt(clock.now().getTime()) * 1_000_000n).toString(16)}`);
    assert.equal(ev!.metadata.namespace, 'apps');
    assert.deepEqual(ev!.involvedObject, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace: 'apps',
      name: 'data-0',
      uid: 'uid-claim',
      resourceVersion: '7',
    });
    assert.equal(ev!.type, 'Warning');
    assert.equal(ev!.reason, 'FailedBinding');
    assert.equal(ev!.message, 'no persistent volumes available for this claim');
    assert.deepEqual(ev!.source, { component: 'persistentvolume-controller' });
    assert.equal(ev!.firstTimestamp, '2025-05-06T07:08:09Z');
    assert.equal(ev!.lastTimestamp, '2025-05-06T07:08:09Z');
    assert.equal(ev!.count, 1);
  });

  it('puts events about cluster-scoped objects in "default", with source.host when given', async () => {
    const rec = new EventRecorder({ store: t.store, component: 'berth-node', host: 'node-a', clock });
    rec.event(volume, 'Normal', 'VolumeRecycled', 'done');
    await rec.flush();
    const [ev] = await allEvents();
    assert.equal(ev!.metadata.namespace, 'default');
    assert.equal(ev!.involvedObject.namespace, undefined);
    assert.deepEqual(ev!.source, { component: 'berth-node', host: 'node-a' });
  });

  it('folds repeats within 10 minutes into one Event with a count; other messages get their own', async () => {
    const rec = new EventRecorder({ store: t.store, component: 'c', clock });
    rec.event(claim, 'Warning', 'FailedBinding', 'm1');
    rec.event(claim, 'Warning', 'FailedBinding', 'm1');
    clock.advance(5 * 60_000);
    rec.event(claim, 'Warning', 'FailedBinding', 'm1');
    rec.event(claim, 'Warning', 'FailedBinding', 'other message');
    rec.event(claim, 'Normal', 'FailedBinding', 'm1');
    await rec.flush();
    const all = await allEvents();
    assert.equal(all.length, 3);
    const folded = all.find((e) => e.message === 'm1' && e.type === 'Warning')!;
    assert.equal(folded.count, 3);
    assert.equal(folded.firstTimestamp, '2025-05-06T07:08:09Z');
    assert.equal(folded.lastTimestamp, '2025-05-06T07:13:09Z');
    assert.equal(new Set(all.map((e) => e.metadata.name)).size, 3, 'names are unique even in the same ms');
  });

  it('starts a new Event after the window, or when the old one was deleted', async () => {
    const rec = new EventRecorder({ store: t.store, component: 'c', clock });
    rec.event(claim, 'Warning', 'R', 'm');
    await rec.flush();
    clock.advance(10 * 60_000 + 1);
    rec.event(claim, 'Warning', 'R', 'm');
    await rec.flush();
    assert.equal((await allEvents()).length, 2);

    for (const e of await allEvents()) await t.store.delete(events, e.metadata.namespace, e.metadata.name!);
    rec.event(claim, 'Warning', 'R', 'm');
    await rec.flush();
    const after = await allEvents();
    assert.equal(after.length, 1);
    assert.equal(after[0]!.count, 1);
  });

  it('never throws when the store fails; the failure is logged', async () => {
    const errors: string[] = [];
    const log: Logger = {
      debug() {},
      info() {},
      warn() {},
      error: (msg) => void errors.push(msg),
      child: () => log,
    };
    const store = new InterposedStore(t.store);
    store.failing.set('create', new StatusError(503, 'ServiceUnavailable', 'down'));
    const rec = new EventRecorder({ store, component: 'c', clock, logger: log });
    rec.event(claim, 'Warning', 'R', 'm');
    await rec.flush();
    assert.deepEqual(errors, ['could not record event']);
    store.failing.clear();
    rec.event(claim, 'Warning', 'R', 'm');
    await rec.flush();
    assert.equal((await allEvents()).length, 1, 'the recorder keeps working');
  });
});
