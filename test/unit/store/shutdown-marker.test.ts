import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SHUTDOWN_MARKER } from '../../../src/store/data-dir.js';
import { encodeFrame } from '../../../src/store/record-framing.js';
import {
  readShutdownMarker,
  writeShutdownMarker,
  type ShutdownMarker,
} from '../../../src/store/shutdown-marker.js';

const marker: ShutdownMarker = {
  segment: 'wal-00000000000000000101.log',
  length: 4096,
  revision: 250,
  objects: [
    ['/configmaps default/a', 7],
    ['/persistentvolumes pv-"quoted",objects', 250],
  ],
};

describe('store/shutdown-marker', function () {
  let dir: string;
  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'berth-marker-'));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads back what it wrote, the objects included', async function () {
    await writeShutdownMarker(dir, marker);
    const read = await readShutdownMarker(dir);
    const objects = Object.getOwnPropertyDescriptor(read, 'objects');
    assert.ok(objects?.get, 'the objects are parsed only when asked for');
    assert.deepEqual({ ...read }, marker);
    assert.deepEqual(read?.objects, marker.objects);
  });

  it('reads a marker whose keys come in another order, as a hand-written one may', async function () {
    const { objects, segment, length, revision } = marker;
    await writeFile(path.join(dir, SHUTDOWN_MARKER), encodeFrame({ objects, revision, length, segment }));
    assert.deepEqual({ ...(await readShutdownMarker(dir)) }, marker);
  });

  it('reads the objects of a marker with a field after them (another version may add one)', async function () {
    const { objects, segment, length, revision } = marker;
    const file = path.join(dir, SHUTDOWN_MARKER);
    await writeFile(file, encodeFrame({ segment, length, revision, objects, later: [1] }));
    const read = await readShutdownMarker(dir);
    assert.equal(read?.revision, revision);
    assert.deepEqual(read?.objects, objects);
  });

  it('finds a damaged byte anywhere, also in the objects it parses only when asked', async function () {
    await writeShutdownMarker(dir, marker);
    const file = path.join(dir, SHUTDOWN_MARKER);
    const bytes = await readFile(file);
    bytes[bytes.lastIndexOf('250')] = '3'.charCodeAt(0);
    await writeFile(file, bytes);
    assert.equal(await readShutdownMarker(dir), undefined);
  });

  it('refuses a marker that is not one whole frame of the expected fields', async function () {
    const file = path.join(dir, SHUTDOWN_MARKER);
    const { segment, length, objects } = marker;
    await writeFile(file, encodeFrame({ segment, length, objects }));
    assert.equal(await readShutdownMarker(dir), undefined);
    await writeFile(file, Buffer.concat([encodeFrame(marker), encodeFrame(marker)]));
    assert.equal(await readShutdownMarker(dir), undefined);
  });
});
