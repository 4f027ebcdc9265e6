// `berth demo` interrupted with SIGINT (Ctrl-C) at a random moment of its story: it tears down and
// leaves no loop device, mount, directory or process behind. The delay is printed so a failure
// can be replayed with BERTH_DEMO_INTERRUPT_MS.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, skipUnless } from '../helpers/skip.js';

const root = join(import.meta.dirname, '..', '..');

/** Command lines of live processes that mention `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

describe('cli: berth demo interrupted', function () {
  this.timeout(240_000);

  it('cleans up after SIGINT at a random moment', async function () {
    skipUnless(this, isRoot, 'the demo attaches loop devices and mounts: needs root');
    const fromEnv = process.env['BERTH_DEMO_INTERRUPT_MS'];
    const delayMs = fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 15_000);
    console.log(`      (interrupting ${delayMs} ms after the demo started its API)`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--timeout', '90'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 120_000;
    while (!/data in (\S+)\n/.test(stdout)) {
      if (child.exitCode !== null || Date.now() > deadline)
        assert.fail(`demo did not start: ${stdout}${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const workDir = /data in (\S+)\n/.exec(stdout)?.[1] ?? '';
    await new Promise((r) => setTimeout(r, delayMs));
    child.kill('SIGINT');
    const code = await exited;
    assert.ok(code === 130 || code === 0, `exit ${code}\n${stdout}\n${stderr}`);
    if (code === 130) assert.match(stderr, /interrupted: cleaning up/);
    assert.match(stdout, /done: no mount or loop device of the demo is left/, stderr);
    assert.equal(existsSync(workDir), false);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(workDir));
    assert.ok(!execFileSync('losetup', ['-a'], { encoding: 'utf8' }).includes(workDir));
    assert.deepEqual(processesMentioning(workDir), []);
  });
});
