// mountinfo parsing: fields, escapes, optional fields, stacked mounts.
import assert from 'node:assert/strict';
import {
  isReadOnly,
  parseMountInfo,
  parseMountInfoLine,
  topMountAt,
  unescapeMountPath,
} from '../../../src/host/mountinfo.js';

describe('mountinfo', function () {
  it('parses a line with optional fields', function () {
    const entry = parseMountInfoLine(
      '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue',
    );
    assert.deepEqual(entry, {
      mountId: 36,
      parentId: 35,
      majorMinor: '98:0',
      root: '/mnt1',
      mountPoint: '/mnt2',
      mountOptions: ['rw', 'noatime'],
      optionalFields: ['master:1', 'shared:7'],
      fsType: 'ext3',
      source: '/dev/root',
      superOptions: ['rw', 'errors=continue'],
    });
  });

  it('parses a line without optional fields and unescapes paths', function () {
    const entry = parseMountInfoLine('100 27 7:3 / /tmp/a\\040b ro,relatime - ext4 /dev/loop3 rw');
    assert.equal(entry.mountPoint, '/tmp/a b');
    assert.deepEqual(entry.optionalFields, []);
    assert.equal(isReadOnly(entry), true);
    assert.equal(unescapeMountPath('a\\011b\\012c\\134d'), 'a\tb\nc\\d');
  });

  it('rejects malformed lines', function () {
    assert.throws(() => parseMountInfoLine('1 2 3'), /malformed/);
  });

  it('topMountAt returns the last (topmost) of stacked mounts', function () {
    const entries = parseMountInfo(
      [
        '1 0 8:1 / / rw - ext4 /dev/vda rw',
        '2 1 7:1 / /mnt rw - ext4 /dev/loop1 rw',
        '3 2 7:2 / /mnt ro - ext4 /dev/loop2 rw',
        '',
      ].join('\n'),
    );
    assert.equal(entries.length, 3);
    assert.equal(topMountAt(entries, '/mnt')?.source, '/dev/loop2');
    assert.equal(topMountAt(entries, '/other'), undefined);
  });
});
