import assert from 'node:assert/strict';
import {
  archiveSource,
  decodeSnapshotId,
  decodeVolumeId,
  encodeSnapshotId,
  snapshotDirName,
} from '../../../../src/drivers/nfs/names.js';
import { safeEntryPath } from '../../../../src/drivers/nfs/tree-archive.js';

describe('nfs snapshot ids, names and archive entry paths', function () {
  it('round-trips a snapshot id in csi-driver-nfs field order', function () {
    const ref = { server: '127.0.0.1', share: '/export', dir: 'snapshot-1', src: 'pvc-1' };
    const id = encodeSnapshotId(ref);
    assert.equal(id, '127.0.0.1#export#snapshot-1#pvc-1');
    assert.deepEqual(decodeSnapshotId(id), ref);
  });

  it('refuses snapshot ids that would leave the share or are not four fields', function () {
    for (const id of [
      '',
      'a#b#c',
      'a#b#c#d#e',
      '#export#s#v',
      'h#export#..#v',
      'h#export#s#..',
      'h#e#a/b#v',
      'h#e#s#a/b',
    ]) {
      assert.equal(decodeSnapshotId(id), undefined, id);
    }
  });

  it('makes one plain directory name of any snapshot name, the same every time', function () {
    assert.equal(snapshotDirName('snapshot-abc'), 'snapshot-abc');
    for (const hostile of ['../x', 'a/b', '.', '..', 'x'.repeat(300), 'naïve', '']) {
      const name = snapshotDirName(hostile);
      assert.match(name, /^snapshot~[0-9a-f]{40}$/, hostile);
      assert.equal(snapshotDirName(hostile), name);
    }
  });

  it('names the archive after the volume uuid, or its subdirectory with "/" encoded', function () {
    assert.equal(archiveSource(decodeVolumeId('h#export#pvc-1##')!), 'pvc-1');
    assert.equal(archiveSource(decodeVolumeId('h#export#ns/claim#pvc-2')!), 'pvc-2');
    assert.equal(archiveSource({ ...decodeVolumeId('h#export#ns/claim#')!, uuid: '' }), 'ns%2Fclaim');
  });

  it('keeps archive entries inside the volume', function () {
    assert.deepEqual(safeEntryPath('./a/b.txt'), ['a', 'b.txt']);
    assert.deepEqual(safeEntryPath('dir/'), ['dir']);
    for (const hostile of ['/etc/passwd', '../x', 'a/../../x', '.', './', '']) {
      assert.equal(safeEntryPath(hostile), undefined, hostile);
    }
  });
});
