// Pure request checks of the local driver: sizes, shapes, topology, names.
import assert from 'node:assert/strict';
import { CsiError, statusName } from '../../../../src/csi/errors.js';
import {
  capabilityFits,
  decideShape,
  decideSize,
  sizeSatisfies,
  topologyAllows,
  topologyIsThisNode,
} from '../../../../src/drivers/local/decide.js';
import { TOPOLOGY_KEY, keyOfVolumeId, volumeId, volumeKey } from '../../../../src/drivers/local/names.js';

const MIB = 1024n * 1024n;
const GIB = 1024n * MIB;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CsiError, String(err));
    return statusName(err.code);
  }
  return 'OK';
}

const range = (required: bigint | number, limit: bigint | number = 0) => ({
  required_bytes: String(required),
  limit_bytes: String(limit),
});

describe('local driver: decideSize', function () {
  const table: [string, ReturnType<typeof range> | null, bigint | string][] = [
    ['no range: 1 GiB', null, GIB],
    ['zero range: 1 GiB', range(0, 0), GIB],
    ['exact MiB', range(64n * MIB), 64n * MIB],
    ['rounded up to a MiB', range(64n * MIB + 1n), 65n * MIB],
    ['one byte: one MiB', range(1), MIB],
    ['limit honoured when rounding fits', range(MIB + 1n, 3n * MIB), 2n * MIB],
    ['only a limit below the default: limit rounded down', range(0, 10n * MIB + 5n), 10n * MIB],
    ['only a limit above the default: default', range(0, 4n * GIB), GIB],
    ['no MiB multiple inside the range', range(MIB + 1n, MIB + 100n), 'OUT_OF_RANGE'],
    ['limit below required', range(2n * MIB, MIB), 'OUT_OF_RANGE'],
    ['limit below a MiB', range(0, 1000), 'OUT_OF_RANGE'],
    ['negative', range(-1), 'INVALID_ARGUMENT'],
  ];
  for (const [name, input, want] of table) {
    it(name, function () {
      if (typeof want === 'string')
        assert.equal(
          codeOf(() => decideSize(input)),
          want,
        );
      else assert.equal(decideSize(input), want);
    });
  }

  it('sizeSatisfies: existing capacity within the new range', function () {
    assert.equal(sizeSatisfies(64n * MIB, null), true);
    assert.equal(sizeSatisfies(64n * MIB, range(64n * MIB)), true);
    assert.equal(sizeSatisfies(64n * MIB, range(65n * MIB)), false);
    assert.equal(sizeSatisfies(64n * MIB, range(0, 32n * MIB)), false);
  });
});

describe('local driver: decideShape and capabilityFits', function () {
  const mount = (fs_type = '', mode = 'SINGLE_NODE_WRITER') => ({
    mount: { fs_type, mount_flags: [], volume_mount_group: '' },
    access_type: 'mount' as const,
    access_mode: { mode: mode as 'SINGLE_NODE_WRITER' },
  });
  const block = {
    block: {},
    access_type: 'block' as const,
    access_mode: { mode: 'SINGLE_NODE_WRITER' as const },
  };

  it('mount defaults to ext4; fs type from the capability or the StorageClass parameter', function () {
    assert.deepEqual(decideShape([mount()], {}), { accessType: 'mount', fsType: 'ext4' });
    assert.deepEqual(decideShape([mount('xfs')], {}), { accessType: 'mount', fsType: 'xfs' });
    assert.deepEqual(decideShape([mount()], { 'csi.storage.k8s.io/fstype': 'xfs' }), {
      accessType: 'mount',
      fsType: 'xfs',
    });
    assert.deepEqual(decideShape([block], {}), { accessType: 'block', fsType: '' });
  });

  it('refuses what a local volume cannot be', function () {
    assert.equal(
      codeOf(() => decideShape([], {})),
      'INVALID_ARGUMENT',
    );
    assert.equal(
      codeOf(() => decideShape([mount('', 'MULTI_NODE_MULTI_WRITER')], {})),
      'INVALID_ARGUMENT',
    );
    assert.equal(
      codeOf(() => decideShape([mount('', 'MULTI_NODE_READER_ONLY')], {})),
      'INVALID_ARGUMENT',
    );
    assert.equal(
      codeOf(() => decideShape([mount('', 'UNKNOWN')], {})),
      'INVALID_ARGUMENT',
    );
    assert.equal(
      codeOf(() => decideShape([mount('zfs')], {})),
      'INVALID_ARGUMENT',
    );
    assert.equal(
      codeOf(() => decideShape([mount(), block], {})),
      'INVALID_ARGUMENT',
    );
    assert.equal(
      codeOf(() => decideShape([mount('ext4')], { 'csi.storage.k8s.io/fstype': 'xfs' })),
      'INVALID_ARGUMENT',
    );
    assert.equal(
      codeOf(() => decideShape([{ access_mode: { mode: 'SINGLE_NODE_WRITER' } }], {})),
      'INVALID_ARGUMENT',
    );
  });

  it('capabilityFits: access type must match; a named fs type must match', function () {
    const ext4 = { accessType: 'mount' as const, fsType: 'ext4' as const };
    assert.equal(capabilityFits(ext4, mount()), true);
    assert.equal(capabilityFits(ext4, mount('ext4')), true);
    assert.equal(capabilityFits(ext4, mount('xfs')), false);
    assert.equal(capabilityFits(ext4, block), false);
    assert.equal(capabilityFits({ accessType: 'block', fsType: '' }, block), true);
  });
});

describe('local driver: topology and names', function () {
  const here = { [TOPOLOGY_KEY]: 'node-a' };

  it('requisite must include this node; preferred never refuses', function () {
    assert.equal(topologyAllows(null, here), true);
    assert.equal(
      topologyAllows({ requisite: [], preferred: [{ segments: { [TOPOLOGY_KEY]: 'b' } }] }, here),
      true,
    );
    assert.equal(
      topologyAllows({ requisite: [{ segments: { [TOPOLOGY_KEY]: 'b' } }], preferred: [] }, here),
      false,
    );
    assert.equal(
      topologyAllows(
        {
          requisite: [{ segments: { [TOPOLOGY_KEY]: 'b' } }, { segments: { [TOPOLOGY_KEY]: 'node-a' } }],
          preferred: [],
        },
        here,
      ),
      true,
    );
    assert.equal(topologyAllows({ requisite: [{ segments: { zone: 'z1' } }], preferred: [] }, here), false);
    assert.equal(topologyIsThisNode(null, here), true);
    assert.equal(topologyIsThisNode({ segments: { [TOPOLOGY_KEY]: 'b' } }, here), false);
  });

  it('volumeKey keeps safe names and hashes the rest; ids round-trip', function () {
    assert.equal(volumeKey('pvc-1234'), 'pvc-1234');
    for (const name of ['../../etc', 'a/b', '.hidden', 'x'.repeat(64), 'spaces in name', '']) {
      const key = volumeKey(name);
      assert.match(key, /^_[0-9a-f]{40}$/, name);
    }
    assert.notEqual(volumeKey('a/b'), volumeKey('a/c'));
    assert.equal(volumeId('node-a', 'pvc-1'), 'node-a/pvc-1');
    assert.equal(keyOfVolumeId('node-a', 'node-a/pvc-1'), 'pvc-1');
    assert.equal(keyOfVolumeId('node-a', 'node-b/pvc-1'), undefined);
    assert.equal(keyOfVolumeId('node-a', 'node-a/../x'), undefined);
    assert.equal(keyOfVolumeId('node-a', 'node-a/'), undefined);
  });
});
