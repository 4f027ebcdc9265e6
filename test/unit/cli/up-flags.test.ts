import assert from 'node:assert/strict';
import { checkControlPlaneOnly, nodeSpecs } from '../../../src/cli/commands/up.js';
import { UsageError } from '../../../src/cli/io.js';

describe('cli/up flags', function () {
  it('--control-plane-only alone runs no node', function () {
    assert.doesNotThrow(() => checkControlPlaneOnly({}));
  });

  const cases: [string, Parameters<typeof checkControlPlaneOnly>[0]][] = [
    ['node', { node: ['n1'] }],
    ['root-dir', { 'root-dir': '/var/lib/berth' }],
    ['csi-driver', { 'csi-driver': ['x.csi=/run/x.sock'] }],
  ];
  for (const [flag, values] of cases) {
    it(`refuses --${flag} with --control-plane-only, naming the flag`, function () {
      assert.throws(
        () => checkControlPlaneOnly(values),
        (err: unknown) =>
          err instanceof UsageError &&
          err.message.startsWith(`--${flag} cannot be used with --control-plane-only`),
      );
    });
  }

  it('names each node directory, and refuses --root-dir for several nodes', function () {
    assert.deepEqual(nodeSpecs(['a'], undefined, '/d'), [{ name: 'a', rootDir: '/d/nodes/a' }]);
    assert.throws(() => nodeSpecs(['a', 'b'], '/r', '/d'), UsageError);
    assert.throws(() => nodeSpecs(['Not_A_Name'], undefined, '/d'), /DNS-1123/);
  });
});
