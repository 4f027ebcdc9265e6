// systemExec on real processes, both ways of starting them: the helper shells (host tools on PATH)
// and a process of its own. Hostile commands must end in a typed ExecError and never wedge a helper.
import assert from 'node:assert/strict';
import type { SystemExecOptions } from '../../../src/host/exec.js';
import { ExecError, helperShells, systemExec } from '../../../src/host/exec.js';

function rejectsWith(check: (err: ExecError) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof ExecError, `an ExecError, not ${String(err)}`);
    check(err);
    return true;
  };
}

for (const spawn of ['helpers', 'own-process'] as const) {
  describe(`systemExec (${spawn})`, function () {
    const options: SystemExecOptions = { spawn, timeoutMs: 10_000, maxOutputBytes: 1024 * 1024 };
    const exec = systemExec(options);

    it('passes arguments as data: spaces, quotes, $(...), empty strings and newlines arrive intact', async function () {
      const args = ['a b', "it's", '$(echo no)', '', 'two\nlines', '\\', '*'];
      const result = await exec.run('printf', ['%s|', ...args]);
      assert.equal(result.stdout, args.map((a) => `${a}|`).join(''));
    });

    it('refuses an argument with a NUL byte (no program could receive it) and runs nothing', async function () {
      await assert.rejects(
        exec.run('echo', ['a\0nonce\u00002\0/bin/echo\0injected']),
        rejectsWith((err) => assert.match(err.message, /NUL byte/)),
      );
      assert.equal((await exec.run('echo', ['next'])).stdout, 'next');
    });

    it('keeps output without a final newline, and stderr apart from stdout', async function () {
      const result = await exec.run('sh', ['-c', 'printf out; printf err >&2']);
      assert.deepEqual([result.stdout, result.stderr], ['out', 'err']);
    });

    it('reads nothing from stdin', async function () {
      assert.equal((await exec.run('cat', [])).stdout, '');
    });

    it('a non-zero exit is an ExecError with the code and stderr; allowed codes resolve', async function () {
      await assert.rejects(
        exec.run('sh', ['-c', 'echo oops >&2; exit 3']),
        rejectsWith((err) => {
          assert.equal(err.exitCode, 3);
          assert.equal(err.stderr, 'oops');
          assert.match(err.message, /exited with 3: oops/);
        }),
      );
      assert.equal((await exec.run('sh', ['-c', 'exit 2'], { okExitCodes: [2] })).exitCode, 2);
    });

    it('a command that hangs is killed at its timeout, and the next command runs', async function () {
      await assert.rejects(
        exec.run('sleep', ['30'], { timeoutMs: 200 }),
        rejectsWith((err) => assert.equal(err.timedOut, true)),
      );
      assert.equal((await exec.run('echo', ['next'])).stdout, 'next');
    });

    it('a command printing more than allowed is killed, and the next command runs', async function () {
      await assert.rejects(
        exec.run('head', ['-c', String(64 * 1024 * 1024), '/dev/zero']),
        rejectsWith((err) => {
          assert.equal(err.outputTooLarge, true);
          assert.match(err.message, /printed more output than allowed/);
        }),
      );
      assert.equal((await exec.run('echo', ['next'])).stdout, 'next');
    });

    it('a command killed by a signal has no exit code', async function () {
      await assert.rejects(
        exec.run('sh', ['-c', 'kill -SEGV $$']),
        rejectsWith((err) => assert.equal(err.exitCode, undefined)),
      );
    });

    it('a missing command is an ExecError with no exit code', async function () {
      await assert.rejects(
        exec.run('berth-no-such-command', []),
        rejectsWith((err) => assert.equal(err.exitCode, undefined)),
      );
    });

    it('runs many commands at once (more than there are helpers)', async function () {
      const outputs = await Promise.all(
        Array.from({ length: 12 }, (_, i) => exec.run('sh', ['-c', `sleep 0.1; echo ${i}`])),
      );
      assert.deepEqual(
        outputs.map((r) => r.stdout),
        Array.from({ length: 12 }, (_, i) => String(i)),
      );
    });

    it('a command leaving a child that writes later does not leak into the next answer', async function () {
      // The answer does not wait for the child (which holds the pipes); it writes while idle.
      assert.equal((await exec.run('sh', ['-c', '(sleep 1; echo late) & echo now'])).stdout, 'now');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal((await exec.run('echo', ['clean'])).stdout, 'clean');
    });
  });
}

describe('helper shells', function () {
  const exec = systemExec({ timeoutMs: 10_000 });

  it('a helper that dies under a running command fails that command; the next one runs', async function () {
    const running = exec.run('sleep', ['5']);
    const helpers = helperShells().pids();
    assert.ok(helpers.length > 0, 'a helper process');
    // Every helper is killed (only this process's own): whichever runs the sleep dies with it.
    for (const pid of helpers) process.kill(pid, 'SIGKILL');
    await assert.rejects(
      running,
      rejectsWith((err) => {
        assert.equal(err.exitCode, undefined);
        assert.match(err.message, /helper shell exited/);
      }),
    );
    assert.equal((await exec.run('echo', ['again'])).stdout, 'again');
  });
});
