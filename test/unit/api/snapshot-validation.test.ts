// snapshot.storage.k8s.io/v1 validation, case by case as the CRDs' schema and CEL rules and the
// snapshot validation webhook state them: create rules, then update rules, then the printers.
import assert from 'node:assert/strict';
import { isStatusError } from '../../../src/api/errors.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { prepareCreate, prepareUpdate } from '../../../src/api/validate.js';
import { resolveResource } from '../../../src/api/kinds.js';
import { conflictingDefaultClass } from '../../../src/apiserver/snapshot-admission.js';
import { printerFor } from '../../../src/apiserver/printers.js';
import type { VolumeSnapshotClass } from '../../../src/api/snapshot-types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- cases poke at fields freely
type Json = any;

const API = 'snapshot.storage.k8s.io/v1';
const snapshot = (source: Json, extra: Json = {}): KubeObject => ({
  apiVersion: API,
  kind: 'VolumeSnapshot',
  metadata: { name: 'snap1', namespace: 'default' },
  spec: { source, ...extra },
});
const content = (spec: Json = {}): KubeObject => ({
  apiVersion: API,
  kind: 'VolumeSnapshotContent',
  metadata: { name: 'content1' },
  spec: {
    volumeSnapshotRef: { name: 'snap1', namespace: 'default' },
    deletionPolicy: 'Delete',
    driver: 'local.csi.berth.io',
    source: { snapshotHandle: 'node1/snapshots/s1' },
    ...spec,
  },
});
const vsclass = (extra: Json = {}): KubeObject => ({
  apiVersion: API,
  kind: 'VolumeSnapshotClass',
  metadata: { name: 'class1' },
  driver: 'local.csi.berth.io',
  deletionPolicy: 'Delete',
  ...extra,
});

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isStatusError(err), String(err));
    return err.message;
  }
  assert.fail('expected the object to be refused');
}

describe('snapshot API validation', () => {
  const createCases: { name: string; obj: KubeObject; refused?: string }[] = [
    { name: 'snapshot of a claim', obj: snapshot({ persistentVolumeClaimName: 'data' }) },
    { name: 'pre-provisioned snapshot', obj: snapshot({ volumeSnapshotContentName: 'content1' }) },
    {
      name: 'both sources',
      obj: snapshot({ persistentVolumeClaimName: 'data', volumeSnapshotContentName: 'c' }),
      refused: 'spec.source: Invalid value',
    },
    {
      name: 'no source',
      obj: snapshot({}),
      refused: 'exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set',
    },
    {
      name: 'empty class name',
      obj: snapshot({ persistentVolumeClaimName: 'data' }, { volumeSnapshotClassName: '' }),
      refused: 'volumeSnapshotClassName must not be the empty string when set',
    },
    {
      name: 'claim name not a DNS subdomain',
      obj: snapshot({ persistentVolumeClaimName: 'Data_1' }),
      refused: 'spec.source.persistentVolumeClaimName: Invalid value: "Data_1"',
    },
    {
      name: 'unknown field',
      obj: snapshot({ persistentVolumeClaimName: 'data', pvc: 'x' }),
      refused: 'unknown field "spec.source.pvc"',
    },
    { name: 'content, static', obj: content() },
    {
      name: 'content with both handles',
      obj: content({ source: { snapshotHandle: 'a', volumeHandle: 'b' } }),
      refused: 'exactly one of volumeHandle and snapshotHandle must be set',
    },
    {
      name: 'content without a snapshot namespace',
      obj: content({ volumeSnapshotRef: { name: 'snap1' } }),
      refused: 'both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set',
    },
    {
      name: 'content with a wrong deletion policy',
      obj: content({ deletionPolicy: 'Recycle' }),
      refused: 'spec.deletionPolicy: Unsupported value: "Recycle"',
    },
    {
      name: 'content without a driver',
      obj: content({ driver: '' }),
      refused: 'spec.driver: Required value',
    },
    { name: 'class', obj: vsclass({ parameters: { a: 'b' } }) },
    {
      name: 'class without a deletion policy',
      obj: vsclass({ deletionPolicy: undefined }),
      refused: 'deletionPolicy: Required value',
    },
    {
      name: 'class with a wrong deletion policy',
      obj: vsclass({ deletionPolicy: 'delete' }),
      refused: 'deletionPolicy: Unsupported value: "delete": supported values: "Delete", "Retain"',
    },
    {
      name: 'class with a wrong driver name',
      obj: vsclass({ driver: 'no spaces allowed' }),
      refused: 'driver: Invalid value: "no spaces allowed"',
    },
  ];
  for (const c of createCases) {
    it(`create: ${c.name}`, () => {
      const obj = structuredClone(c.obj);
      if (c.refused === undefined) prepareCreate(obj);
      else
        assert.match(
          refusal(() => prepareCreate(obj)),
          new RegExp(escape(c.refused)),
        );
    });
  }

  const stored = (o: KubeObject): KubeObject => {
    const created = prepareCreate(structuredClone(o)) as Json;
    created.metadata = { ...created.metadata, uid: 'uid-1', resourceVersion: '7' };
    return created as KubeObject;
  };
  const updateCases: { name: string; old: KubeObject; change: (o: Json) => void; refused?: string }[] = [
    {
      name: 'snapshot source claim is immutable',
      old: snapshot({ persistentVolumeClaimName: 'data' }),
      change: (o) => (o.spec.source.persistentVolumeClaimName = 'other'),
      refused:
        'spec.source.persistentVolumeClaimName: Invalid value: "other": persistentVolumeClaimName is immutable',
    },
    {
      name: 'snapshot source cannot switch to a content',
      old: snapshot({ persistentVolumeClaimName: 'data' }),
      change: (o) => (o.spec.source = { volumeSnapshotContentName: 'c' }),
      refused: 'persistentVolumeClaimName is required once set',
    },
    {
      name: 'default class may be filled in',
      old: snapshot({ persistentVolumeClaimName: 'data' }),
      change: (o) => (o.spec.volumeSnapshotClassName = 'class1'),
    },
    {
      name: 'class cannot change once set',
      old: snapshot({ persistentVolumeClaimName: 'data' }, { volumeSnapshotClassName: 'a' }),
      change: (o) => (o.spec.volumeSnapshotClassName = 'b'),
      refused: 'volumeSnapshotClassName is immutable',
    },
    {
      name: 'content handle immutable',
      old: content(),
      change: (o) => (o.spec.source.snapshotHandle = 'other'),
      refused: 'spec.source.snapshotHandle: Invalid value: "other": snapshotHandle is immutable',
    },
    {
      name: 'content ref uid may be filled in',
      old: content(),
      change: (o) => (o.spec.volumeSnapshotRef.uid = 'u1'),
    },
    {
      name: 'bound content cannot move to another snapshot',
      old: content({ volumeSnapshotRef: { name: 'snap1', namespace: 'default', uid: 'u1' } }),
      change: (o) => (o.spec.volumeSnapshotRef = { name: 'snap2', namespace: 'default', uid: 'u2' }),
      refused: 'spec.volumeSnapshotRef: Forbidden: may not be changed to another VolumeSnapshot once bound',
    },
    {
      name: 'content deletion policy may change',
      old: content(),
      change: (o) => (o.spec.deletionPolicy = 'Retain'),
    },
  ];
  for (const c of updateCases) {
    it(`update: ${c.name}`, () => {
      const old = stored(c.old);
      const next = structuredClone(old) as Json;
      c.change(next);
      if (c.refused === undefined) prepareUpdate(next, old);
      else
        assert.match(
          refusal(() => prepareUpdate(next, old)),
          new RegExp(escape(c.refused)),
        );
    });
  }

  it('one default class per driver', () => {
    const ann = { 'snapshot.storage.kubernetes.io/is-default-class': 'true' };
    const a = vsclass({ metadata: { name: 'a', annotations: ann } }) as VolumeSnapshotClass;
    const b = vsclass({ metadata: { name: 'b', annotations: ann } }) as VolumeSnapshotClass;
    const otherDriver = { ...b, driver: 'rbd.csi.ceph.com' } as VolumeSnapshotClass;
    const plain = vsclass({ metadata: { name: 'c' } }) as VolumeSnapshotClass;
    assert.equal(conflictingDefaultClass(b, [a])?.metadata.name, 'a');
    assert.equal(conflictingDefaultClass(a, [a]), undefined, 'a class does not conflict with itself');
    assert.equal(conflictingDefaultClass(otherDriver, [a]), undefined);
    assert.equal(conflictingDefaultClass(plain, [a]), undefined);
  });

  it('short names resolve', () => {
    assert.equal(resolveResource('vs')?.kind, 'VolumeSnapshot');
    assert.equal(resolveResource('vsc')?.kind, 'VolumeSnapshotContent');
    assert.equal(resolveResource('vsclass')?.kind, 'VolumeSnapshotClass');
    assert.equal(resolveResource('vsclasses')?.kind, 'VolumeSnapshotClass');
    assert.equal(resolveResource('volumesnapshots.snapshot.storage.k8s.io')?.kind, 'VolumeSnapshot');
  });

  it("printer columns are upstream's", () => {
    const now = new Date('2026-01-01T00:10:00Z');
    const vs = {
      ...snapshot({ persistentVolumeClaimName: 'data' }, { volumeSnapshotClassName: 'class1' }),
      metadata: { name: 'snap1', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' },
      status: {
        readyToUse: true,
        restoreSize: '1Gi',
        boundVolumeSnapshotContentName: 'snapcontent-1',
        creationTime: '2026-01-01T00:05:00Z',
      },
    } as KubeObject;
    const printer = printerFor('VolumeSnapshot');
    assert.deepEqual(
      printer.columns.map((c) => c.name.toUpperCase()),
      [
        'NAME',
        'READYTOUSE',
        'SOURCEPVC',
        'SOURCESNAPSHOTCONTENT',
        'RESTORESIZE',
        'SNAPSHOTCLASS',
        'SNAPSHOTCONTENT',
        'CREATIONTIME',
        'AGE',
      ],
    );
    assert.deepEqual(printer.cells(vs, now), [
      'snap1',
      true,
      'data',
      null,
      '1Gi',
      'class1',
      'snapcontent-1',
      '5m',
      '10m',
    ]);
    assert.deepEqual(
      printerFor('VolumeSnapshotContent').columns.map((c) => c.name),
      [
        'Name',
        'ReadyToUse',
        'RestoreSize',
        'DeletionPolicy',
        'Driver',
        'VolumeSnapshotClass',
        'VolumeSnapshot',
        'VolumeSnapshotNamespace',
        'Age',
      ],
    );
    assert.deepEqual(
      printerFor('VolumeSnapshotClass').columns.map((c) => c.name),
      ['Name', 'Driver', 'DeletionPolicy', 'Age'],
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
