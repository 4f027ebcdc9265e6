import assert from 'node:assert/strict';
import { CsiError, status } from '../../../../src/csi/errors.js';
import { decodeVolumeId, encodeVolumeId, mountSource } from '../../../../src/drivers/nfs/names.js';
import { archiveName, planVolume } from '../../../../src/drivers/nfs/params.js';
import {
  nfsSourceToVolumeContext,
  nfsSourceToVolumeHandle,
} from '../../../../src/drivers/nfs/static-source.js';
import { mountArgs, mountOptionsFor } from '../../../../src/drivers/nfs/node-mounts.js';

function invalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CsiError);
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, pattern);
    return true;
  });
}

const base = { server: 'nfs.example', share: '/export' };
const meta = {
  'csi.storage.k8s.io/pvc/name': 'data',
  'csi.storage.k8s.io/pvc/namespace': 'team-a',
  'csi.storage.k8s.io/pv/name': 'pvc-123',
};

describe('NFS driver parameters', function () {
  it('defaults subDir to the volume name and onDelete to delete', function () {
    assert.deepEqual(planVolume('pvc-1', base), {
      server: 'nfs.example',
      share: '/export',
      subDir: 'pvc-1',
      uuid: '',
      onDelete: 'delete',
      mountPermissions: undefined,
      mountOptions: '',
    });
  });

  it('expands subDir templates from the provisioner metadata, keys case-insensitive', function () {
    const plan = planVolume('pvc-123', {
      ...base,
      ...meta,
      subDir: '${pvc.metadata.namespace}/${pvc.metadata.name}-${pv.metadata.name}',
      OnDelete: 'Archive',
      mountPermissions: '0770',
    });
    assert.equal(plan.subDir, 'team-a/data-pvc-123');
    assert.equal(plan.uuid, 'pvc-123');
    assert.equal(plan.onDelete, 'archive');
    assert.equal(plan.mountPermissions, 0o770);
  });

  const refusals: [string, Record<string, string>, RegExp][] = [
    ['unknown parameter', { ...base, fsType: 'ext4' }, /invalid parameter "fsType"/],
    ['missing server', { share: '/export' }, /server is a required parameter/],
    ['missing share', { server: 'x' }, /share is a required parameter/],
    ['.. in subDir', { ...base, subDir: '../etc' }, /escapes the share/],
    [
      '.. from a template',
      { ...base, ...meta, 'csi.storage.k8s.io/pvc/name': '..', subDir: 'a/${pvc.metadata.name}/..' },
      /escapes the share/,
    ],
    ['absolute subDir', { ...base, subDir: '/etc' }, /absolute/],
    [
      'absolute after templating',
      { ...base, ...meta, 'csi.storage.k8s.io/pvc/namespace': '/root', subDir: '${pvc.metadata.namespace}' },
      /absolute/,
    ],
    ['unknown template', { ...base, subDir: '${pod.name}' }, /unknown template/],
    ['template without metadata', { ...base, subDir: '${pvc.metadata.name}' }, /extra-create-metadata/],
    ['bad onDelete', { ...base, onDelete: 'shred' }, /onDelete "shred"/],
    ['bad mode', { ...base, mountPermissions: '999' }, /octal/],
    ['.. in share', { ...base, share: '/export/../etc' }, /share/],
  ];
  for (const [what, params, pattern] of refusals) {
    it(`refuses ${what} with INVALID_ARGUMENT`, function () {
      invalid(() => planVolume('pvc-1', params), pattern);
    });
  }

  it('archives beside the directory', function () {
    assert.deepEqual(archiveName('pvc-1'), { parent: '', name: 'pvc-1', archived: 'archived-pvc-1' });
    assert.deepEqual(archiveName('ns/pvc-1'), { parent: 'ns', name: 'pvc-1', archived: 'archived-pvc-1' });
  });
});

describe('NFS volume ids and mount sources', function () {
  it('round-trips server, share, subDir, uuid and onDelete', function () {
    for (const onDelete of ['delete', 'retain', 'archive'] as const) {
      const ref = { server: '10.0.0.5', share: '/srv/nfs', subDir: 'ns/pvc-1', uuid: 'pvc-1', onDelete };
      const id = encodeVolumeId(ref);
      assert.deepEqual(decodeVolumeId(id), ref);
    }
    assert.equal(
      encodeVolumeId({ server: 's', share: '/export', subDir: 'pvc-1', uuid: '', onDelete: 'delete' }),
      's#export#pvc-1##',
    );
  });

  it('treats foreign ids as not ours', function () {
    for (const id of ['', 'plain-name', 'a#b#../x##', 'a#b#c#d#shred', 'a#b#c#d#e#f']) {
      assert.equal(decodeVolumeId(id), undefined, id);
    }
  });

  it('builds mount(8) sources and argv', function () {
    assert.equal(mountSource('10.0.0.5', '/export', 'pvc-1'), '10.0.0.5:/export/pvc-1');
    assert.equal(mountSource('fd00::5', '/export', ''), '[fd00::5]:/export');
    assert.deepEqual(mountOptionsFor(['nfsvers=3', 'hard'], 'hard,nolock', true), [
      'nfsvers=3',
      'hard',
      'nolock',
      'ro',
    ]);
    assert.deepEqual(mountArgs('s:/e', '/t', []), ['-t', 'nfs', 's:/e', '/t']);
    assert.deepEqual(mountArgs('s:/e', '/t', ['ro']), ['-t', 'nfs', '-o', 'ro', 's:/e', '/t']);
  });

  it('maps in-tree spec.nfs sources for the node agent', function () {
    assert.deepEqual(nfsSourceToVolumeContext({ server: '172.17.0.2', path: '/tmp' }), {
      server: '172.17.0.2',
      share: '/tmp',
    });
    const handle = nfsSourceToVolumeHandle({ server: '172.17.0.2', path: '/tmp' });
    assert.equal(decodeVolumeId(handle)?.onDelete, 'retain');
  });
});
