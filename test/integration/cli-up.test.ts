// `berth up` as a real process: it prints where the API is, serves it, refuses a second
// instance on the same data directory, and stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBerth, waitForOutput, type Spawned } from '../helpers/berth-process.js';

const root = join(import.meta.dirname, '..', '..');

describe('cli: berth up (process)', function () {
  let dataDir: string;
  let up: Spawned | undefined;

  before(async function () {
    dataDir = await mkdtemp(join(tmpdir(), 'berth-cli-up-'));
  });

  after(async function () {
    if (up?.child.exitCode === null && up.child.pid) process.kill(up.child.pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints the API URL and kubeconfig, serves, refuses a second instance, and stops on SIGTERM', async function () {
    up = spawnBerth([
      'up',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--attach-detach-reconcile-max-wait-for-unmount-duration=2m',
    ]);
    const [, url] = await waitForOutput(up, /berth API listening on (https:\/\/127\.0\.0\.1:\d+)\n/);
    await waitForOutput(up, /export KUBECONFIG=.*\n/);
    const kubeconfigPath = join(dataDir, 'kubeconfig');
    assert.match(up.stdout(), new RegExp(`kubeconfig: ${kubeconfigPath}\n`));
    assert.ok((await readFile(kubeconfigPath, 'utf8')).includes(url ?? 'missing'));

    // A client command through bin/berth.js (the installed entry), finding the API via $BERTH_DATA_DIR.
    const version = spawn(process.execPath, [join(root, 'bin/berth.js'), 'version'], {
      env: { ...process.env, BERTH_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let versionOut = '';
    version.stdout.on('data', (chunk: Buffer) => (versionOut += chunk.toString()));
    const versionCode = await new Promise<number | null>((resolve) => version.on('exit', resolve));
    assert.equal(versionCode, 0);
    assert.match(versionOut, /^Client Version: v\d+\.\d+\.\d+\nServer Version: \S+\n$/);

    const second = spawnBerth(['up', '--data-dir', dataDir, '--port', '0']);
    assert.equal(await second.exited, 1);
    assert.match(second.stderr(), /^error: data directory .* is locked by process \d+/m);

    assert.ok(up.child.pid);
    process.kill(up.child.pid, 'SIGTERM');
    assert.equal(await up.exited, 0);
    assert.match(up.stdout(), /berth stopped\n$/);

    // The lock is released: the data directory opens again, and the data is still there.
    const again = spawnBerth(['up', '--data-dir', dataDir, '--port', '0']);
    await waitForOutput(again, /berth API listening on/);
    assert.ok(again.child.pid);
    process.kill(again.child.pid, 'SIGINT');
    assert.equal(await again.exited, 0);
  });

  it('names the flag of a wrong duration and starts nothing', async function () {
    for (const [value, reason] of [
      ['-1m', /expected a duration like 30s/],
      ['soon', /expected a duration like 30s/],
      ['0', /must be longer than 0s/],
    ] as const) {
      const proc = spawnBerth([
        'up',
        '--data-dir',
        dataDir,
        '--port',
        '0',
        `--attach-detach-reconcile-max-wait-for-unmount-duration=${value}`,
      ]);
      assert.equal(await proc.exited, 1);
      assert.match(
        proc.stderr(),
        new RegExp(
          `^error: invalid argument "${value}" for "--attach-detach-reconcile-max-wait-for-unmount-duration" flag`,
          'm',
        ),
      );
      assert.match(proc.stderr(), reason);
      assert.doesNotMatch(proc.stdout(), /listening/);
    }
  });
});
