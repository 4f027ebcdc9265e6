// `berth sidecar` flags: the upstream sidecars' spellings map onto berth's tuning, and wrong ones
// are refused naming the flag and the reason.
import assert from 'node:assert/strict';
import { parseSidecarArgs } from '../../../src/cli/commands/sidecar.js';
import { leaseName } from '../../../src/cli/sidecar.js';

describe('berth sidecar flags', () => {
  it('maps the upstream flags', () => {
    const args = parseSidecarArgs(
      [
        'provisioner',
        '--csi-address=/csi/csi.sock',
        '--timeout=2m',
        '--worker-threads=50',
        '--retry-interval-start=500ms',
        '--retry-interval-max=1m',
        '--leader-election',
        '--leader-election-namespace=kube-system',
        '--http-endpoint=:9809',
        '--extra-create-metadata',
        '--feature-gates=Topology=true',
        '--node-deployment',
        '--v=5',
      ],
      { NODE_NAME: 'n1' },
    );
    assert.deepEqual(args, {
      sidecar: 'provisioner',
      csiAddress: '/csi/csi.sock',
      tuning: { timeoutMs: 120_000, workers: 50, retryBaseMs: 500, retryMaxMs: 60_000 },
      httpEndpoint: ':9809',
      logLevel: 'debug',
      nodeName: 'n1',
      leaderElection: { namespace: 'kube-system' },
    });
  });

  it("runs the snapshotter per node or with leader election, on upstream csi-snapshotter's Lease", () => {
    assert.deepEqual(
      parseSidecarArgs(
        ['snapshotter', '--csi-address=/csi/csi.sock', '--node-deployment', '--timeout=300s'],
        {
          NODE_NAME: 'n1',
        },
      ),
      { sidecar: 'snapshotter', csiAddress: '/csi/csi.sock', tuning: { timeoutMs: 300_000 }, nodeName: 'n1' },
    );
    assert.equal(
      leaseName('snapshotter', 'rbd.csi.berth.io'),
      'external-snapshotter-leader-rbd-csi-berth-io',
    );
  });

  it('--enable-capacity publishes into $NAMESPACE, polling at --capacity-poll-interval', () => {
    const args = parseSidecarArgs(
      ['provisioner', '--csi-address=/s', '--enable-capacity', '--capacity-poll-interval=30s'],
      { NAMESPACE: 'storage' },
    );
    assert.deepEqual(args.tuning, {
      enableCapacity: true,
      capacityNamespace: 'storage',
      capacityPollIntervalMs: 30_000,
    });
    assert.deepEqual(
      parseSidecarArgs(['provisioner', '--csi-address=/s', '--enable-capacity=false'], {}).tuning,
      {},
    );
  });

  const refused: Array<[string[], RegExp]> = [
    [['snapshotter', '--csi-address=/s', '--extra-create-metadata'], /unknown flag --extra-create-metadata/],
    [['attacher', '--csi-address=/s', '--enable-capacity'], /unknown flag --enable-capacity/],
    [['provisioner', '--csi-address=/s', '--capacity-poll-interval=0s'], /must be longer than 0s/],
    [[], /missing sidecar name/],
    [['snapshotter-ish'], /unknown sidecar "snapshotter-ish"/],
    [['attacher'], /--csi-address is required/],
    [['attacher', '--csi-address=/s', '--node-deployment'], /unknown flag --node-deployment/],
    [['resizer', '--csi-address=/s', '--default-fstype=ext4'], /unknown flag --default-fstype/],
    [['provisioner', '--csi-address=/s', '--node-deployment'], /needs the NODE_NAME environment variable/],
    [['provisioner', '--csi-address=/s', '--timeout=soon'], /"soon" for "--timeout" flag/],
    [['provisioner', '--csi-address=/s', '--timeout=0s'], /must be longer than 0s/],
    [['provisioner', '--csi-address=/s', '--worker-threads=0'], /--worker-threads/],
    [['provisioner', '--csi-address=/s', '--worker-threads=1e9'], /--worker-threads/],
    [
      ['provisioner', '--csi-address=/s', '--retry-interval-start=1m', '--retry-interval-max=1s'],
      /must not be shorter/,
    ],
    [['provisioner', '--csi-address=/s', '--leader-election=maybe'], /expected true or false/],
    [['provisioner', '--csi-address=/s', '--http-endpoint=9809'], /HOST:PORT/],
    [['provisioner', '--csi-address=/s', '--http-endpoint=:99999'], /HOST:PORT/],
    [['provisioner', '--csi-address=/s', '--feature-gates=Foo=true'], /only Topology=true/],
    [['provisioner', '--csi-address=/s', '--feature-gates=Topology=false'], /not supported/],
    [['provisioner', '--csi-address=/s', '--extra-create-metadata=false'], /not supported/],
    [['provisioner', '--csi-address=/s', '--default-fstype=xfs'], /not supported yet/],
    [['provisioner', '--csi-address=/s', 'stray'], /unexpected argument "stray"/],
    [['provisioner', '--csi-address=/s', '--bogus'], /bogus/],
  ];
  for (const [argv, expected] of refused) {
    it(`refuses ${argv.join(' ') || '(nothing)'}`, () => {
      assert.throws(() => parseSidecarArgs(argv, {}), expected);
    });
  }
});
