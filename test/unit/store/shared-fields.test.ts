import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kinds } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { snapshotName } from '../../../src/store/data-dir.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../../src/store/embedded.js';
import { encodeFrame, scanFrames } from '../../../src/store/record-framing.js';
import { SharedManagedFields } from '../../../src/store/shared-fields.js';
import { encodeSnapshot, inspectSnapshot, type Snapshot } from '../../../src/store/snapshot.js';

const configMaps = kinds.find((k) => k.kind === 'ConfigMap')!;

type SnapshotEntryFrame = { object: KubeObject };

function entry(manager: string, time: string, field = 'f:data'): Record<string, unknown> {
  return {
    manager,
    operation: 'Update',
    apiVersion: 'v1',
    time,
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, [field]: { '.': {}, 'f:x': {} } },
  };
}

function configMap(i: number, managedFields: unknown[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cm-${i}`, namespace: 'default', labels: { app: 'a' }, managedFields },
    data: { x: String(i) },
  };
}

function snapshotOf(count: number): Snapshot {
  const entries = Array.from({ length: count }, (_, i) => {
    const managedFields = [
      entry('kubectl', `2026-01-01T00:00:0${i % 3}Z`),
      entry('controller', 'T', 'f:spec'),
    ];
    const object = configMap(i, managedFields);
    object.metadata.resourceVersion = String(i + 1);
    return { kind: '/configmaps', key: `default/cm-${i}`, object };
  });
  return { revision: count, entries };
}

/** A snapshot file as versions before format 3 wrote it: no managedFields table. */
function formatTwoSnapshot(snapshot: Snapshot, format = 2): Buffer {
  const refs = snapshot.entries.map((e) => `${e.kind} ${e.key}`).sort();
  const entries = [...snapshot.entries].sort((a, b) =>
    `${a.kind} ${a.key}` < `${b.kind} ${b.key}` ? -1 : 1,
  );
  const body = Buffer.concat([
    encodeFrame({ snapshot: format, revision: snapshot.revision, count: entries.length }),
    encodeFrame({ refs }),
    ...entries.map((e) => encodeFrame(e)),
    encodeFrame({ refs }),
  ]);
  const sha256 = createHash('sha256').update(body).digest('hex');
  return Buffer.concat([body, encodeFrame({ end: entries.length, sha256 })]);
}

/**
 * A snapshot file as format 3 wrote it: format 4's frames, with each object named by `kind`
 * (not `table`) and the header saying 3.
 */
function formatThreeSnapshot(snapshot: Snapshot): Buffer {
  const body = scanFrames(encodeSnapshot(snapshot))
    .frames.slice(0, -1)
    .map(({ value }) => {
      const frame = value as Record<string, unknown>;
      if (typeof frame['snapshot'] === 'number') return encodeFrame({ ...frame, snapshot: 3 });
      if (typeof frame['table'] !== 'string') return encodeFrame(frame);
      return encodeFrame({ kind: frame['table'], key: frame['key'], object: frame['object'] });
    });
  const sha256 = createHash('sha256').update(Buffer.concat(body)).digest('hex');
  return Buffer.concat([...body, encodeFrame({ end: snapshot.entries.length, sha256 })]);
}

/** The objects a reader of formats 1 and 2 takes from a file: every frame with a string kind and key. */
function objectsForFormatTwoReaders(bytes: Buffer): unknown[] {
  return scanFrames(bytes)
    .frames.map(({ value }) => value as Record<string, unknown>)
    .filter((frame) => typeof frame['kind'] === 'string' && typeof frame['key'] === 'string');
}

async function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-shared-fields-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The stored (not copied) objects of a store, by name. */
function storedByName(store: EmbeddedStore): Map<string, KubeObject> {
  return new Map(store.backup().entries.map((e) => [e.object.metadata.name!, e.object]));
}

describe('store/shared managedFields', function () {
  it('shares equal entries, and equal fieldsV1 trees of entries that differ, without touching the given value', function () {
    const shared = new SharedManagedFields();
    const given = [entry('kubectl', 'T1'), entry('kubectl', 'T2')];
    const first = shared.shareList(given, false);
    assert.notEqual(first, given, 'a new array: the caller keeps its own');
    assert.ok(!Object.isFrozen(given[0]), "the caller's entry is not frozen");
    const second = shared.shareList([entry('kubectl', 'T1')], false);
    assert.equal(second[0], first[0]);
    assert.notEqual(first[1], first[0]);
    const trees = first.map((e) => (e as { fieldsV1: unknown }).fieldsV1);
    assert.equal(trees[0], trees[1]);
    assert.ok(Object.isFrozen(first[0]) && Object.isFrozen(trees[0]));
    assert.equal(JSON.stringify(first), JSON.stringify(given));
  });

  it('keeps sharing, and stays correct, once more distinct entries than its limit were seen', function () {
    const shared = new SharedManagedFields(4);
    for (let i = 0; i < 20; i++) shared.shareList([entry('m', `T${i}`)], false);
    const a = shared.shareList([entry('m', 'T19')], false)[0];
    assert.equal(shared.shareList([entry('m', 'T19')], false)[0], a);
    assert.deepEqual(a, entry('m', 'T19'));
  });

  it('writes each distinct entry once in a snapshot, and reads every object back exactly', function () {
    const snapshot = snapshotOf(300);
    const bytes = encodeSnapshot(snapshot);
    assert.equal(
      bytes.toString().split('"manager":"kubectl"').length - 1,
      3,
      'three distinct kubectl entries',
    );
    const read = inspectSnapshot(bytes, 300);
    assert.equal(read.problem, undefined);
    const byKey = new Map(read.entries.map((e) => [e.key, e.object]));
    for (const e of snapshot.entries)
      assert.equal(JSON.stringify(byKey.get(e.key)), JSON.stringify(e.object));
    const controllers = read.entries.map((e) => (e.object.metadata['managedFields'] as unknown[])[1]);
    assert.ok(
      controllers.every((c) => c === controllers[0]),
      'one instance for the equal entries',
    );
  });

  it('keeps any managedFields value exactly (not an array, entries that are not objects, none)', function () {
    const odd: unknown[] = ['text', [1, { a: null }], null, 7, { manager: 'x' }];
    const objects = [odd, 'not a list', [], undefined].map((managedFields, i) => {
      const object = configMap(i, []);
      object.metadata['managedFields'] = managedFields;
      return { kind: '/configmaps', key: `default/cm-${i}`, object };
    });
    const read = inspectSnapshot(encodeSnapshot({ revision: 9, entries: objects }), 9);
    assert.equal(read.problem, undefined);
    const byKey = new Map(read.entries.map((e) => [e.key, e.object]));
    for (const e of objects) assert.equal(JSON.stringify(byKey.get(e.key)), JSON.stringify(e.object));
  });

  it('covers the table with the checksum, and loses (but names) the objects whose rows are damaged', function () {
    const bytes = Buffer.from(encodeSnapshot(snapshotOf(40)));
    // a valid JSON edit inside the table: its frame's CRC-32 no longer matches
    const at = bytes.indexOf('"manager":"controller"') + '"manager":"'.length;
    bytes[at] = 'k'.charCodeAt(0);
    const read = inspectSnapshot(bytes, 40);
    assert.notEqual(read.problem, undefined);
    assert.equal(read.entries.length, 0, 'every object names the damaged row');
    assert.equal(new Set(read.indexRefs.flat()).size, 40);
  });

  it('opens a data directory written in the older format, byte for byte, and writes the new one after', async function () {
    await withDir(async (dir) => {
      const snapshot = snapshotOf(30);
      await writeFile(path.join(dir, snapshotName(30)), formatTwoSnapshot(snapshot), { mode: 0o600 });
      let store = await openEmbeddedStore({ dataDir: dir, compactOnClose: 0 });
      for (const e of snapshot.entries) {
        const got = await store.get(configMaps, 'default', e.object.metadata.name!);
        assert.equal(JSON.stringify(got), JSON.stringify(e.object));
      }
      // enough writes that closing compacts (a tenth of the objects)
      for (const x of ['a', 'b', 'new'])
        await store.update(configMaps, { ...configMap(0, [entry('kubectl', 'T9')]), data: { x } });
      await store.close();
      const written = (await readdir(dir)).filter((n) => n.endsWith('.snap'));
      assert.equal(written.length, 1);
      assert.match((await readFile(path.join(dir, written[0]!))).toString('utf8', 0, 60), /"snapshot":4/);
      store = await openEmbeddedStore({ dataDir: dir });
      try {
        for (const e of snapshot.entries.slice(1)) {
          const got = await store.get(configMaps, 'default', e.object.metadata.name!);
          assert.equal(JSON.stringify(got), JSON.stringify(e.object));
        }
        const changed = await store.get(configMaps, 'default', 'cm-0');
        assert.deepEqual(changed.metadata['managedFields'], [entry('kubectl', 'T9')]);
      } finally {
        await store.close();
      }
    });
  });

  it('refuses a data directory whose snapshot has a newer format, and changes nothing', async function () {
    await withDir(async (dir) => {
      const name = snapshotName(30);
      const newer = formatTwoSnapshot(snapshotOf(30), 5);
      await writeFile(path.join(dir, name), newer, { mode: 0o600 });
      await assert.rejects(openEmbeddedStore({ dataDir: dir }), (err: Error) => {
        assert.match(err.message, /newer version of berth/);
        assert.match(err.message, /snapshot format 5/);
        return true;
      });
      assert.deepEqual((await readdir(dir)).sort(), [name]);
      assert.ok((await readFile(path.join(dir, name))).equals(newer));
      assert.match(inspectSnapshot(newer, 30).problem ?? '', /format 5 is newer/);
    });
  });

  it('writes no frame that a version reading only formats 1-2 could take for an object (its repair would serve row numbers as managedFields)', function () {
    const bytes = encodeSnapshot(snapshotOf(5));
    assert.deepEqual(objectsForFormatTwoReaders(bytes), []);
    // the same file in format 3 was taken for five objects whose managedFields were row numbers
    const three = objectsForFormatTwoReaders(formatThreeSnapshot(snapshotOf(5)));
    assert.equal(three.length, 5);
    assert.deepEqual((three[0] as SnapshotEntryFrame).object.metadata['managedFields'], [0, 1]);
  });

  it('opens a data directory whose snapshot is in format 3, byte for byte', async function () {
    await withDir(async (dir) => {
      const snapshot = snapshotOf(30);
      const bytes = formatThreeSnapshot(snapshot);
      assert.match(bytes.toString('utf8', 0, 60), /"snapshot":3/);
      assert.equal(inspectSnapshot(bytes, 30).problem, undefined);
      await writeFile(path.join(dir, snapshotName(30)), bytes, { mode: 0o600 });
      const store = await openEmbeddedStore({ dataDir: dir, compactOnClose: 0 });
      try {
        for (const e of snapshot.entries) {
          const got = await store.get(configMaps, 'default', e.object.metadata.name!);
          assert.equal(JSON.stringify(got), JSON.stringify(e.object));
        }
      } finally {
        await store.close();
      }
    });
  });

  it("shares equal entries between stored objects; changing one object's managedFields leaves the others as they were", async function () {
    await withDir(async (dir) => {
      let store = await openEmbeddedStore({ dataDir: dir, compactOnClose: 0 });
      const given = configMap(0, [entry('kubectl', 'T1')]);
      await store.create(configMaps, given);
      assert.ok(!Object.isFrozen(given.metadata['managedFields']), "the caller's object is not frozen");
      for (let i = 1; i < 5; i++) await store.create(configMaps, configMap(i, [entry('kubectl', 'T1')]));
      const entryOf = (o: KubeObject | undefined) => (o!.metadata['managedFields'] as unknown[])[0];
      let stored = storedByName(store);
      assert.equal(entryOf(stored.get('cm-1')), entryOf(stored.get('cm-4')));

      // an update that changes one object's entry (its fieldsV1 too)
      const one = await store.get(configMaps, 'default', 'cm-1');
      await store.update(configMaps, {
        ...one,
        metadata: { ...one.metadata, managedFields: [entry('kubectl', 'T2', 'f:binaryData')] },
      });
      // a merge patch that adds an entry to another
      await store.patch(configMaps, 'default', 'cm-2', {
        metadata: { managedFields: [entry('kubectl', 'T1'), entry('other', 'T3')] },
      });
      const expect = async (s: EmbeddedStore) => {
        const managed = async (name: string) =>
          (await s.get(configMaps, 'default', name)).metadata['managedFields'];
        assert.deepEqual(await managed('cm-1'), [entry('kubectl', 'T2', 'f:binaryData')]);
        assert.deepEqual(await managed('cm-2'), [entry('kubectl', 'T1'), entry('other', 'T3')]);
        for (const name of ['cm-0', 'cm-3', 'cm-4'])
          assert.deepEqual(await managed(name), [entry('kubectl', 'T1')], name);
      };
      await expect(store);
      stored = storedByName(store);
      assert.equal(entryOf(stored.get('cm-2')), entryOf(stored.get('cm-0')));
      await store.close();

      // reopened from the snapshot written at close: the same objects, still shared
      store = await openEmbeddedStore({ dataDir: dir });
      try {
        await expect(store);
        stored = storedByName(store);
        assert.equal(entryOf(stored.get('cm-0')), entryOf(stored.get('cm-4')));
        assert.equal(entryOf(stored.get('cm-2')), entryOf(stored.get('cm-3')));
      } finally {
        await store.close();
      }
    });
  });
});
