// A refused write answers only once the version that refused it is durable, so a caller that
// re-reads after a Conflict sees the newer object (a read-modify-write loop cannot spin).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { K } from '../../src/api/kinds.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';

describe('embedded store: conflicts and durability', function () {
  let dir: string;
  let store: EmbeddedStore;
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-conflict-'));
    store = await openEmbeddedStore({ dataDir: dir });
  });
  afterEach(async function () {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('after a Conflict, a get returns the version that won', async function () {
    await store.create(K.namespace, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'a' },
    });
    for (let round = 0; round < 20; round++) {
      const base = await store.get(K.namespace, undefined, 'a');
      const winner = store.update(K.namespace, {
        ...base,
        metadata: { ...base.metadata, labels: { round: `${round}` } },
      });
      const loser = store.update(K.namespace, {
        ...base,
        metadata: { ...base.metadata, labels: { lost: 'yes' } },
      });
      // read straight after the refusal, before anything else settles
      const seenAfterRefusal = loser.then(
        () => assert.fail('the second update must conflict'),
        async (err: unknown) => {
          assert.ok(isStatusError(err, 'Conflict'));
          return store.get(K.namespace, undefined, 'a');
        },
      );
      const [won, seen] = await Promise.all([winner, seenAfterRefusal]);
      assert.equal(seen.metadata.resourceVersion, won.metadata.resourceVersion);
    }
  });
});
