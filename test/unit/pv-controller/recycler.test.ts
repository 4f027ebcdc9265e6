// The Recycle scrub on real directories: contents go, the directory stays, and nothing outside
// the allowed roots (or the filesystem root) is ever touched.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FsRecycler, RecycleRefusedError } from '../../../src/pv-controller/recycler.js';
import { newVolume } from '../../helpers/builders.js';

describe('pv-controller FsRecycler', function () {
  let root: string;
  let outside: string;

  beforeEach(async function () {
    root = await mkdtemp(path.join(os.tmpdir(), 'berth-recycle-'));
    outside = await mkdtemp(path.join(os.tmpdir(), 'berth-outside-'));
  });
  afterEach(async function () {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('empties a hostPath volume directory and keeps the directory', async function () {
    const dir = path.join(root, 'pv1');
    await mkdir(path.join(dir, 'sub', 'deeper'), { recursive: true });
    await writeFile(path.join(dir, 'a.txt'), 'data');
    await writeFile(path.join(dir, '.hidden'), 'data');
    await writeFile(path.join(dir, 'sub', 'deeper', 'b'), 'data');
    await writeFile(path.join(outside, 'keep'), 'precious');
    await symlink(outside, path.join(dir, 'link-out'));
    await new FsRecycler({ allowedRoots: [root] }).recycle(newVolume('pv1', '1Gi', { path: dir }));
    assert.deepEqual(await readdir(dir), []);
    assert.deepEqual(await readdir(outside), ['keep'], 'a symlink is removed, not followed');
  });

  it('empties a local volume directory', async function () {
    const dir = path.join(root, 'local');
    await mkdir(dir);
    await writeFile(path.join(dir, 'x'), 'x');
    await new FsRecycler({ allowedRoots: [root] }).recycle(
      newVolume('l', '1Gi', { source: 'local', path: dir }),
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it('refuses paths outside the allowed roots, through symlinks too, and the root', async function () {
    await writeFile(path.join(outside, 'keep'), 'precious');
    const recycler = new FsRecycler({ allowedRoots: [root] });
    await assert.rejects(recycler.recycle(newVolume('o', '1Gi', { path: outside })), RecycleRefusedError);
    await symlink(outside, path.join(root, 'sneaky'));
    await assert.rejects(
      recycler.recycle(newVolume('s', '1Gi', { path: path.join(root, 'sneaky') })),
      RecycleRefusedError,
    );
    await assert.rejects(new FsRecycler({ allowedRoots: ['/'] }).emptyDirectory('/'), RecycleRefusedError);
    await assert.rejects(recycler.emptyDirectory('relative/dir'), RecycleRefusedError);
    assert.deepEqual(await readdir(outside), ['keep']);
  });

  it('NFS goes through the injected hook; other sources are refused', async function () {
    const seen: string[] = [];
    const recycler = new FsRecycler({
      allowedRoots: [root],
      recycleNfs: (v) => {
        seen.push(v.metadata.name ?? '');
        return Promise.resolve();
      },
    });
    await recycler.recycle(newVolume('nfs1', '1Gi', { source: 'nfs' }));
    assert.deepEqual(seen, ['nfs1']);
    await assert.rejects(
      new FsRecycler({ allowedRoots: [root] }).recycle(newVolume('n', '1Gi', { source: 'nfs' })),
      /NFS recycling is not configured/,
    );
    await assert.rejects(recycler.recycle(newVolume('r', '1Gi', { source: 'rbd' })), RecycleRefusedError);
  });
});
