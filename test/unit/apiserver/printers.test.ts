import assert from 'node:assert/strict';
import { humanDuration } from '../../../src/api/age.js';
import { accessModesString } from '../../../src/api/access-modes.js';
import { printerFor } from '../../../src/apiserver/printers.js';
import { toTable, wantsTable } from '../../../src/apiserver/table.js';
import type { KubeObject } from '../../../src/api/meta.js';

const now = new Date('2025-01-10T12:00:00Z');
const created = '2025-01-10T11:57:58Z'; // 2m2s earlier

function headers(kind: string, wide = false): string[] {
  return printerFor(kind)
    .columns.filter((c) => wide || c.priority === 0)
    .map((c) => c.name.toUpperCase());
}

describe('server-side printing', () => {
  it('prints ages as kubectl does', () => {
    const cases: [number, string][] = [
      [-1500, '0s'],
      [-5000, '<invalid>'],
      [5_000, '5s'],
      [119_000, '119s'],
      [182_000, '3m2s'],
      [600_000, '10m'],
      [3 * 3600_000 + 5 * 60_000, '3h5m'],
      [30 * 3600_000, '30h'],
      [2 * 86400_000, '2d'],
      [3 * 86400_000 + 4 * 3600_000, '3d4h'],
      [400 * 86400_000, '400d'],
      [3 * 365 * 86400_000 + 10 * 86400_000, '3y10d'],
    ];
    for (const [ms, expected] of cases) assert.equal(humanDuration(ms), expected, `${ms}ms`);
  });

  it('abbreviates access modes in upstream order', () => {
    assert.equal(
      accessModesString(['ReadWriteOncePod', 'ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteOnce']),
      'RWO,ROX,RWOP',
    );
    assert.equal(accessModesString(undefined), '');
  });

  it('has the upstream columns for the storage kinds', () => {
    assert.deepEqual(headers('PersistentVolume', true), [
      'NAME',
      'CAPACITY',
      'ACCESS MODES',
      'RECLAIM POLICY',
      'STATUS',
      'CLAIM',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'REASON',
      'AGE',
      'VOLUMEMODE',
    ]);
    assert.deepEqual(headers('PersistentVolumeClaim', true), [
      'NAME',
      'STATUS',
      'VOLUME',
      'CAPACITY',
      'ACCESS MODES',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'AGE',
      'VOLUMEMODE',
    ]);
    assert.deepEqual(headers('StorageClass'), [
      'NAME',
      'PROVISIONER',
      'RECLAIMPOLICY',
      'VOLUMEBINDINGMODE',
      'ALLOWVOLUMEEXPANSION',
      'AGE',
    ]);
    assert.deepEqual(headers('VolumeAttachment'), ['NAME', 'ATTACHER', 'PV', 'NODE', 'ATTACHED', 'AGE']);
    assert.deepEqual(headers('Pod', true), [
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
      'IP',
      'NODE',
      'NOMINATED NODE',
      'READINESS GATES',
    ]);
    assert.deepEqual(headers('StatefulSet'), ['NAME', 'READY', 'AGE']);
    assert.deepEqual(headers('ConfigMap'), ['NAME', 'DATA', 'AGE']);
    assert.deepEqual(headers('Deployment'), ['NAME', 'AGE']);
  });

  it('prints a bound claim with canonical capacity and a volume with its claim', () => {
    const pvc: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'c', namespace: 'ns', creationTimestamp: created },
      spec: { volumeName: 'pv1', storageClassName: 'fast', volumeMode: 'Block' },
      status: { phase: 'Bound', capacity: { storage: '1.5Gi' }, accessModes: ['ReadWriteOnce'] },
    };
    assert.deepEqual(printerFor('PersistentVolumeClaim').cells(pvc, now), [
      'c',
      'Bound',
      'pv1',
      '1536Mi',
      'RWO',
      'fast',
      '<unset>',
      '2m2s',
      'Block',
    ]);
    const pv: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv1', creationTimestamp: created, deletionTimestamp: created },
      spec: {
        capacity: { storage: '2048Mi' },
        accessModes: ['ReadWriteMany'],
        persistentVolumeReclaimPolicy: 'Delete',
        claimRef: { namespace: 'ns', name: 'c' },
      },
      status: { phase: 'Bound' },
    };
    assert.deepEqual(printerFor('PersistentVolume').cells(pv, now), [
      'pv1',
      '2Gi',
      'RWX',
      'Delete',
      'Terminating',
      'ns/c',
      '',
      '<unset>',
      '',
      '2m2s',
      '<unset>',
    ]);
  });

  it('marks the default storage class', () => {
    const sc: KubeObject = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'fast', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'p',
    };
    assert.deepEqual(printerFor('StorageClass').cells(sc, now).slice(0, 5), [
      'fast (default)',
      'p',
      'Delete',
      'Immediate',
      false,
    ]);
  });

  it('builds Table documents with partial object metadata by default', () => {
    const obj: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
      data: { a: '1' },
    };
    const table = toTable('ConfigMap', [obj], { now, include: 'Metadata', resourceVersion: '7' });
    assert.equal(table['kind'], 'Table');
    assert.deepEqual(table['metadata'], { resourceVersion: '7' });
    assert.deepEqual(table['rows'], [
      {
        cells: ['x', 1, '<unknown>'],
        object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'x' } },
      },
    ]);
    const none = toTable('ConfigMap', [obj], { now, include: 'None' });
    assert.deepEqual(none['rows'], [{ cells: ['x', 1, '<unknown>'] }]);
  });

  it('recognises the Accept header kubectl sends for tables', () => {
    assert.ok(
      wantsTable(
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      ),
    );
    assert.ok(!wantsTable('application/json'));
    assert.ok(!wantsTable(undefined));
  });
});
