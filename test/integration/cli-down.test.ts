// `berth down` against real processes, loop devices and mounts (root): `berth up` runs a pod on a
// local-driver volume; SIGTERM stops it leaving the volume mounted and the node consistent, so
// the next `berth up` serves the same pod's volume again; `berth down` stops that berth by its
// PID, unpublishes and unstages (detaching the loop device), says "nothing to do" the second
// time, and `--purge` deletes the data directory. A missing or foreign directory is an error.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBerth, waitForOutput, type Spawned } from '../helpers/berth-process.js';
import { eventually } from '../helpers/eventually.js';
import { isRoot, skipUnless } from '../helpers/skip.js';

const manifest = `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local-dynamic}
provisioner: local.csi.berth.io
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: local-dynamic
  resources: {requests: {storage: 16Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: default}
spec:
  containers: [{name: app, image: busybox, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
`;

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnBerth(args);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir));
const loopsUnder = (dir: string) =>
  execFileSync('losetup', ['-a'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(dir));

describe('cli: berth down (process, real mounts)', function () {
  this.timeout(180_000);
  let root: string;
  let dataDir: string;
  let up: Spawned | undefined;

  before(async function () {
    root = await mkdtemp(join(tmpdir(), 'berth-down-'));
    dataDir = join(root, 'data');
  });

  after(async function () {
    if (up?.child.exitCode === null && up.child.pid) process.kill(up.child.pid, 'SIGKILL');
    if (existsSync(dataDir)) await run(['down', '--data-dir', dataDir, '--purge']);
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a missing or foreign directory, touching nothing', async function () {
    const missing = await run(['down', '--data-dir', join(root, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^error: data directory \S+ does not exist\n$/);
    const foreign = join(root, 'foreign');
    await mkdir(foreign);
    await writeFile(join(foreign, 'precious.txt'), 'keep me');
    const refused = await run(['down', '--data-dir', foreign, '--purge']);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /is not a berth data directory .*nothing was touched/);
    assert.equal(readFileSync(join(foreign, 'precious.txt'), 'utf8'), 'keep me');
  });

  it('up, SIGTERM, up again (the volume is still served), then down --purge leaves nothing', async function () {
    skipUnless(this, isRoot, 'needs root: loop devices and mounts');
    const start = async () => {
      const p = spawnBerth(['up', '--data-dir', dataDir, '--port', '0', '--node', 'n1']);
      await waitForOutput(p, /export KUBECONFIG=.*\n/, 60_000);
      return p;
    };
    up = await start();
    const kubeconfig = join(dataDir, 'kubeconfig');
    const file = join(root, 'app.yaml');
    await writeFile(file, manifest);
    const applied = await run(['apply', '-f', file, '--kubeconfig', kubeconfig]);
    assert.equal(applied.code, 0, applied.err);
    const readyPod = async () => {
      const got = await run(['get', 'pods', 'app', '--kubeconfig', kubeconfig]);
      return /\napp +1\/1 +Running /.test(got.out) ? got.out : undefined;
    };
    await eventually('pod READY 1/1', readyPod, 60_000, 300);
    assert.ok(mountsUnder(dataDir).length >= 2, 'staged and published');
    assert.equal(loopsUnder(dataDir).length, 1, 'one loop device for the volume');

    // SIGTERM: berth stops, the pod's volume stays mounted for the next start.
    process.kill(up.child.pid!, 'SIGTERM');
    assert.equal(await up.exited, 0);
    assert.ok(mountsUnder(dataDir).length >= 2, 'still mounted: pods keep their volumes');
    up = await start();
    await eventually('pod still READY after the restart', readyPod, 60_000, 300);
    assert.equal(loopsUnder(dataDir).length, 1, 'no second loop device after the restart');

    // down stops the running berth by its PID and takes every volume down.
    const down = await run(['down', '--data-dir', dataDir]);
    assert.equal(down.code, 0, down.err);
    assert.match(down.out, /^stopping berth \(pid \d+\) that holds /m);
    assert.match(down.out, /^node n1: 1 volume mount\(s\) unpublished, 1 unstaged$/m);
    assert.equal(await up.exited, 0);
    assert.deepEqual(mountsUnder(dataDir), []);
    assert.deepEqual(loopsUnder(dataDir), []);

    const again = await run(['down', '--data-dir', dataDir]);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /^nothing to do: /);

    const purge = await run(['down', '--data-dir', dataDir, '--purge']);
    assert.equal(purge.code, 0, purge.err);
    assert.match(purge.out, /data directory \S+ deleted\n$/);
    assert.equal(existsSync(dataDir), false);
  });
});
