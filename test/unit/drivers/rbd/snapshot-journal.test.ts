import assert from 'node:assert/strict';
import { status } from '../../../../src/csi/errors.js';
import { sizeFromSource } from '../../../../src/drivers/rbd/content-source.js';
import { isReady, parseOmapListing } from '../../../../src/drivers/rbd/snapshot-journal.js';

const MIB = 1024n * 1024n;

describe('rbd snapshot journal and content sources (pure parts)', function () {
  it('parses `rados listomapvals` output, values spanning several dump lines', function () {
    const long = JSON.stringify({ uuid: 'u'.repeat(40), source: 's' });
    const hex = Buffer.from(long)
      .toString('hex')
      .match(/.{1,32}/g)!
      .map((line, i) => `${(i * 16).toString(16).padStart(8, '0')}  ${line.match(/../g)!.join(' ')}  |x|`);
    const stdout = [
      'csi.snap.one',
      'value (7 bytes) :',
      '00000000  7b 22 61 22 3a 31 7d                              |{"a":1}|',
      '00000007',
      '',
      'csi.snap.two',
      `value (${long.length} bytes) :`,
      ...hex,
      '',
    ].join('\n');
    const parsed = parseOmapListing(stdout);
    assert.equal(parsed.get('csi.snap.one'), '{"a":1}');
    assert.equal(parsed.get('csi.snap.two'), long);
    assert.equal(parseOmapListing('').size, 0);
  });

  it('counts a snapshot ready only once its size and creation time are recorded', function () {
    const reserved = { uuid: 'u', source: 's', sourceUuid: 'v' };
    assert.equal(isReady(reserved), false);
    assert.equal(isReady({ ...reserved, sizeBytes: '1', createdSeconds: 1 }), true);
  });

  it('sizes a volume from its source: as asked, never below the source, OUT_OF_RANGE under a limit', function () {
    assert.equal(sizeFromSource(null, 64n * MIB), 64n * MIB);
    assert.equal(
      sizeFromSource({ required_bytes: String(32n * MIB), limit_bytes: '0' }, 64n * MIB),
      64n * MIB,
    );
    assert.equal(
      sizeFromSource({ required_bytes: String(128n * MIB), limit_bytes: '0' }, 64n * MIB),
      128n * MIB,
    );
    assert.throws(
      () => sizeFromSource({ required_bytes: '0', limit_bytes: String(32n * MIB) }, 64n * MIB),
      (err: { code?: number }) => err.code === status.OUT_OF_RANGE,
    );
  });
});
