// `berth node-plugin` flags: its own are split from the driver's, and wrong ones are refused
// with the flag and the reason before anything starts.
import assert from 'node:assert/strict';
import { runCli } from '../../../src/cli/run.js';
import { splitNodePluginArgs } from '../../../src/cli/commands/node-plugin.js';

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await runCli(['node-plugin', ...args], {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  });
  return { code, stderr };
}

describe('berth node-plugin flags', () => {
  it('keeps its own flags (either spelling) and hands the rest to the driver in order', () => {
    const split = splitNodePluginArgs([
      '--driver=local',
      '--csi-address',
      '/csi/csi.sock',
      '--node-id=n1',
      '--kubelet-registration-path=/var/lib/kubelet/plugins/x/csi.sock',
      '--data-dir',
      '/data',
    ]);
    assert.deepEqual(split, {
      own: {
        driver: 'local',
        'csi-address': '/csi/csi.sock',
        'kubelet-registration-path': '/var/lib/kubelet/plugins/x/csi.sock',
      },
      driverArgs: ['--node-id=n1', '--data-dir', '/data'],
    });
  });

  const cases: Array<[string[], RegExp]> = [
    [['--csi-address=/x.sock', '--kubelet-registration-path=/x.sock'], /--driver is required/],
    [['--driver=zfs', '--csi-address=/x', '--kubelet-registration-path=/x'], /"zfs" for "--driver" flag/],
    [
      ['--driver=local', '--csi-address=/x', '--kubelet-registration-path=x.sock'],
      /must be an absolute path/,
    ],
    [['--driver=local', '--kubelet-registration-path=/x'], /--csi-address is required/],
    [['--driver=local', '--csi-address=/x'], /--kubelet-registration-path is required/],
    [
      ['--driver=local', '--csi-address=/x', '--kubelet-registration-path=/x', '--endpoint=/y'],
      /do not pass --endpoint/,
    ],
    [['--driver=local', '--csi-address=/x', '--kubelet-registration-path=/x', '--bogus=1'], /bogus/],
    [['--driver=rbd', '--csi-address=/x', '--kubelet-registration-path=/x'], /--config/],
    [['--driver=local', '--driver=nfs'], /--driver given twice/],
    [['--driver'], /flag needs an argument: --driver/],
    [['--driver=local', '--log-level=loud'], /"loud" for "--log-level" flag/],
  ];
  for (const [args, expected] of cases) {
    it(`refuses ${args.join(' ')}`, async () => {
      const { code, stderr } = await run(args);
      assert.equal(code, 1);
      assert.match(stderr, expected);
    });
  }
});
