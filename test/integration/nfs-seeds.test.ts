// The seed manifests about NFS (a Recycle PV, a ten-PV lab, an RWX claim and the pod using it, a
// flexVolume NFS PV) load and pass berth's API validation; their in-tree NFS sources map to this
// driver's volume context.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseManifests } from '../../src/api/manifests.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { PersistentVolume } from '../../src/api/types.js';
import { prepareCreate } from '../../src/api/validate.js';
import { nfsSourceToVolumeContext } from '../../src/drivers/nfs/index.js';
import { readSeed } from '../helpers/seeds.js';

function load(seed: string): KubeObject[] {
  const docs = parseManifests(readSeed(`${seed}.repaired.yaml`), seed);
  for (const doc of docs) assert.equal(doc.error, undefined, `${seed}: ${doc.error}`);
  return docs.map((doc) => prepareCreate(doc.object));
}

describe('NFS seed manifests', function () {
  it('M24: an NFS PV with the Recycle policy validates and maps to a volume context', function () {
    const [pv] = load('M24') as PersistentVolume[];
    assert.equal(pv?.kind, 'PersistentVolume');
    assert.equal(pv?.spec.persistentVolumeReclaimPolicy, 'Recycle');
    assert.ok(pv?.spec.nfs);
    assert.deepEqual(nfsSourceToVolumeContext(pv.spec.nfs), { server: '172.17.0.2', share: '/tmp' });
  });

  it('M32: the ten-PV NFS lab validates, every PV RWX+RWO with its own export path', function () {
    const pvs = load('M32') as PersistentVolume[];
    assert.equal(pvs.length, 10);
    const shares = new Set(pvs.map((pv) => nfsSourceToVolumeContext(pv.spec.nfs!)['share']));
    assert.equal(shares.size, 10);
    for (const pv of pvs) assert.deepEqual(pv.spec.accessModes, ['ReadWriteMany', 'ReadWriteOnce']);
  });

  it('M33 + M34: the RWX claim and the pod that mounts it validate', function () {
    const [claim] = load('M33');
    const [pod] = load('M34');
    assert.equal(claim?.kind, 'PersistentVolumeClaim');
    assert.equal(pod?.kind, 'Pod');
  });

  it('M44: the flexVolume NFS PV validates', function () {
    const [pv] = load('M44') as PersistentVolume[];
    assert.equal(pv?.spec.flexVolume?.driver, 'k8s/nfs');
  });
});

describe('examples/nfs manifests', function () {
  for (const file of ['storageclass-and-claim.yaml', 'static-pv.yaml']) {
    it(`${file} loads and validates`, function () {
      const text = readFileSync(path.join(import.meta.dirname, '..', '..', 'examples', 'nfs', file), 'utf8');
      const docs = parseManifests(text, file);
      for (const doc of docs) assert.equal(doc.error, undefined, doc.error);
      assert.ok(docs.map((doc) => prepareCreate(doc.object)).length >= 2);
    });
  }
});
