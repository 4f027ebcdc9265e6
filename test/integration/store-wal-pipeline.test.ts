// The embedded store's log with two batches in flight: a batch formed while another's fdatasync
// runs starts its own at once, is acknowledged only after the one before it, and fails with it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatusError } from '../../src/api/errors.js';
import { kinds } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { nodeStoreFs, type StoreFs } from '../../src/store/store-fs.js';
import { eventually } from '../helpers/eventually.js';

const configMaps = kinds.find((k) => k.kind === 'ConfigMap')!;

function configMap(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns' }, data: { name } };
}

interface HeldSync {
  release(): void;
  fail(): void;
}

/** A StoreFs whose log fdatasyncs wait, while `holding`, until the test releases or fails them. */
function heldSyncs(): { fs: StoreFs; held: HeldSync[]; hold(on: boolean): void } {
  const held: HeldSync[] = [];
  let holding = false;
  const fs: StoreFs = {
    async open(path, flags, mode) {
      const handle = await nodeStoreFs.open(path, flags, mode);
      if (!path.endsWith('.log')) return handle;
      return new Proxy(handle, {
        get(target, prop: keyof FileHandle) {
          if (prop === 'datasync' && holding) {
            return () =>
              new Promise<void>((resolve, reject) => {
                held.push({
                  release: () => void target.datasync().then(resolve, reject),
                  fail: () => reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })),
                });
              });
          }
          const value = target[prop];
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  };
  return { fs, held, hold: (on) => (holding = on) };
}

/** [name, resourceVersion] of every ConfigMap a reopened store holds. */
async function storedAfterReopen(dataDir: string): Promise<Array<[string | undefined, string | undefined]>> {
  const reopened = await openEmbeddedStore({ dataDir });
  try {
    return (await reopened.list(configMaps)).items.map((o) => [o.metadata.name, o.metadata.resourceVersion]);
  } finally {
    await reopened.close();
  }
}

describe('embedded store log: batches in flight side by side', function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'berth-wal-pipeline-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a second batch while the first syncs, and acknowledges it only after the first', async function () {
    const { fs, held, hold } = heldSyncs();
    const store = await openEmbeddedStore({ dataDir: dir, fs });
    try {
      hold(true);
      const answered: string[] = [];
      const first = store.create(configMaps, configMap('first')).then(() => answered.push('first'));
      await eventually('the first fdatasync', async () => held.length === 1);
      const second = store.create(configMaps, configMap('second')).then(() => answered.push('second'));
      await eventually('the second batch syncing beside the first', async () => held.length === 2);
      held[1]!.release();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(answered, [], 'the second batch waits for the first');
      await assert.rejects(store.get(configMaps, 'ns', 'second'), (err) => isStatusError(err, 'NotFound'));
      held[0]!.release();
      await Promise.all([first, second]);
      assert.deepEqual(answered, ['first', 'second']);
      assert.equal((await store.get(configMaps, 'ns', 'second')).metadata.resourceVersion, '2');
      hold(false);
    } finally {
      await store.close();
    }
    assert.deepEqual(await storedAfterReopen(dir), [
      ['first', '1'],
      ['second', '2'],
    ]);
  });

  it('fails the batch written after a failed one, hands its revisions out again, and keeps neither', async function () {
    const { fs, held, hold } = heldSyncs();
    const store = await openEmbeddedStore({ dataDir: dir, fs });
    try {
      await store.create(configMaps, configMap('before'));
      hold(true);
      const first = store.create(configMaps, configMap('lost-1'));
      await eventually('the first fdatasync', async () => held.length === 1);
      const second = store.create(configMaps, configMap('lost-2'));
      await eventually('the second batch syncing beside the first', async () => held.length === 2);
      held[1]!.release(); // its own sync succeeds: it still fails with the first
      held[0]!.fail();
      for (const write of [first, second]) {
        await assert.rejects(
          write,
          (err: unknown) => isStatusError(err, 'InternalError') && /EIO/.test(err.message),
        );
      }
      hold(false);
      const after = await store.create(configMaps, configMap('after'));
      assert.equal(after.metadata.resourceVersion, '2', 'the failed revisions are handed out again');
      assert.equal(store.stats().failedWriteBatches, 1);
      for (const name of ['lost-1', 'lost-2']) {
        await assert.rejects(store.get(configMaps, 'ns', name), (err) => isStatusError(err, 'NotFound'));
      }
    } finally {
      await store.close();
    }
    assert.deepEqual(await storedAfterReopen(dir), [
      ['after', '2'],
      ['before', '1'],
    ]);
  });

  it('keeps every acknowledged write of many concurrent writers, in revision order, across a reopen', async function () {
    const store = await openEmbeddedStore({ dataDir: dir, compactEvery: 150 });
    const acknowledged = new Map<string, string>();
    try {
      await Promise.all(
        Array.from({ length: 20 }, async (_, w) => {
          for (let i = 0; i < 20; i++) {
            const created = await store.create(configMaps, configMap(`w${w}-${i}`));
            acknowledged.set(created.metadata.name!, created.metadata.resourceVersion!);
          }
        }),
      );
      assert.ok(store.stats().compactions >= 1, 'compaction ran between batches');
    } finally {
      await store.close();
    }
    const reopened = await openEmbeddedStore({ dataDir: dir });
    try {
      const items = (await reopened.list(configMaps)).items;
      assert.equal(items.length, 400);
      for (const o of items) assert.equal(o.metadata.resourceVersion, acknowledged.get(o.metadata.name!));
      assert.deepEqual(
        [...acknowledged.values()].map(Number).sort((a, b) => a - b),
        Array.from({ length: 400 }, (_, i) => i + 1),
      );
    } finally {
      await reopened.close();
    }
  });
});
