// Table-driven cases for the snapshot controller and the csi-snapshotter sidecar's decisions,
// after external-snapshotter's controller cases: class choice, dynamic and static binding,
// errors recorded once, status copying with its events, and deletion by deletionPolicy.
import assert from 'node:assert/strict';
import { SNAPSHOT_API_VERSION } from '../../../src/api/snapshot-types.js';
import type {
  VolumeSnapshot,
  VolumeSnapshotClass,
  VolumeSnapshotContent,
} from '../../../src/api/snapshot-types.js';
import { chooseClass, decideSnapshot, type SnapshotView } from '../../../src/snapshot/snapshot-decide.js';
import { decideSnapshotter } from '../../../src/snapshot/snapshotter-decide.js';
import {
  ANN_IS_DEFAULT_SNAPSHOT_CLASS,
  ANN_SNAPSHOT_BEING_CREATED,
  ANN_SNAPSHOT_BEING_DELETED,
  FINALIZER_CONTENT_BOUND,
  FINALIZER_SNAPSHOT_AS_SOURCE,
  FINALIZER_SNAPSHOT_BOUND,
} from '../../../src/volume/snapshot-names.js';
import { newClaim, newVolume } from '../../helpers/builders.js';

const NOW = '2026-12-07T00:00:00Z';
const DRIVER = 'local.csi.berth.dev';

function vsclass(name: string, driver = DRIVER, isDefault = false): VolumeSnapshotClass {
  return {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: 'VolumeSnapshotClass',
    metadata: { name, ...(isDefault ? { annotations: { [ANN_IS_DEFAULT_SNAPSHOT_CLASS]: 'true' } } : {}) },
    driver,
    deletionPolicy: 'Delete',
  };
}

function snapshot(
  source: VolumeSnapshot['spec']['source'],
  extra: Partial<VolumeSnapshot> = {},
): VolumeSnapshot {
  return {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: 'VolumeSnapshot',
    metadata: { name: 'snap', namespace: 'default', uid: 'uid-snap' },
    spec: { source },
    ...extra,
  };
}

function content(
  name: string,
  ref: { name?: string; uid?: string },
  extra: Partial<VolumeSnapshotContent['spec']> = {},
): VolumeSnapshotContent {
  return {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: 'VolumeSnapshotContent',
    metadata: { name },
    spec: {
      volumeSnapshotRef: {
        name: ref.name ?? 'snap',
        namespace: 'default',
        ...(ref.uid ? { uid: ref.uid } : {}),
      },
      deletionPolicy: 'Delete',
      driver: DRIVER,
      source: { snapshotHandle: 'handle-1' },
      ...extra,
    },
  };
}

const boundClaim = newClaim('data', '1Gi', { volumeName: 'pv-data', phase: 'Bound' });
const csiVolume = newVolume('pv-data', '1Gi', { source: 'csi', claim: { name: 'data', uid: 'uid-data' } });

function view(partial: Partial<SnapshotView> & Pick<SnapshotView, 'snapshot'>): SnapshotView {
  return { content: undefined, claim: undefined, volume: undefined, classes: [], restoring: [], ...partial };
}

const summary = (actions: ReturnType<typeof decideSnapshot>): string[] =>
  actions.map((a) => {
    switch (a.type) {
      case 'event':
        return `event ${a.eventType} ${a.reason}`;
      case 'addFinalizers':
      case 'removeFinalizers':
        return `${a.type} ${a.finalizers.map((f) => f.split('/')[1]).join(',')}`;
      case 'setClass':
        return `setClass ${a.className}`;
      case 'createContent':
        return `createContent ${a.content.metadata.name ?? ''}`;
      case 'bindContent':
        return `bindContent ${a.uid}`;
      case 'deleteContent':
        return `deleteContent ${a.content.metadata.name ?? ''}`;
      case 'status':
        return `status ${a.status.error ? `error: ${a.status.error.message ?? ''}` : `ready=${String(a.status.readyToUse)}`}`;
      case 'protectClaim':
        return a.type;
    }
  });

describe('snapshot chooseClass', function () {
  const cases: {
    name: string;
    named?: string;
    classes: VolumeSnapshotClass[];
    want: string;
  }[] = [
    { name: 'the named class', named: 'gold', classes: [vsclass('gold')], want: 'gold' },
    {
      name: 'a named class that does not exist',
      named: 'gold',
      classes: [],
      want: 'error: volumesnapshotclass.snapshot.storage.k8s.io "gold" not found',
    },
    {
      name: 'a named class of another driver',
      named: 'other',
      classes: [vsclass('other', 'rbd.csi.berth.dev')],
      want: `error: VolumeSnapshotClass other is for driver rbd.csi.berth.dev; the volume's driver is ${DRIVER}`,
    },
    {
      name: "the driver's one default class",
      classes: [vsclass('plain'), vsclass('default', DRIVER, true), vsclass('x', 'other', true)],
      want: 'default',
    },
    {
      name: 'no default class',
      classes: [vsclass('plain')],
      want: `error: cannot find default snapshot class for driver ${DRIVER}`,
    },
    {
      name: 'two default classes',
      classes: [vsclass('a', DRIVER, true), vsclass('b', DRIVER, true)],
      want: 'error: 2 default snapshot classes were found',
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      const snap = snapshot({ persistentVolumeClaimName: 'data' });
      if (c.named) snap.spec.volumeSnapshotClassName = c.named;
      const got = chooseClass(snap, DRIVER, c.classes);
      assert.equal('error' in got ? `error: ${got.error}` : got.vsclass.metadata.name, c.want);
    });
  }
});

describe('snapshot controller decideSnapshot', function () {
  const held = { finalizers: [FINALIZER_SNAPSHOT_AS_SOURCE] };
  const cases: { name: string; view: SnapshotView; want: string[] }[] = [
    {
      name: 'a new dynamic snapshot gets its finalizer and the default class first',
      view: view({
        snapshot: snapshot({ persistentVolumeClaimName: 'data' }),
        claim: boundClaim,
        volume: csiVolume,
        classes: [vsclass('default', DRIVER, true)],
      }),
      want: ['addFinalizers volumesnapshot-as-source-protection', 'setClass default'],
    },
    {
      name: 'with its class: the claim is protected and the content created',
      view: view({
        snapshot: snapshot(
          { persistentVolumeClaimName: 'data' },
          { spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'default' } },
        ),
        claim: boundClaim,
        volume: csiVolume,
        classes: [vsclass('default', DRIVER, true)],
      }),
      want: [
        'addFinalizers volumesnapshot-as-source-protection',
        'protectClaim',
        'createContent snapcontent-uid-snap',
        'event Normal CreatingSnapshot',
      ],
    },
    {
      name: 'a missing claim is an error in status and a Warning',
      view: view({
        snapshot: {
          ...snapshot({ persistentVolumeClaimName: 'data' }),
          metadata: { name: 'snap', namespace: 'default', uid: 'uid-snap', ...held },
        },
      }),
      want: [
        'status error: failed to get input parameters to create snapshot: PVC "data" not found',
        'event Warning SnapshotContentCreationFailed',
      ],
    },
    {
      name: 'the same error already recorded writes nothing',
      view: view({
        snapshot: {
          ...snapshot({ persistentVolumeClaimName: 'data' }),
          metadata: { name: 'snap', namespace: 'default', uid: 'uid-snap', ...held },
          status: {
            readyToUse: false,
            error: { message: 'failed to get input parameters to create snapshot: PVC "data" not found' },
          },
        },
      }),
      want: [],
    },
    {
      name: 'an unbound claim is not snapshotted',
      view: view({
        snapshot: {
          ...snapshot({ persistentVolumeClaimName: 'data' }),
          metadata: { name: 'snap', namespace: 'default', uid: 'uid-snap', ...held },
        },
        claim: newClaim('data', '1Gi'),
      }),
      want: [
        'status error: the PVC data is not yet bound to a PV, will not attempt to take a snapshot',
        'event Warning SnapshotContentCreationFailed',
      ],
    },
    {
      name: 'a static snapshot whose content is missing',
      view: view({
        snapshot: {
          ...snapshot({ volumeSnapshotContentName: 'pre' }),
          metadata: { name: 'snap', namespace: 'default', uid: 'uid-snap', ...held },
        },
      }),
      want: ['status error: VolumeSnapshotContent pre is missing', 'event Warning SnapshotContentMissing'],
    },
    {
      name: 'a static content that points at another snapshot is never taken',
      view: view({
        snapshot: {
          ...snapshot({ volumeSnapshotContentName: 'pre' }),
          metadata: { name: 'snap', namespace: 'default', uid: 'uid-snap', ...held },
        },
        content: content('pre', { name: 'someone-else' }),
      }),
      want: [
        'status error: VolumeSnapshotContent pre is bound to another snapshot (default/someone-else)',
        'event Warning SnapshotMisbound',
      ],
    },
    {
      name: "a static content without the snapshot's uid is bound, and its status copied",
      view: view({
        snapshot: {
          ...snapshot({ volumeSnapshotContentName: 'pre' }),
          metadata: { name: 'snap', namespace: 'default', uid: 'uid-snap', ...held },
        },
        content: content('pre', {}),
      }),
      want: ['bindContent uid-snap', 'status ready=false'],
    },
    {
      name: 'a ready content: status copied with SnapshotCreated and SnapshotReady, once',
      view: view({
        snapshot: {
          ...snapshot({ volumeSnapshotContentName: 'pre' }),
          metadata: { name: 'snap', namespace: 'default', uid: 'uid-snap', ...held },
        },
        content: {
          ...content('pre', { uid: 'uid-snap' }),
          status: { readyToUse: true, creationTime: 1_700_000_000_000_000_000, restoreSize: 1073741824 },
        },
      }),
      want: ['status ready=true', 'event Normal SnapshotCreated', 'event Normal SnapshotReady'],
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      assert.deepEqual(summary(decideSnapshot(c.view, NOW)), c.want);
    });
  }

  describe('deletion', function () {
    const deleting = (finalizers: string[]): VolumeSnapshot => ({
      ...snapshot({ volumeSnapshotContentName: 'pre' }),
      metadata: { name: 'snap', namespace: 'default', uid: 'uid-snap', deletionTimestamp: NOW, finalizers },
      status: { boundVolumeSnapshotContentName: 'pre', readyToUse: true },
    });
    const both = [FINALIZER_SNAPSHOT_AS_SOURCE, FINALIZER_SNAPSHOT_BOUND];
    const table: { name: string; view: SnapshotView; want: string[] }[] = [
      {
        name: 'waits while claims are restored from it',
        view: view({
          snapshot: deleting(both),
          content: content('pre', { uid: 'uid-snap' }),
          restoring: ['b', 'a'],
        }),
        want: ['event Warning SnapshotDeletePending'],
      },
      {
        name: 'a bound Delete content is deleted first',
        view: view({ snapshot: deleting(both), content: content('pre', { uid: 'uid-snap' }) }),
        want: ['deleteContent pre'],
      },
      {
        name: 'a Retain content is kept; the finalizers go',
        view: view({
          snapshot: deleting(both),
          content: content('pre', { uid: 'uid-snap' }, { deletionPolicy: 'Retain' }),
        }),
        want: ['removeFinalizers volumesnapshot-as-source-protection,volumesnapshot-bound-protection'],
      },
      {
        name: 'nothing to do once its finalizers are gone',
        view: view({ snapshot: deleting([]), content: content('pre', { uid: 'uid-snap' }) }),
        want: [],
      },
    ];
    for (const c of table) {
      it(c.name, function () {
        assert.deepEqual(summary(decideSnapshot(c.view, NOW)), c.want);
      });
    }
  });
});

describe('csi-snapshotter decideSnapshotter', function () {
  const dynamic = (
    extra: {
      status?: VolumeSnapshotContent['status'];
      deleting?: boolean;
      annotations?: Record<string, string>;
      policy?: 'Delete' | 'Retain';
    } = {},
  ): VolumeSnapshotContent => ({
    ...content(
      'snapcontent-1',
      { uid: 'uid-snap' },
      { source: { volumeHandle: 'vol-1' }, deletionPolicy: extra.policy ?? 'Delete' },
    ),
    metadata: {
      name: 'snapcontent-1',
      finalizers: [FINALIZER_CONTENT_BOUND],
      ...(extra.deleting ? { deletionTimestamp: NOW } : {}),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    ...(extra.status ? { status: extra.status } : {}),
  });
  const cases: { name: string; content: VolumeSnapshotContent; alive: boolean; want: string }[] = [
    { name: 'a new dynamic content: CreateSnapshot', content: dynamic(), alive: true, want: 'create' },
    {
      name: 'not ready yet: CreateSnapshot again (idempotent by name)',
      content: dynamic({ status: { snapshotHandle: 'h', readyToUse: false } }),
      alive: true,
      want: 'create',
    },
    {
      name: 'ready: nothing',
      content: dynamic({ status: { snapshotHandle: 'h', readyToUse: true } }),
      alive: true,
      want: 'skip',
    },
    {
      name: 'pre-provisioned: ListSnapshots by handle',
      content: content('pre', { uid: 'u' }),
      alive: true,
      want: 'check handle-1',
    },
    {
      name: 'deleted while its snapshot exists: wait',
      content: dynamic({ deleting: true, status: { snapshotHandle: 'h' } }),
      alive: true,
      want: 'wait',
    },
    {
      name: 'deleted, marked by the controller: DeleteSnapshot',
      content: dynamic({
        deleting: true,
        status: { snapshotHandle: 'h' },
        annotations: { [ANN_SNAPSHOT_BEING_DELETED]: 'yes' },
      }),
      alive: true,
      want: 'delete h',
    },
    {
      name: 'deleted while a CreateSnapshot may be in flight: ask again to learn the handle',
      content: dynamic({ deleting: true, annotations: { [ANN_SNAPSHOT_BEING_CREATED]: 'yes' } }),
      alive: false,
      want: 'create',
    },
    {
      name: 'deleted, never created: release',
      content: dynamic({ deleting: true }),
      alive: false,
      want: 'release',
    },
    {
      name: 'deleted with Retain: release without DeleteSnapshot',
      content: dynamic({ deleting: true, status: { snapshotHandle: 'h' }, policy: 'Retain' }),
      alive: false,
      want: 'release',
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      const got = decideSnapshotter(c.content, { snapshotAlive: c.alive });
      const text = 'handle' in got ? `${got.type} ${got.handle}` : got.type;
      assert.equal(text, c.want);
    });
  }
});
