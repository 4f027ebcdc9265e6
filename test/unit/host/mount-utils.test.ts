// Node mount utilities: the real Exec on real processes, and Mounter/LoopDevices/Filesystems with a
// recording Exec, a scripted mountinfo and a fake sysfs tree (no root needed).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Exec, ExecOptions, ExecResult } from '../../../src/host/exec.js';
import { ExecError, systemExec } from '../../../src/host/exec.js';
import { Filesystems } from '../../../src/host/filesystem.js';
import { LoopDevices, cleanBackingFile, parseLosetupAssociations } from '../../../src/host/loop.js';
import { SystemMounter } from '../../../src/host/mounter.js';
import type { MountInfoEntry } from '../../../src/host/mountinfo.js';
import { parseMountInfoLine } from '../../../src/host/mountinfo.js';

interface Call {
  command: string;
  args: readonly string[];
  options: ExecOptions | undefined;
}

/** Records calls; answers from `reply` (default: success with empty output). */
function recordingExec(
  reply: (call: Call) => Partial<ExecResult> | Error = () => ({}),
): Exec & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    async run(command, args, options) {
      const call = { command, args, options };
      calls.push(call);
      const answer = reply(call);
      if (answer instanceof Error) throw answer;
      return { stdout: '', stderr: '', exitCode: 0, ...answer };
    },
  };
}

describe('systemExec (real processes)', function () {
  const exec = systemExec({ timeoutMs: 5_000 });

  it('returns stdout of a successful command, with LC_ALL=C and no shell', async function () {
    const result = await exec.run('sh', ['-c', 'echo "$LC_ALL" "$1"', 'sh', '$HOME;x']);
    assert.equal(result.stdout, 'C $HOME;x');
    assert.equal(result.exitCode, 0);
  });

  it('rejects with ExecError on a non-zero exit, unless the code is allowed', async function () {
    await assert.rejects(exec.run('sh', ['-c', 'echo oops >&2; exit 3']), (err: unknown) => {
      assert.ok(err instanceof ExecError);
      assert.equal(err.exitCode, 3);
      assert.match(err.message, /exited with 3: oops/);
      return true;
    });
    const allowed = await exec.run('sh', ['-c', 'exit 2'], { okExitCodes: [2] });
    assert.equal(allowed.exitCode, 2);
  });

  it('kills a command that runs past its timeout', async function () {
    await assert.rejects(exec.run('sleep', ['5'], { timeoutMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof ExecError);
      assert.equal(err.timedOut, true);
      return true;
    });
  });

  it('rejects for a missing command', async function () {
    await assert.rejects(exec.run('berth-no-such-command', []), ExecError);
  });
});

describe('SystemMounter (recording exec, scripted mountinfo)', function () {
  let mounts: MountInfoEntry[];
  const line = (mountPoint: string, majorMinor = '7:1', opts = 'rw') =>
    parseMountInfoLine(`10 1 ${majorMinor} / ${mountPoint} ${opts} - ext4 /dev/loop1 rw`);

  it('builds mount, bind and read-only bind commands', async function () {
    mounts = [];
    const exec = recordingExec();
    const mounter = new SystemMounter({ exec, readMountInfo: async () => mounts });
    await mounter.mount('/dev/loop1', '/mnt/a', { fsType: 'ext4', flags: ['noatime', 'discard'] });
    await mounter.mount('/dev/loop1', '/mnt/b');
    await mounter.bindMount('/mnt/a', '/mnt/c');
    await mounter.bindMount('/mnt/a', '/mnt/d', { readonly: true });
    assert.deepEqual(
      exec.calls.map((c) => [c.command, ...c.args].join(' ')),
      [
        'mount -t ext4 -o noatime,discard /dev/loop1 /mnt/a',
        'mount /dev/loop1 /mnt/b',
        'mount --bind /mnt/a /mnt/c',
        'mount --bind -o ro /mnt/a /mnt/d',
      ],
    );
  });

  it('unmount: once per stacked mount, nothing when not mounted', async function () {
    mounts = [line('/nonexistent-berth/x'), line('/nonexistent-berth/x', '7:2')];
    const exec = recordingExec((call) => {
      if (call.command === 'umount') mounts.pop();
      return {};
    });
    const mounter = new SystemMounter({ exec, readMountInfo: async () => mounts });
    assert.equal(await mounter.isMountPoint('/nonexistent-berth/x'), true);
    assert.equal((await mounter.mountAt('/nonexistent-berth/x'))?.majorMinor, '7:2');
    await mounter.unmount('/nonexistent-berth/x');
    assert.equal(exec.calls.length, 2);
    await mounter.unmount('/nonexistent-berth/x');
    assert.equal(exec.calls.length, 2, 'no umount for a path that is not mounted');
  });

  it('unmount tolerates "not mounted" races and passes other failures on', async function () {
    mounts = [line('/nonexistent-berth/y')];
    const notMounted = recordingExec(
      () =>
        new ExecError('umount', [], { exitCode: 32, stderr: 'umount: /y: not mounted.', timedOut: false }),
    );
    await new SystemMounter({ exec: notMounted, readMountInfo: async () => mounts }).unmount(
      '/nonexistent-berth/y',
    );
    const busy = recordingExec(
      () =>
        new ExecError('umount', [], { exitCode: 32, stderr: 'umount: /y: target is busy.', timedOut: false }),
    );
    await assert.rejects(
      new SystemMounter({ exec: busy, readMountInfo: async () => mounts }).unmount('/nonexistent-berth/y'),
      /busy/,
    );
  });
});

describe('LoopDevices (fake sysfs)', function () {
  let sys: string;
  let dataDir: string;

  beforeEach(function () {
    sys = mkdtempSync(path.join(os.tmpdir(), 'berth-sysfs-'));
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-loopdata-'));
    for (const [n, backing] of [
      [0, path.join(dataDir, 'a.img')],
      [1, undefined],
      [2, path.join(dataDir, 'b.img') + ' (deleted)'],
      [3, path.join(dataDir, 'a.img')],
    ] as const) {
      const dir = path.join(sys, 'block', `loop${n}`);
      mkdirSync(path.join(dir, 'loop'), { recursive: true });
      writeFileSync(path.join(dir, 'dev'), `7:${n}\n`);
      writeFileSync(path.join(dir, 'size'), `${(n + 1) * 2048}\n`);
      if (backing) writeFileSync(path.join(dir, 'loop', 'backing_file'), backing + '\n');
    }
    mkdirSync(path.join(sys, 'block', 'vda'));
    writeFileSync(path.join(dataDir, 'a.img'), '');
  });
  afterEach(function () {
    rmSync(sys, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists attached devices and finds those of one backing file', async function () {
    const loops = new LoopDevices({ exec: recordingExec(), sysRoot: sys });
    const all = await loops.list();
    assert.deepEqual(all.map((l) => l.device).sort(), ['/dev/loop0', '/dev/loop2', '/dev/loop3']);
    const ofA = await loops.findByFile(path.join(dataDir, 'a.img'));
    assert.deepEqual(ofA.map((l) => [l.device, l.majorMinor]).sort(), [
      ['/dev/loop0', '7:0'],
      ['/dev/loop3', '7:3'],
    ]);
    assert.deepEqual(
      (await loops.findByFile(path.join(dataDir, 'b.img'))).map((l) => l.device),
      ['/dev/loop2'],
      'a deleted backing file is still found by its path',
    );
    assert.equal(await loops.sizeBytes('/dev/loop1'), 2n * 2048n * 512n);
  });

  it('findByFile reads only the loop devices the partitions file lists (those with a size)', async function () {
    const partitions = path.join(sys, 'partitions');
    writeFileSync(
      partitions,
      'major minor  #blocks  name\n\n 253        0  262144000 vda\n   7        0       1024 loop0\n   7        2       1024 loop2\n',
    );
    const loops = new LoopDevices({ exec: recordingExec(), sysRoot: sys, partitionsFile: partitions });
    assert.deepEqual(
      (await loops.findByFile(path.join(dataDir, 'a.img'))).map((l) => l.device),
      ['/dev/loop0'],
      'loop3 is not listed, so it is not read',
    );
    assert.deepEqual(
      (await loops.findByFile(path.join(dataDir, 'b.img'))).map((l) => l.device),
      ['/dev/loop2'],
    );
    const unreadable = new LoopDevices({
      exec: recordingExec(),
      sysRoot: sys,
      partitionsFile: `${partitions}.none`,
    });
    assert.equal(
      (await unreadable.findByFile(path.join(dataDir, 'a.img'))).length,
      2,
      'no file: every device',
    );
  });

  it('reuses what it read of an attached device until the device is attached anew', async function () {
    const loops = new LoopDevices({ exec: recordingExec(), sysRoot: sys, reuseAttachments: true });
    const a = path.join(dataDir, 'a.img');
    const b = path.join(dataDir, 'b.img');
    assert.deepEqual((await loops.findByFile(a)).map((l) => l.device).sort(), ['/dev/loop0', '/dev/loop3']);
    // An edit inside the same loop/ folder is not read again: only a new attach makes a new folder.
    writeFileSync(path.join(sys, 'block', 'loop3', 'loop', 'backing_file'), b + '\n');
    assert.deepEqual((await loops.findByFile(a)).map((l) => l.device).sort(), ['/dev/loop0', '/dev/loop3']);
    // loop3 detached and attached to b.img: a new folder (made before the old one goes, so its
    // inode number cannot be the old one's), read again.
    const folder = path.join(sys, 'block', 'loop3', 'loop');
    renameSync(folder, `${folder}.old`);
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'backing_file'), b + '\n');
    rmSync(`${folder}.old`, { recursive: true });
    assert.deepEqual(
      (await loops.findByFile(a)).map((l) => l.device),
      ['/dev/loop0'],
    );
    assert.deepEqual((await loops.findByFile(b)).map((l) => l.device).sort(), ['/dev/loop2', '/dev/loop3']);
    rmSync(path.join(sys, 'block', 'loop0', 'loop'), { recursive: true });
    assert.deepEqual(await loops.findByFile(a), [], 'a detached device is not found');
  });

  it('attach runs losetup -f --show and reads the device back; detach and refresh call losetup', async function () {
    const exec = recordingExec((call) => (call.args[0] === '-f' ? { stdout: '/dev/loop3\n' } : {}));
    const loops = new LoopDevices({ exec, sysRoot: sys });
    const loop = await loops.attach(path.join(dataDir, 'a.img'));
    assert.deepEqual(loop, {
      device: '/dev/loop3',
      majorMinor: '7:3',
      backingFile: path.join(dataDir, 'a.img'),
    });
    await loops.refreshSize('/dev/loop3');
    await loops.detach('/dev/loop3');
    assert.deepEqual(
      exec.calls.map((c) => [c.command, ...c.args].join(' ')),
      [`losetup -f --show ${path.join(dataDir, 'a.img')}`, 'losetup -c /dev/loop3', 'losetup -d /dev/loop3'],
    );
  });

  it('parses losetup -j output and cleans sysfs backing names', function () {
    assert.deepEqual(parseLosetupAssociations('/dev/loop4: [2049]:1234 (/data/x y.img)\n\n'), [
      { device: '/dev/loop4', backingFile: '/data/x y.img' },
    ]);
    assert.equal(cleanBackingFile('/data/v.img (deleted)\n'), '/data/v.img');
  });
});

describe('Filesystems (recording exec)', function () {
  it('probe: blkid exit 2 means no filesystem', async function () {
    const none = new Filesystems({ exec: recordingExec(() => ({ exitCode: 2 })) });
    assert.equal(await none.probe('/dev/loop9'), undefined);
    const exec = recordingExec(() => ({ stdout: 'xfs\n' }));
    assert.equal(await new Filesystems({ exec }).probe('/dev/loop9'), 'xfs');
    assert.deepEqual(exec.calls[0]?.options?.okExitCodes, [2]);
  });

  it('format and grow pick the tool for the filesystem', async function () {
    const exec = recordingExec();
    const fs = new Filesystems({ exec });
    await fs.format('/dev/loop9', 'ext4');
    await fs.format('/dev/loop9', 'xfs');
    await fs.grow('/dev/loop9', 'ext4', '/mnt');
    await fs.grow('/dev/loop9', 'xfs', '/mnt');
    await assert.rejects(fs.grow('/dev/loop9', 'vfat', '/mnt'), /not supported/);
    assert.deepEqual(
      exec.calls.map((c) => [c.command, ...c.args].join(' ')),
      [
        'mkfs.ext4 -q -F -E nodiscard /dev/loop9',
        'mkfs.xfs -q -f /dev/loop9',
        'resize2fs /dev/loop9',
        'xfs_growfs /mnt',
      ],
    );
  });

  it('extSizeBytes reads block count and size from dumpe2fs -h', async function () {
    const exec = recordingExec(() => ({
      stdout: 'Block count:              65536\nBlock size:               1024\n',
    }));
    assert.equal(await new Filesystems({ exec }).extSizeBytes('/dev/loop9'), 64n * 1024n * 1024n);
  });

  it('xfsSizeBytes reads the data section of xfs_info; refuses output without one', async function () {
    const info = [
      'meta-data=/dev/loop9             isize=512    agcount=4, agsize=65536 blks',
      'data     =                       bsize=4096   blocks=262144, imaxpct=25',
      'naming   =version 2              bsize=4096   ascii-ci=0, ftype=1',
      'log      =internal log           bsize=4096   blocks=16384, version=2',
    ].join('\n');
    const exec = recordingExec(() => ({ stdout: info }));
    assert.equal(await new Filesystems({ exec }).xfsSizeBytes('/mnt/v'), 1024n * 1024n * 1024n);
    assert.deepEqual(
      exec.calls.map((c) => [c.command, ...c.args].join(' ')),
      ['xfs_info /mnt/v'],
    );
    const garbled = recordingExec(() => ({ stdout: 'xfs_info: /mnt/v is not a mounted XFS filesystem' }));
    await assert.rejects(new Filesystems({ exec: garbled }).xfsSizeBytes('/mnt/v'), /no data section size/);
  });

  it('startsZeroed reads the start of a device (here a file)', async function () {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-zero-'));
    try {
      const file = path.join(dir, 'f');
      writeFileSync(file, Buffer.alloc(4096));
      const fs = new Filesystems({ exec: recordingExec() });
      assert.equal(await fs.startsZeroed(file), true);
      const marked = Buffer.alloc(4096);
      marked[1080] = 0x53;
      writeFileSync(file, marked);
      assert.equal(await fs.startsZeroed(file), false);
      const hole = path.join(dir, 'sparse');
      writeFileSync(hole, '');
      truncateSync(hole, 64 * 1024 * 1024);
      assert.equal(statSync(hole).blocks, 0, 'a fresh sparse file has no blocks');
      assert.equal(await fs.startsZeroed(hole), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
