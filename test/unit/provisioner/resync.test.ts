// The provisioner's periodic resync over a settled world: after one pass found every claim and
// volume settled, passes are skipped until something its decisions read changes. A node's status
// post (its heartbeat) is not such a change; in node-deployment mode its own node's labels are.
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/machinery/clock.js';
import { SharedInformerCache } from '../../../src/machinery/shared-cache.js';
import { newClaim, newClass } from '../../helpers/builders.js';
import { DRIVER, K, World } from './harness.js';

const RESYNC_MS = 1000;

describe('provisioner: resync passes over a settled world', function () {
  let world: World;
  let shared: SharedInformerCache | undefined;

  beforeEach(async function () {
    world = await new World().start();
    await world.stopControllers();
    await world.create(K.storageClass, newClass('fast', { provisioner: DRIVER }));
    for (const name of ['a', 'b', 'c'])
      await world.create(K.claim, newClaim(name, '1Gi', { className: 'fast', volumeName: `pv-${name}` }));
    await world.create(K.node, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', labels: { zone: 'a' } },
      spec: {},
    });
  });
  afterEach(async function () {
    await world.stop();
    await shared?.stop();
  });

  /** Starts a provisioner on a fake clock; counts the claims its resync passes decide about. */
  async function start(nodeName?: string): Promise<{ pass: () => Promise<number> }> {
    const clock = new FakeClock();
    shared = new SharedInformerCache({ store: world.store, clock });
    // every claim decision looks its class up: count the lookups
    const classes = shared.informer(K.storageClass);
    const get = classes.get.bind(classes);
    let lookups = 0;
    classes.get = (namespace, name) => {
      lookups++;
      return get(namespace, name);
    };
    await world.startProvisioner({
      clock,
      resyncMs: RESYNC_MS,
      informers: shared,
      ...(nodeName ? { nodeName } : {}),
    });
    const pass = async (): Promise<number> => {
      await world.provisioner!.whenIdle();
      lookups = 0;
      await clock.advanceAsync(RESYNC_MS);
      return lookups;
    };
    assert.equal(await pass(), 3, 'the first pass decides about every claim');
    assert.equal(await pass(), 0, 'nothing changed since a pass that found all settled');
    return { pass };
  }

  /** Makes a change and waits until the shared informer of its kind has seen it. */
  async function change(kind: typeof K.node, write: () => Promise<unknown>): Promise<void> {
    const informer = shared!.informer(kind);
    const before = informer.changes;
    await write();
    while (informer.changes === before) await new Promise((r) => setTimeout(r, 5));
  }
  const changeNode = (patch: Record<string, unknown>, subresource?: 'status') =>
    change(K.node, () =>
      world.store.patch(K.node, undefined, 'n1', patch, subresource ? { subresource } : {}),
    );

  const statusPost = { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] } };

  it("a node's status post or label change starts no pass in controller mode", async function () {
    const { pass } = await start();
    await changeNode(statusPost, 'status');
    assert.equal(await pass(), 0, 'status post');
    await changeNode({ metadata: { labels: { zone: 'b' } } });
    assert.equal(await pass(), 0, 'the decisions read no node in controller mode');
  });

  it("in node-deployment mode, its own node's labels start a pass; its status does not", async function () {
    const { pass } = await start('n1');
    await changeNode(statusPost, 'status');
    assert.equal(await pass(), 0, 'status post');
    await changeNode({ metadata: { labels: { zone: 'b' } } });
    assert.equal(await pass(), 3, 'its labels decide which volumes are its own');
    assert.equal(await pass(), 0);
  });

  it('a claim change starts a pass again', async function () {
    const { pass } = await start();
    await change(K.claim, () =>
      world.store.patch(K.claim, 'default', 'a', { metadata: { labels: { x: '1' } } }),
    );
    assert.equal(await pass(), 3);
    assert.equal(await pass(), 0, 'and once settled again, none after it');
  });
});
