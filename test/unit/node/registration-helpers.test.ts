import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  csiNodeDriverEntry,
  nodeIdAnnotation,
  withDriver,
  withoutDriver,
} from '../../../src/node/csinode.js';
import { parseCsiDriverFlag, parseCsiDriverFlags } from '../../../src/node/driver-flag.js';
import { NodePaths, sha256Hex } from '../../../src/node/paths.js';
import { highestSupportedVersion } from '../../../src/node/registration-protocol.js';
import { scanPublished, scanStaged, writeVolData } from '../../../src/node/vol-data.js';

describe('node registration helpers', function () {
  it('builds the CSINode entry from NodeGetInfo', function () {
    assert.deepEqual(
      csiNodeDriverEntry('d', {
        node_id: 'n-1',
        max_volumes_per_node: '16',
        accessible_topology: { segments: { 'topology.d/zone': 'z1', 'topology.d/rack': 'r1' } },
      }),
      {
        name: 'd',
        nodeID: 'n-1',
        topologyKeys: ['topology.d/rack', 'topology.d/zone'],
        allocatable: { count: 16 },
      },
    );
    assert.deepEqual(
      csiNodeDriverEntry('d', { node_id: 'n', max_volumes_per_node: '0', accessible_topology: null }),
      {
        name: 'd',
        nodeID: 'n',
      },
    );
  });

  it('replaces a driver entry, and reports no change when identical', function () {
    const a = { name: 'a', nodeID: '1' };
    const b = { name: 'b', nodeID: '2' };
    assert.deepEqual(withDriver([a], b), [a, b]);
    assert.deepEqual(withDriver([a, b], { name: 'a', nodeID: '9' }), [{ name: 'a', nodeID: '9' }, b]);
    assert.equal(withDriver([a, b], { ...a }), undefined);
    assert.deepEqual(withoutDriver([a, b], 'a'), [b]);
    assert.equal(withoutDriver([b], 'a'), undefined);
  });

  it('maintains the legacy node-id annotation as a JSON map', function () {
    const one = nodeIdAnnotation(undefined, 'b', 'nb');
    assert.equal(one, '{"b":"nb"}');
    assert.equal(nodeIdAnnotation(one, 'a', 'na'), '{"a":"na","b":"nb"}');
    assert.equal(nodeIdAnnotation(one, 'b', undefined), '{}');
    assert.equal(nodeIdAnnotation('not json', 'a', 'x'), '{"a":"x"}');
  });

  const versions: [string[], string | undefined][] = [
    [['1.0.0'], '1.0.0'],
    [['v1.2.0', '1.10.0', '2.0.0'], '1.10.0'],
    [['0.3.0'], undefined],
    [['2.0.0'], undefined],
    [[], undefined],
  ];
  for (const [input, want] of versions) {
    it(`highest supported version of ${JSON.stringify(input)} is ${want ?? 'an error'}`, function () {
      const got = highestSupportedVersion(input);
      if (want === undefined) assert.ok('error' in got);
      else assert.deepEqual(got, { version: want });
    });
  }

  it('lays paths out as kubelet does', function () {
    const p = new NodePaths('/var/lib/berth');
    assert.equal(p.registryDir(), '/var/lib/berth/plugins_registry');
    assert.equal(p.driverSocket('d.csi'), '/var/lib/berth/plugins/d.csi/csi.sock');
    assert.equal(
      p.stagingTarget('d.csi', 'vol-1'),
      `/var/lib/berth/plugins/kubernetes.io/csi/d.csi/${sha256Hex('vol-1')}/globalmount`,
    );
    assert.equal(
      p.podVolumeMount('uid1', 'pv1'),
      '/var/lib/berth/pods/uid1/volumes/kubernetes.io~csi/pv1/mount',
    );
  });

  it('finds what vol_data.json files describe, and skips unreadable ones', async function () {
    const root = await mkdtemp(join(tmpdir(), 'berth-voldata-'));
    try {
      const p = new NodePaths(root);
      await writeVolData(p.podVolumeDir('uid1', 'pv1'), {
        specVolID: 'pv1',
        volumeHandle: 'h1',
        driverName: 'd.csi',
        nodeName: 'n1',
        attachmentID: 'csi-x',
        volumeLifecycleMode: 'Persistent',
      });
      await writeVolData(p.stagingDir('d.csi', 'h1'), { volumeHandle: 'h1', driverName: 'd.csi' });
      const broken = p.podVolumeDir('uid2', 'pv2');
      await mkdir(broken, { recursive: true });
      await writeFile(join(broken, 'vol_data.json'), '{not json');
      const published = await scanPublished(p);
      assert.equal(published.length, 1);
      assert.equal(published[0]?.podUID, 'uid1');
      assert.equal(published[0]?.targetPath, p.podVolumeMount('uid1', 'pv1'));
      const staged = await scanStaged(p);
      assert.deepEqual(
        staged.map((s) => [s.stagingPath, s.data.volumeHandle]),
        [[p.stagingTarget('d.csi', 'h1'), 'h1']],
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('node --csi-driver flag', function () {
  it('parses name=socket and rejects anything else', function () {
    assert.deepEqual(parseCsiDriverFlag('nfs.csi.k8s.io=/run/nfs/csi.sock'), {
      name: 'nfs.csi.k8s.io',
      endpoint: '/run/nfs/csi.sock',
    });
    assert.deepEqual(parseCsiDriverFlag('d=unix:///x.sock'), { name: 'd', endpoint: 'unix:///x.sock' });
    assert.throws(() => parseCsiDriverFlag('just-a-name'), /must look like/);
    assert.throws(() => parseCsiDriverFlag('=/x.sock'), /must look like/);
    assert.throws(
      () => parseCsiDriverFlag('Bad_Driver=/x.sock'),
      /driver name "Bad_Driver" is invalid: a DNS-1123/,
    );
    assert.throws(() => parseCsiDriverFlag(`${'d'.repeat(64)}=/x.sock`), /no more than 63 characters/);
  });

  it('refuses one driver name given twice, naming it', function () {
    assert.deepEqual(
      parseCsiDriverFlags(['a.csi=/a.sock', 'b.csi=/b.sock']).map((d) => d.name),
      ['a.csi', 'b.csi'],
    );
    assert.throws(
      () => parseCsiDriverFlags(['a.csi=/a.sock', 'a.csi=/other.sock']),
      /^Error: --csi-driver: driver "a.csi" is given more than once$/,
    );
  });
});
