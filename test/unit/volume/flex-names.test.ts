import assert from 'node:assert/strict';
import { parseUniqueFlexVolumeName, uniqueFlexVolumeName } from '../../../src/volume/flex-names.js';

describe('flexvolume/names: unique volume names in node status', function () {
  it('round-trips flexvolume-<vendor>/<driver>/<volumeName>', function () {
    const name = uniqueFlexVolumeName('berth/loop', 'pv-loop');
    assert.equal(name, 'flexvolume-berth/loop/pv-loop');
    assert.deepEqual(parseUniqueFlexVolumeName(name), { driver: 'berth/loop', volumeName: 'pv-loop' });
  });

  for (const name of [
    'kubernetes.io/csi/d^h',
    'flexvolume-berth/loop',
    'flexvolume-berth/loop/a/b',
    'flexvolume-berth/loop/..',
    'flexvolume-/loop/v',
  ]) {
    it(`refuses ${JSON.stringify(name)}`, function () {
      assert.equal(parseUniqueFlexVolumeName(name), undefined);
    });
  }
});
