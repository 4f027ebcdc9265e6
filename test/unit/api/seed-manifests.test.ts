// Every repaired seed manifest is a fixture: valid documents load and validate; documents with
// real errors get the API server's error for the field (shared/reference/seeds-storage.md §2).
import assert from 'node:assert/strict';
import { isStatusError } from '../../../src/api/errors.js';
import { parseManifests } from '../../../src/api/manifests.js';
import type { KubeObject } from '../../../src/api/meta.js';
import type { PersistentVolumeClaim, StatefulSet } from '../../../src/api/types.js';
import { prepareCreate } from '../../../src/api/validate.js';
import { readSeed, seedFiles } from '../../helpers/seeds.js';

type Expect =
  | 'ok'
  | { load: string } // the manifest loader refuses the document
  | { code: number; field: string; message: string }; // the API server refuses the object

const kindMissing = { load: "Object 'Kind' is missing" };
const notAMap = { load: 'Object is not a map' };
const noMatch = (kind: string, version: string) => ({
  load: `no matches for kind "${kind}" in version "${version}"`,
});

const expected: Record<string, Expect[]> = {
  M01: ['ok'],
  M02: ['ok'],
  M05: ['ok'],
  M06: ['ok'],
  M07: [kindMissing], // a fragment of a pod spec
  M09: [
    'ok',
    {
      code: 422,
      field: 'spec.accessModes[0]',
      message:
        'PersistentVolumeClaim "mysql-pv-claim" is invalid: spec.accessModes[0]: Unsupported value: "ReadWriteOnly": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
    },
    'ok',
  ],
  M10: ['ok', 'ok', 'ok'],
  M11: [
    {
      code: 400,
      field: 'spec.volumes[0].rbd.imageformat',
      message:
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.volumes[0].rbd.imageformat", unknown field "spec.volumes[0].rbd.imagefeature"',
    },
  ],
  M12: ['ok'],
  M13: ['ok'],
  M14: [
    {
      code: 400,
      field: 'spec.rbd.imageformat',
      message:
        'PersistentVolume in version "v1" cannot be handled as a PersistentVolume: strict decoding error: unknown field "spec.rbd.imageformat", unknown field "spec.rbd.imagefeatures"',
    },
  ],
  M15: ['ok'], // the StatefulSet is valid; its claims are not (see below)
  M16: ['ok'],
  M17a: [kindMissing],
  M17b: [kindMissing],
  M17c: [notAMap],
  M17d: [notAMap],
  M17e: [kindMissing],
  M18: [noMatch('Pool', 'ceph.rook.io/v1beta1'), 'ok'],
  M19: [noMatch('StatefulSet', 'apps/v1beta2')],
  M20: ['ok'],
  M21: ['ok'],
  M22: ['ok'],
  M23: [
    {
      code: 422,
      field: 'metadata.name',
      message:
        'Pod "pv-recycler-" is invalid: metadata.name: Invalid value: "pv-recycler-": a lowercase RFC 1123 subdomain',
    },
  ],
  M24: ['ok'],
  M26: ['ok'],
  M27: ['ok'],
  M28: ['ok'],
  M29: ['ok'],
  M30: ['ok'],
  M31: ['ok'],
  M32: Array<Expect>(10).fill('ok'),
  M33: ['ok'],
  M34: ['ok'],
  M35: ['ok'],
  M36: [
    {
      code: 422,
      field: 'metadata.name',
      message: 'Pod "" is invalid: metadata.name: Required value: name or generateName is required',
    },
  ],
  M37: ['ok'],
  M38: [noMatch('Pool', 'ceph.rook.io/v1beta1'), 'ok'],
  M39: ['ok'],
  M40: ['ok'],
  M41: ['ok'],
  M42: ['ok'],
  M43: ['ok'],
  M44: ['ok'],
  M45: ['ok'],
  M46: ['ok'],
  M47: [noMatch('DaemonSet', 'apps/v1beta2'), noMatch('StatefulSet', 'apps/v1beta1')],
  M48: ['ok'],
  M49: ['ok'],
  M50: [kindMissing],
  M51: ['ok', 'ok', noMatch('Ingress', 'extensions/v1beta1'), noMatch('StatefulSet', 'apps/v1beta2')],
  M52: [
    'ok',
    'ok',
    'ok',
    noMatch('Role', 'rbac.authorization.k8s.io/v1beta1'),
    noMatch('RoleBinding', 'rbac.authorization.k8s.io/v1beta1'),
    'ok',
    noMatch('Ingress', 'extensions/v1beta1'),
    noMatch('StatefulSet', 'apps/v1beta2'),
  ],
  M53: ['ok'],
  M54: ['ok'],
  M55: ['ok'],
  M56: [kindMissing],
  P08: [noMatch('Pod', 'v0')],
  P09: ['ok'],
  P10: [noMatch('Deployment', 'extensions/v1beta1')],
  P11: [kindMissing],
  P13: ['ok'],
};

function loadSeedObjects(id: string): KubeObject[] {
  return parseManifests(readSeed(`${id}.repaired.yaml`), id).flatMap((d) => (d.object ? [d.object] : []));
}

describe('seed manifests (table)', function () {
  it('covers every repaired seed manifest', function () {
    const ids = seedFiles().map((f) => f.replace('.repaired.yaml', ''));
    assert.deepEqual(
      ids.filter((id) => !(id in expected)),
      [],
    );
  });

  for (const [id, docs] of Object.entries(expected)) {
    it(`${id}: ${docs.map((d) => (d === 'ok' ? 'ok' : 'load' in d ? 'not loadable' : d.code)).join(', ')}`, function () {
      const parsed = parseManifests(readSeed(`${id}.repaired.yaml`), id);
      assert.equal(parsed.length, docs.length, 'document count');
      parsed.forEach((doc, i) => {
        const want = docs[i]!;
        if (typeof want === 'object' && 'load' in want) {
          assert.ok(doc.error?.includes(want.load), `document ${i + 1}: ${doc.error}`);
          assert.match(doc.error ?? '', new RegExp(`^${id}: document ${doc.index} \\(line \\d+\\): `));
          return;
        }
        assert.equal(doc.error, undefined, `document ${i + 1} loads`);
        if (want === 'ok') {
          prepareCreate(structuredClone(doc.object));
          return;
        }
        assert.throws(
          () => prepareCreate(structuredClone(doc.object)),
          (e: unknown) =>
            isStatusError(e) &&
            e.code === want.code &&
            e.message.startsWith(want.message) &&
            (e.details?.causes ?? []).some((c) => c.field === want.field),
        );
      });
    });
  }

  it('M15: the claim www-web-0 made from the template gets the API server error from the issue', function () {
    const [sts] = loadSeedObjects('M15') as [StatefulSet];
    const template = sts.spec.volumeClaimTemplates![0]!;
    const claim: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: `${template.metadata.name}-${sts.metadata.name}-0`, namespace: 'default' },
      spec: structuredClone(template.spec),
    };
    assert.throws(() => prepareCreate(claim), {
      message:
        'PersistentVolumeClaim "www-web-0" is invalid: spec.accessModes[0]: Unsupported value: "ReadWriteOnly": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
    });
  });

  it('M40: the local PV is defaulted and keeps its node affinity', function () {
    const [pv] = loadSeedObjects('M40');
    const out = prepareCreate(pv) as unknown as { spec: Record<string, unknown>; status: { phase: string } };
    assert.equal(out.spec['persistentVolumeReclaimPolicy'], 'Delete');
    assert.equal(out.spec['volumeMode'], 'Filesystem');
    assert.equal(out.status.phase, 'Pending');
    assert.ok(out.spec['nodeAffinity']);
  });

  it('M45: a namespace on a StorageClass is dropped, as the API server does for cluster-scoped kinds', function () {
    const [sc] = loadSeedObjects('M45');
    assert.ok(sc!.metadata.namespace);
    const out = prepareCreate(sc);
    assert.equal(out.metadata.namespace, undefined);
    assert.equal(out['volumeBindingMode'], 'Immediate');
    assert.equal(out['reclaimPolicy'], 'Delete');
  });

  it('M14 with the unknown RBD fields removed is still invalid: a PV needs accessModes', function () {
    const [pv] = loadSeedObjects('M14') as [{ spec: { rbd: Record<string, unknown> } } & KubeObject];
    delete pv.spec.rbd['imageformat'];
    delete pv.spec.rbd['imagefeatures'];
    assert.throws(() => prepareCreate(pv), {
      message:
        'PersistentVolume "pv-colume" is invalid: spec.accessModes: Required value: at least 1 access mode is required',
    });
  });
});
