// Paged lists with the next page serialised ahead: the bytes are always those of a fresh read.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindFor } from '../../../src/api/kinds.js';
import {
  defaultListPagesLimits,
  encodeJson,
  listBody,
  ListPages,
  type ListBody,
} from '../../../src/apiserver/list-pages.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../../src/store/embedded.js';
import type { ListOptions, ObjectStore } from '../../../src/store/types.js';

const configMaps = kindFor('v1', 'ConfigMap')!;
const secrets = kindFor('v1', 'Secret')!;

function configMap(name: string, value = 'v') {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { value } };
}

/** The next turns of the event loop, in which a page is prepared. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('ListPages', function () {
  let dir: string;
  let store: EmbeddedStore;
  let pages: ListPages;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-list-pages-'));
    store = await openEmbeddedStore({ dataDir: join(dir, 'store') });
    for (let i = 0; i < 7; i++) await store.create(configMaps, configMap(`cm${i}`));
    pages = new ListPages();
  });
  afterEach(async function () {
    pages.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** What a direct answer of the same page would send now. */
  async function direct(options: ListOptions): Promise<Buffer> {
    return encodeJson(listBody(configMaps, await store.list(configMaps, options)));
  }

  async function page(options: ListOptions): Promise<{ body: ListBody; encoded: Buffer }> {
    const answer = await pages.list(store, configMaps, options);
    assert.deepEqual(answer.encoded, await direct(options), 'the bytes of a fresh read');
    assert.deepEqual(JSON.parse(answer.encoded.toString()), JSON.parse(JSON.stringify(answer.body)));
    return answer;
  }

  it('answers each later page from the page it prepared, with the bytes of a fresh read', async function () {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const { body } = await page({ limit: 3, ...(token ? { continue: token } : {}) });
      names.push(...body.items.map((item) => item.metadata.name!));
      token = body.metadata.continue;
      await settle();
    } while (token);
    assert.deepEqual(names, ['cm0', 'cm1', 'cm2', 'cm3', 'cm4', 'cm5', 'cm6']);
    assert.deepEqual(pages.stats(), { prepared: 2, used: 2, stale: 0, held: 0, heldBytes: 0 });
  });

  it('answers a fresh read when the prepared page was asked for before it was ready', async function () {
    const first = await page({ limit: 3 });
    // no settle: the request comes before the prepared page is made
    const second = await page({ limit: 3, continue: first.body.metadata.continue! });
    assert.deepEqual(
      second.body.items.map((item) => item.metadata.name),
      ['cm3', 'cm4', 'cm5'],
    );
    assert.equal(pages.stats().used, 1, 'it waits for the page being prepared');
  });

  it('answers what changed between pages: an update, a delete, a create', async function () {
    const first = await page({ limit: 3 });
    const token = first.body.metadata.continue!;
    await settle();
    assert.equal(pages.stats().held, 1);
    const cm4 = await store.get(configMaps, 'default', 'cm4');
    await store.update(configMaps, { ...cm4, data: { value: 'changed' } });
    const updated = await page({ limit: 3, continue: token });
    assert.deepEqual(updated.body.items[1]!['data'], { value: 'changed' });
    assert.equal(pages.stats().stale, 1);

    await settle();
    await store.delete(configMaps, 'default', 'cm6');
    await store.create(configMaps, configMap('cm7'));
    const last = await page({ limit: 3, continue: updated.body.metadata.continue! });
    assert.deepEqual(
      last.body.items.map((item) => item.metadata.name),
      ['cm7'],
    );
    assert.equal(pages.stats().stale, 2);
  });

  it('sends a prepared page without reading it again while nothing was written, and reads again after any write', async function () {
    let reads = 0;
    let revisionFails = false;
    const counting: ObjectStore = Object.create(store) as ObjectStore;
    counting.list = (kind, options) => {
      reads++;
      return store.list(kind, options);
    };
    counting.currentRevision = () =>
      revisionFails ? Promise.reject(new Error('store closed')) : store.currentRevision();
    const first = await pages.list(counting, configMaps, { limit: 2 });
    await settle();
    assert.equal(reads, 2, 'the first page, and the second prepared');
    const second = await pages.list(counting, configMaps, {
      limit: 2,
      continue: first.body.metadata.continue!,
    });
    assert.equal(reads, 2, 'the second page was sent as prepared');
    assert.deepEqual(second.encoded, await direct({ limit: 2, continue: first.body.metadata.continue! }));
    await settle();
    // a write elsewhere (another kind) changes the revision: the page is read again and still sent as prepared
    await store.create(secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'default' },
    });
    const third = await pages.list(counting, configMaps, {
      limit: 2,
      continue: second.body.metadata.continue!,
    });
    assert.equal(reads, 4, 'the third page prepared, then read again');
    assert.deepEqual(third.encoded, await direct({ limit: 2, continue: second.body.metadata.continue! }));
    assert.deepEqual(pages.stats().used, 2);
    await settle();
    // a store that cannot tell its revision: each prepared page is read again
    revisionFails = true;
    assert.equal(reads, 5, 'the fourth page prepared');
    const fourth = await pages.list(counting, configMaps, {
      limit: 2,
      continue: third.body.metadata.continue!,
    });
    assert.equal(reads, 6);
    assert.deepEqual(
      fourth.body.items.map((item) => item.metadata.name),
      ['cm6'],
    );
    assert.equal(pages.stats().stale, 0);
  });

  it('prepares nothing for a list without a limit, a huge limit, or the last page', async function () {
    await page({});
    await page({ limit: 100_000 });
    await page({ limit: 7 });
    await settle();
    assert.equal(pages.stats().held, 0);
    assert.equal(pages.stats().prepared, 0);
  });

  it('holds at most its limits of pages and bytes', async function () {
    pages.close();
    pages = new ListPages({ ...defaultListPagesLimits, pages: 2 });
    for (const limit of [1, 2, 3]) await page({ limit });
    await settle();
    assert.equal(pages.stats().held, 2);

    pages.close();
    pages = new ListPages({ ...defaultListPagesLimits, bytes: 100 });
    await page({ limit: 2 });
    await settle();
    assert.deepEqual(pages.stats(), { prepared: 0, used: 0, stale: 0, held: 0, heldBytes: 0 });
  });

  it('drops a prepared page nobody asks for after a while', async function () {
    pages.close();
    pages = new ListPages({ ...defaultListPagesLimits, idleMs: 30 });
    await page({ limit: 2 });
    await settle();
    assert.equal(pages.stats().held, 1);
    assert.ok(pages.stats().heldBytes > 0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(pages.stats().held, 0);
    assert.equal(pages.stats().heldBytes, 0);
  });

  it('keeps the errors of bad or expired continue tokens', async function () {
    await assert.rejects(pages.list(store, configMaps, { limit: 2, continue: 'nope' }), (err: Error) =>
      /continue key is not valid/.test(err.message),
    );
    // a token of a revision older than the store can resume: 410
    const small = await openEmbeddedStore({ dataDir: join(dir, 'small'), historyLimit: 2 });
    try {
      for (let i = 0; i < 3; i++) await small.create(configMaps, configMap(`s${i}`));
      const first = await pages.list(small, configMaps, { limit: 1 });
      for (let i = 3; i < 10; i++) await small.create(configMaps, configMap(`s${i}`));
      await settle();
      await assert.rejects(
        pages.list(small, configMaps, { limit: 1, continue: first.body.metadata.continue! }),
        (err: Error & { code?: number }) => err.code === 410,
      );
    } finally {
      await small.close();
    }
  });
});

describe('encodeJson of a list', function () {
  const body = (items: unknown[]): ListBody => ({
    kind: 'ConfigMapList',
    apiVersion: 'v1',
    metadata: { resourceVersion: '42', continue: 'token' },
    items: items as ListBody['items'],
  });
  const expected = (list: ListBody) => Buffer.from(`${JSON.stringify(list)}\n`);

  it('writes the bytes of the whole body serialised at once, for any number and size of items', function () {
    const sizes = [0, 1, 2, 15, 16, 17, 100, 500, 1500];
    for (const count of sizes) {
      const items = Array.from({ length: count }, (_, i) => configMap(`cm${i}`, 'x'.repeat((i * 37) % 900)));
      assert.ok(encodeJson(body(items)).equals(expected(body(items))), `${count} items`);
    }
  });

  it('keeps items larger than a run, mixed with small ones, whole and in order', function () {
    const huge = configMap('huge', 'y'.repeat(300 * 1024));
    const items = [
      configMap('a'),
      huge,
      configMap('b'),
      huge,
      ...Array.from({ length: 40 }, (_, i) => configMap(`c${i}`)),
    ];
    const encoded = encodeJson(body(items));
    assert.ok(encoded.equals(expected(body(items))));
    assert.deepEqual(
      (JSON.parse(encoded.toString()) as ListBody).items.map((item) => item.metadata.name),
      items.map((item) => item.metadata.name),
    );
  });

  it('encodes text beyond ASCII and escapes as JSON.stringify does', function () {
    const items = [
      configMap('unicode', 'zażółć gęślą jaźń ✓ 🚀 \u2028 \u0000 "quoted" \\ \n'),
      configMap('lone-surrogate', '\ud800 and \udfff'),
    ];
    assert.ok(encodeJson(body(items)).equals(expected(body(items))));
  });

  it('writes a list without a continue token or items as a plain body', function () {
    const list: ListBody = {
      kind: 'ConfigMapList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '7' },
      items: [],
    };
    assert.equal(
      encodeJson(list).toString(),
      '{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]}\n',
    );
  });
});
