// `berth demo` (the README's `npm run demo`): as root, the whole story with real loop devices and
// mounts, leaving nothing behind; otherwise a clear message saying why root is needed.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { runCli } from '../../src/cli/main.js';
import { NEEDS_ROOT } from '../../src/cli/commands/demo.js';
import { isRoot, skipUnless } from '../helpers/skip.js';

async function demo(): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['demo', '--timeout', '90'], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  });
  return { code, stdout, stderr };
}

describe('cli: berth demo', function () {
  this.timeout(180_000);

  it('explains that it needs root when it is not root', async function () {
    skipUnless(this, !isRoot, 'running as root: the full demo runs instead');
    const result = await demo();
    assert.equal(result.code, 1);
    assert.equal(result.stderr, NEEDS_ROOT);
  });

  it('runs the StatefulSet story on two nodes and leaves no mount or loop device behind', async function () {
    skipUnless(this, isRoot, 'the demo attaches loop devices and mounts: needs root');
    const result = await demo();
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /statefulset\.apps\/web created\n/);
    assert.match(result.stdout, /\npersistentvolumeclaim\/example-local-claim +Bound +local-pv-node-2 /);
    for (const n of [0, 1, 2])
      assert.match(result.stdout, new RegExp(`\\npersistentvolumeclaim/www-web-${n} +Bound +pvc-`));
    assert.match(result.stdout, /\npod\/web-2 +1\/1 +Running /, result.stdout);
    assert.match(result.stdout, /the new web-0 \(uid [0-9a-f-]+\) sees the same claim www-web-0/);
    assert.match(result.stdout, /index\.html: written by berth demo through web-0's volume/);
    assert.match(result.stdout, /persistentvolumeclaim\/www-web-0 patched\n/);
    assert.match(result.stdout, /\nwww-web-0 +Bound +pvc-\S+ +64Mi /);
    const [before, after] = [/\(filesystem (\d+) MiB\)/, /its filesystem is now (\d+) MiB/].map((re) =>
      Number(re.exec(result.stdout)?.[1]),
    );
    assert.ok(after! > before! + 20, `the filesystem grew: ${before} -> ${after} MiB`);
    assert.match(result.stdout, /done: no mount or loop device of the demo is left/);
    const dataDir = /data in (\S+)\n/.exec(result.stdout)?.[1];
    assert.ok(dataDir);
    assert.equal(existsSync(dataDir), false);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(dataDir));
    assert.ok(!execFileSync('losetup', ['-a'], { encoding: 'utf8' }).includes(dataDir));
  });
});
