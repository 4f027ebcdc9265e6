import assert from 'node:assert/strict';
import { startProgress } from '../../../src/cli/progress.js';

function sinks(isTTY: boolean): {
  io: Parameters<typeof startProgress>[0];
  out: () => string;
  err: () => string;
} {
  let out = '';
  let err = '';
  return {
    io: { stdout: { isTTY, write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err,
  };
}

describe('cli progress', function () {
  it('draws a spinner on stderr for a terminal and clears it', function () {
    const s = sinks(true);
    const progress = startProgress(s.io, {}, 'waiting for pvc');
    progress.stop();
    assert.match(s.err(), /waiting for pvc/);
    assert.ok(s.err().endsWith('\r\x1b[K'));
    assert.equal(s.out(), '');
  });

  it('stays silent when piped or under CI', function () {
    for (const [tty, env] of [
      [false, {}],
      [true, { CI: 'true' }],
    ] as const) {
      const s = sinks(tty);
      startProgress(s.io, env, 'waiting').stop();
      assert.equal(s.err() + s.out(), '');
    }
  });
});
