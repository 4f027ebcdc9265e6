import assert from 'node:assert/strict';
import { callDriver, FlexError, interpretCall, parseDriverOutput } from '../../../src/flexvolume/call.js';
import type { Exec } from '../../../src/host/exec.js';
import { ExecError, systemExec } from '../../../src/host/exec.js';
import { installScriptedDriver, tempDir } from './helpers.js';
import { promises as fs } from 'node:fs';

const target = { driver: 'acme/disk', path: '/opt/acme~disk/disk' };

describe('flexvolume/call: what a driver printed', () => {
  const table: { name: string; stdout: string; exit: number; want: string }[] = [
    { name: 'Success', stdout: '{"status":"Success","device":"/dev/loop3"}', exit: 0, want: 'ok' },
    { name: 'Success after log lines', stdout: 'formatting...\n{"status":"Success"}\n', exit: 0, want: 'ok' },
    { name: 'Not supported, exit 0', stdout: '{"status":"Not supported"}', exit: 0, want: 'notSupported' },
    { name: 'Not supported, exit 1', stdout: '{"status":"Not supported"}', exit: 1, want: 'notSupported' },
    { name: 'Failure', stdout: '{"status":"Failure","message":"no such export"}', exit: 1, want: 'Failure' },
    { name: 'Failure with exit 0', stdout: '{"status":"Failure","message":"x"}', exit: 0, want: 'Failure' },
    { name: 'garbage', stdout: 'Segmentation fault', exit: 0, want: 'BadOutput' },
    { name: 'nothing', stdout: '', exit: 0, want: 'BadOutput' },
    { name: 'unknown status', stdout: '{"status":"OK"}', exit: 0, want: 'BadOutput' },
    { name: 'wrong field type', stdout: '{"status":"Success","attached":"yes"}', exit: 0, want: 'BadOutput' },
    { name: 'a JSON array', stdout: '[1,2]', exit: 0, want: 'BadOutput' },
    { name: 'Success but exit 3 (driver bug)', stdout: '{"status":"Success"}', exit: 3, want: 'BadOutput' },
  ];
  for (const row of table) {
    it(`${row.name} -> ${row.want}`, () => {
      let got: string;
      try {
        const result = interpretCall(target, 'attach', { stdout: row.stdout, exitCode: row.exit });
        got = result.supported ? 'ok' : 'notSupported';
      } catch (err) {
        assert.ok(err instanceof FlexError);
        got = err.kind;
        assert.match(err.message, /^flexvolume acme\/disk: attach /);
      }
      assert.equal(got, row.want);
    });
  }

  it('keeps unknown fields and reads the documented ones', () => {
    const parsed = parseDriverOutput(
      '{"status":"Success","device":"/dev/sdb","attached":true,"volumeName":"v","extra":1}',
    );
    assert.ok(!('error' in parsed));
    assert.equal(parsed.device, '/dev/sdb');
    assert.equal(parsed.attached, true);
    assert.equal(parsed['extra'], 1);
  });

  it('quotes the garbage it got, so the event says what the driver printed', () => {
    assert.throws(
      () => interpretCall(target, 'mount', { stdout: 'usage: nfs <cmd>', exitCode: 2 }),
      /mount printed no JSON and exited with 2: "usage: nfs <cmd>"/,
    );
  });
});

describe('flexvolume/call: running a driver', () => {
  it('passes the command and arguments as argv (no shell) with a timeout', async () => {
    const seen: { command: string; args: readonly string[]; timeoutMs?: number }[] = [];
    const exec: Exec = {
      async run(command, args, options) {
        seen.push({
          command,
          args,
          ...(options?.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        });
        return { stdout: '{"status":"Success"}', stderr: '', exitCode: 0 };
      },
    };
    await callDriver(exec, target, 'mount', ['/pods/x', '{"a":"$(rm -rf /)"}'], { timeoutMs: 1234 });
    assert.deepEqual(seen, [
      { command: target.path, args: ['mount', '/pods/x', '{"a":"$(rm -rf /)"}'], timeoutMs: 1234 },
    ]);
  });

  it('a timeout is a Timeout FlexError', async () => {
    const exec: Exec = {
      async run(command, args) {
        throw new ExecError(command, args, { exitCode: undefined, stderr: '', timedOut: true });
      },
    };
    await assert.rejects(callDriver(exec, target, 'attach', ['{}', 'n1']), (err: unknown) => {
      assert.ok(err instanceof FlexError && err.kind === 'Timeout');
      return true;
    });
  });

  it('a crash is a Crash FlexError that never repeats the arguments (they may hold secrets)', async () => {
    const exec: Exec = {
      async run(command, args) {
        throw new ExecError(command, args, { exitCode: undefined, stderr: 'core dumped', timedOut: false });
      },
    };
    const secretJson = '{"kubernetes.io/secret/password":"c2VjcmV0"}';
    await assert.rejects(callDriver(exec, target, 'mount', ['/d', secretJson]), (err: unknown) => {
      assert.ok(err instanceof FlexError && err.kind === 'Crash');
      assert.doesNotMatch(err.message, /c2VjcmV0/);
      assert.match(err.message, /core dumped/);
      return true;
    });
  });

  it('real processes: exit 1 with Failure keeps the message; a hung driver is killed at the timeout', async function () {
    const dir = await tempDir('berth-flex-call-');
    try {
      const driver = await installScriptedDriver(dir, 'acme/disk', {
        mount: { stdout: '{"status":"Failure","message":"export not found"}', exit: 1 },
        attach: { sleepMs: 30_000 },
        detach: { signal: 'SIGKILL' },
      });
      const t = { driver: 'acme/disk', path: driver.executable };
      const exec = systemExec();
      await assert.rejects(callDriver(exec, t, 'mount', ['/d', '{}']), /mount failed: export not found/);
      const started = Date.now();
      await assert.rejects(
        callDriver(exec, t, 'attach', ['{}', 'n'], { timeoutMs: 300 }),
        /timed out after 300 ms/,
      );
      assert.ok(Date.now() - started < 5000);
      await assert.rejects(callDriver(exec, t, 'detach', ['v', 'n']), (err: unknown) => {
        assert.ok(err instanceof FlexError && err.kind === 'Crash');
        return true;
      });
      await assert.rejects(
        callDriver(exec, { driver: 'acme/gone', path: `${dir}/missing` }, 'init', []),
        (err: unknown) => err instanceof FlexError && err.kind === 'Crash',
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
