// scripts/setup.mjs installs per need: the demo's base tools by default, backends with --with.
// Run with --dry-run on a PATH that has only `sh`, so every tool counts as missing and nothing
// is installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

describe('scripts/setup.mjs', function () {
  let bare: string;

  before(async function () {
    bare = await mkdtemp(join(tmpdir(), 'berth-setup-'));
    const sh = spawnSync('sh', ['-c', 'command -v sh'], { encoding: 'utf8' }).stdout.trim();
    await symlink(sh, join(bare, 'sh'));
  });

  after(async function () {
    await rm(bare, { recursive: true, force: true });
  });

  function setup(args: string[]): { status: number | null; stderr: string } {
    const result = spawnSync(process.execPath, [join(root, 'scripts', 'setup.mjs'), '--dry-run', ...args], {
      env: { PATH: bare },
      encoding: 'utf8',
    });
    return { status: result.status, stderr: result.stderr };
  }

  it('asks only for the base tools by default (what the demo uses)', function () {
    const { status, stderr } = setup([]);
    assert.equal(status, 0);
    assert.match(stderr, /base: needs mount e2fsprogs xfsprogs util-linux/);
    assert.doesNotMatch(stderr, /ganesha|ceph|etcd/);
  });

  it('adds the backends named by --with, each reported', function () {
    const { status, stderr } = setup(['--with', 'nfs,rbd', '--with=etcd']);
    assert.equal(status, 0);
    assert.match(stderr, /nfs: needs nfs-ganesha nfs-ganesha-vfs rpcbind iproute2/);
    assert.match(stderr, /rbd: needs ceph-mon ceph-osd ceph-common rbd-fuse/);
    assert.match(stderr, /etcd: needs etcd-server/);
  });

  it('refuses unknown groups and arguments', function () {
    assert.equal(setup(['--with', 'nfs,zfs']).status, 2);
    assert.match(setup(['--with', 'nfs,zfs']).stderr, /unknown --with "zfs"/);
    assert.equal(setup(['--with']).status, 2);
    assert.equal(setup(['--everything']).status, 2);
  });
});
