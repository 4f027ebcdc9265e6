// Pure parts of the RBD driver: volume ids, name keys, journal dumps, class parameters, config.
import assert from 'node:assert/strict';
import { CsiError, status } from '../../../../src/csi/errors.js';
import { errnoOf, stderrSummary } from '../../../../src/drivers/rbd/ceph-cli.js';
import { parseClusterConfig } from '../../../../src/drivers/rbd/config.js';
import { checkCapability, decideSize, parseClassParameters } from '../../../../src/drivers/rbd/decide.js';
import { parseOmapValueDump } from '../../../../src/drivers/rbd/images.js';
import { composeVolumeId, nameKey, parseVolumeId } from '../../../../src/drivers/rbd/names.js';

const UUID = 'dc93419b-7109-4c39-9a58-e87b9c6d3b8a';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CsiError ? err.codeName : String(err);
  }
  return undefined;
}

describe('rbd driver names', function () {
  it('round-trips volume ids through compose and parse', function () {
    for (const ref of [
      { clusterID: 'c1', pool: 'rbd', uuid: UUID },
      { clusterID: 'a-b-c-d', pool: 'pool-with-dashes', uuid: UUID },
    ]) {
      const id = composeVolumeId(ref);
      assert.ok(id.length <= 128);
      assert.deepEqual(parseVolumeId(id), ref);
    }
    assert.equal(
      composeVolumeId({ clusterID: 'c1', pool: 'rbd', uuid: UUID }),
      `0001-0002-c1-0003-rbd-${UUID}`,
    );
  });

  it('rejects ids it did not make', function () {
    for (const id of [
      '',
      'csi-conformance-volume-that-does-not-exist',
      `0001-0009-c1-0003-rbd-${UUID}`,
      `0001-0002-c1-0003-rbd-not-a-uuid`,
      `0002-0002-c1-0003-rbd-${UUID}`,
    ]) {
      assert.equal(parseVolumeId(id), undefined, id);
    }
  });

  it('keys plain names as themselves and others by hash', function () {
    assert.equal(nameKey('pvc-1234'), 'pvc-1234');
    assert.match(nameKey('-starts with dash'), /^_[0-9a-f]{64}$/);
    assert.notEqual(nameKey('a b'), nameKey('a  b'));
  });

  it('reads omap values from rados hex dumps', function () {
    const dump =
      'value (9 bytes) :\n00000000  31 32 33 34 2d 61 62 63  64                       |1234-abcd|\n00000009\n';
    assert.equal(parseOmapValueDump(dump), '1234-abcd');
    const long = Buffer.from(UUID);
    const lines = [];
    for (let i = 0; i < long.length; i += 16) {
      const hex = [...long.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
      lines.push(`${i.toString(16).padStart(8, '0')}  ${hex}  |x|`);
    }
    assert.equal(parseOmapValueDump(`value (36 bytes) :\n${lines.join('\n')}\n00000024\n`), UUID);
  });

  it('summarises ceph stderr and finds the errno', function () {
    const stderr =
      "2026-11-23T20:38:54.891+0000 7fc5 -1 monclient(hunting): handle_auth_bad_method\n\nrbd: couldn't connect to the cluster!\nrbd: listing images failed: (13) Permission denied\n";
    assert.equal(errnoOf(stderr), 13);
    assert.equal(
      stderrSummary(stderr),
      "rbd: couldn't connect to the cluster!; rbd: listing images failed: (13) Permission denied",
    );
  });
});

describe('rbd driver decisions', function () {
  it('reads class parameters with defaults', function () {
    assert.deepEqual(parseClassParameters({ clusterID: 'c', pool: 'rbd' }), {
      clusterID: 'c',
      pool: 'rbd',
      dataPool: undefined,
      imageFeatures: ['layering'],
      mounter: undefined,
    });
    const full = parseClassParameters({
      clusterID: 'c',
      pool: 'rbd',
      dataPool: 'ec',
      imageFeatures: 'layering, exclusive-lock',
      mounter: 'rbd-fuse',
    });
    assert.deepEqual(full.imageFeatures, ['layering', 'exclusive-lock']);
    assert.equal(full.mounter, 'rbd-fuse');
  });

  it('refuses bad class parameters with INVALID_ARGUMENT', function () {
    for (const params of [
      { pool: 'rbd' },
      { clusterID: 'c' },
      { clusterID: 'c', pool: 'rbd', imageFeatures: '' },
      { clusterID: 'c', pool: 'rbd', imageFeatures: 'layering,warp-drive' },
      { clusterID: 'c', pool: 'rbd', mounter: 'iscsi' },
      { clusterID: 'c', pool: '-rbd' },
    ]) {
      assert.equal(
        codeOf(() => parseClassParameters(params)),
        'INVALID_ARGUMENT',
        JSON.stringify(params),
      );
    }
  });

  it('allows multi-node access for block volumes only', function () {
    const rwx = { mode: 'MULTI_NODE_MULTI_WRITER' as const };
    assert.equal(checkCapability({ block: {}, access_mode: rwx }, 'cap'), 'block');
    assert.equal(
      codeOf(() =>
        checkCapability(
          { mount: { fs_type: 'ext4', mount_flags: [], volume_mount_group: '' }, access_mode: rwx },
          'cap',
        ),
      ),
      'INVALID_ARGUMENT',
    );
    assert.equal(
      codeOf(() =>
        checkCapability(
          {
            mount: { fs_type: 'ntfs', mount_flags: [], volume_mount_group: '' },
            access_mode: { mode: 'SINGLE_NODE_WRITER' },
          },
          'cap',
        ),
      ),
      'INVALID_ARGUMENT',
    );
  });

  it('sizes images in MiB with a 1 GiB default', function () {
    assert.equal(decideSize(null), 1024n * 1024n * 1024n);
    assert.equal(decideSize({ required_bytes: '1', limit_bytes: '0' }), 1024n * 1024n);
    assert.equal(
      codeOf(() => decideSize({ required_bytes: '10', limit_bytes: '5' })),
      'OUT_OF_RANGE',
    );
    assert.equal(status.OUT_OF_RANGE, 11);
  });
});

describe('rbd driver cluster config', function () {
  it('parses JSON and YAML', function () {
    const json = parseClusterConfig('[{"clusterID":"a","monitors":["10.0.0.1:6789"]}]', 'c.json');
    assert.deepEqual(json.get('a')?.monitors, ['10.0.0.1:6789']);
    const yaml = parseClusterConfig(
      '- clusterID: b\n  monitors: ["[v2:127.0.0.1:3300,v1:127.0.0.1:6789]"]\n  mounter: rbd-fuse\n',
      'c.yaml',
    );
    assert.equal(yaml.get('b')?.mounter, 'rbd-fuse');
  });

  it('names the problem in a bad config', function () {
    assert.throws(() => parseClusterConfig('[{"clusterID":"a"}]', 'c.json'), /c\.json: 0\.monitors/);
    assert.throws(
      () => parseClusterConfig('[{"clusterID":"a","monitors":["m"],"userID":"admin"}]', 'c.json'),
      /userID and userKeyFile go together/,
    );
    assert.throws(
      () =>
        parseClusterConfig(
          '[{"clusterID":"a","monitors":["m"]},{"clusterID":"a","monitors":["n"]}]',
          'c.json',
        ),
      /appears twice/,
    );
  });
});
