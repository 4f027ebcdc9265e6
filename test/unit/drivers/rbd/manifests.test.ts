// The seed's in-tree RBD manifests (M11 inline pod volume, M14 PV, M29 kubernetes.io/rbd class) and
// the CSI examples that replace them: what loads, and the API errors the seeds really have.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isStatusError } from '../../../../src/api/errors.js';
import { parseManifests } from '../../../../src/api/manifests.js';
import type { StorageClass } from '../../../../src/api/types.js';
import { prepareCreate } from '../../../../src/api/validate.js';
import { parseClusterConfig } from '../../../../src/drivers/rbd/config.js';
import { parseClassParameters } from '../../../../src/drivers/rbd/decide.js';
import { DRIVER_NAME } from '../../../../src/drivers/rbd/names.js';
import { readSeed } from '../../../helpers/seeds.js';

const examples = path.join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'rbd');

function unknownFieldError(id: string): string {
  const [doc] = parseManifests(readSeed(`${id}.repaired.yaml`), id);
  assert.equal(doc?.error, undefined);
  try {
    prepareCreate(structuredClone(doc!.object!));
  } catch (err) {
    assert.ok(isStatusError(err));
    return err.message;
  }
  return 'accepted';
}

describe('rbd manifests', function () {
  it('the seed M29 kubernetes.io/rbd class loads', function () {
    const [doc] = parseManifests(readSeed('M29.repaired.yaml'), 'M29');
    const sc = prepareCreate(structuredClone(doc!.object!)) as unknown as StorageClass;
    assert.equal(sc.provisioner, 'kubernetes.io/rbd');
    assert.equal(sc.parameters?.['monitors'], '10.16.153.105:6789');
  });

  it('the seed M11 pod and M14 PV are refused for their unknown rbd fields', function () {
    assert.match(unknownFieldError('M11'), /unknown field "spec\.volumes\[0\]\.rbd\.imageformat"/);
    assert.match(unknownFieldError('M14'), /unknown field "spec\.rbd\.imageformat"/);
  });

  it('the CSI example class, secret and claim load, and the driver accepts the class parameters', function () {
    const docs = parseManifests(readFileSync(path.join(examples, 'storageclass.yaml'), 'utf8'), 'example');
    const objects = docs.map((doc) => {
      assert.equal(doc.error, undefined);
      return prepareCreate(structuredClone(doc.object!));
    });
    const sc = objects.find((o) => o.kind === 'StorageClass') as unknown as StorageClass;
    assert.equal(sc.provisioner, DRIVER_NAME);
    const params = parseClassParameters(sc.parameters ?? {});
    assert.deepEqual([params.clusterID, params.pool, params.mounter], ['ceph-a', 'kube', 'rbd-fuse']);
    const clusters = parseClusterConfig(
      readFileSync(path.join(examples, 'clusters.json'), 'utf8'),
      'clusters',
    );
    assert.equal(clusters.get(params.clusterID)?.monitors.length, 3);
  });
});
