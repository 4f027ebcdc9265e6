import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/types.js';
import type { ActualVolume, PodAction, VolumeAction, VolumeView } from '../../../src/node/decide.js';
import { decidePod, decideVolume } from '../../../src/node/decide.js';
import type { DesiredVolume, PodUse, PodVolumeState } from '../../../src/node/desired-state.js';
import { NODE_VOLUMES_FINALIZER, VOLUME_PATHS_ANNOTATION } from '../../../src/node/desired-state.js';
import { desiredPodStatus } from '../../../src/node/pod-status.js';

const U = 'kubernetes.io/csi/d.csi^h1';

function use(uid: string): PodUse {
  return {
    podUID: uid,
    podNamespace: 'default',
    podName: `pod-${uid}`,
    serviceAccountName: 'default',
    volumeName: 'data',
    readOnly: false,
  };
}

function desired(uids: string[], attachRequired = false): DesiredVolume {
  return {
    uniqueName: U,
    driver: 'd.csi',
    volumeHandle: 'h1',
    specName: 'pv1',
    csi: { driver: 'd.csi', volumeHandle: 'h1' },
    accessModes: ['ReadWriteOnce'],
    volumeMode: undefined,
    mountOptions: [],
    podInfoOnMount: false,
    attachRequired,
    pods: uids.map(use),
  };
}

function actual(stage: ActualVolume['stage'], pubs: [string, 'mounted' | 'uncertain'][] = []): ActualVolume {
  return {
    uniqueName: U,
    driver: 'd.csi',
    volumeHandle: 'h1',
    specName: 'pv1',
    stage,
    publishes: pubs.map(([podUID, state]) => ({ podUID, targetPath: `/t/${podUID}`, state })),
  };
}

const driver = { stageUnstage: true };
const grow = { claimNamespace: 'default', claimName: 'c1', capacity: '2Gi' };

function kinds(actions: VolumeAction[]): string[] {
  return actions.map((a) =>
    a.kind === 'Publish'
      ? `Publish:${a.pod.podUID}`
      : a.kind === 'Unpublish'
        ? `Unpublish:${a.podUID}`
        : a.kind,
  );
}

describe('node decideVolume', function () {
  const table: { name: string; view: Partial<VolumeView>; want: string[] }[] = [
    { name: 'nothing wanted, nothing held', view: {}, want: [] },
    {
      name: 'first pod: report in use, stage, publish',
      view: { desired: desired(['a']) },
      want: ['ReportInUse', 'Stage', 'Publish:a'],
    },
    {
      name: 'already reported: stage and publish',
      view: { desired: desired(['a']), reportedInUse: true },
      want: ['Stage', 'Publish:a'],
    },
    {
      name: 'second pod shares the volume: publish only, no second stage',
      view: {
        desired: desired(['a', 'b']),
        actual: actual('staged', [['a', 'mounted']]),
        reportedInUse: true,
      },
      want: ['Publish:b'],
    },
    {
      name: 'steady state: nothing to do',
      view: { desired: desired(['a']), actual: actual('staged', [['a', 'mounted']]), reportedInUse: true },
      want: [],
    },
    {
      name: 'uncertain publish (restart, not in mount table) is published again',
      view: { desired: desired(['a']), actual: actual('staged', [['a', 'uncertain']]), reportedInUse: true },
      want: ['Publish:a'],
    },
    {
      name: 'uncertain stage is staged again before publishing',
      view: { desired: desired(['a']), actual: actual('uncertain'), reportedInUse: true },
      want: ['Stage', 'Publish:a'],
    },
    {
      name: 'one of two pods gone: unpublish it, keep the stage',
      view: {
        desired: desired(['a']),
        actual: actual('staged', [
          ['a', 'mounted'],
          ['b', 'mounted'],
        ]),
        reportedInUse: true,
      },
      want: ['Unpublish:b'],
    },
    {
      name: 'last pod gone: unpublish, then unstage, then stop reporting',
      view: { actual: actual('staged', [['a', 'mounted']]), reportedInUse: true },
      want: ['Unpublish:a', 'Unstage', 'ReportNotInUse'],
    },
    {
      name: 'uncertain leftovers of a gone pod are torn down too',
      view: { actual: actual('uncertain', [['a', 'uncertain']]), reportedInUse: true },
      want: ['Unpublish:a', 'Unstage', 'ReportNotInUse'],
    },
    {
      name: 'stale in-use report without any record is dropped',
      view: { reportedInUse: true },
      want: ['ReportNotInUse'],
    },
    {
      name: 'driver not registered: report in use, then wait',
      view: { desired: desired(['a']), driver: undefined },
      want: ['ReportInUse', 'WaitForDriver'],
    },
    {
      name: 'driver not registered: teardown waits too',
      view: { actual: actual('staged', [['a', 'mounted']]), reportedInUse: true, driver: undefined },
      want: ['WaitForDriver'],
    },
    {
      name: 'attach required, no VolumeAttachment yet: wait',
      view: { desired: desired(['a'], true), reportedInUse: true },
      want: ['WaitForAttach'],
    },
    {
      name: 'attach required, not attached yet: wait',
      view: { desired: desired(['a'], true), reportedInUse: true, attachment: { attached: false } },
      want: ['WaitForAttach'],
    },
    {
      name: 'attach required and attached: stage and publish',
      view: {
        desired: desired(['a'], true),
        reportedInUse: true,
        attachment: { attached: true, metadata: { devicePath: '/dev/x' } },
      },
      want: ['Stage', 'Publish:a'],
    },
    {
      name: 'attachment being deleted: wait',
      view: {
        desired: desired(['a'], true),
        reportedInUse: true,
        attachment: { attached: true, deleting: true },
      },
      want: ['WaitForAttach'],
    },
    {
      name: 'claim waits for the node to grow it: expand after publishing',
      view: {
        desired: { ...desired(['a']), expansion: grow },
        actual: actual('staged'),
        reportedInUse: true,
      },
      want: ['Publish:a', 'ExpandOnNode'],
    },
    {
      name: 'claim waits for the node to grow it: published already',
      view: {
        desired: { ...desired(['a']), expansion: grow },
        actual: actual('staged', [['a', 'mounted']]),
        reportedInUse: true,
      },
      want: ['ExpandOnNode'],
    },
    {
      name: 'no expansion while waiting for the attachment',
      view: { desired: { ...desired(['a'], true), expansion: grow }, reportedInUse: true },
      want: ['WaitForAttach'],
    },
  ];
  for (const row of table) {
    it(row.name, function () {
      const view: VolumeView = {
        desired: undefined,
        actual: undefined,
        driver: 'driver' in row.view ? row.view.driver : driver,
        attachment: undefined,
        reportedInUse: false,
        ...row.view,
      };
      assert.deepEqual(kinds(decideVolume(view)), row.want);
    });
  }

  it('passes the attachment metadata as publish context to stage and publish', function () {
    const actions = decideVolume({
      desired: desired(['a'], true),
      actual: undefined,
      driver,
      attachment: { attached: true, metadata: { devicePath: '/dev/x' } },
      reportedInUse: true,
    });
    for (const a of actions) {
      assert.ok(a.kind === 'Stage' || a.kind === 'Publish');
      assert.deepEqual(a.publishContext, { devicePath: '/dev/x' });
    }
  });

  it('reports an attach error as a failed wait with the attacher message', function () {
    const [a] = decideVolume({
      desired: desired(['a'], true),
      actual: undefined,
      driver,
      attachment: { attached: false, error: 'rpc error: boom' },
      reportedInUse: true,
    });
    assert.equal(a?.kind, 'WaitForAttach');
    assert.ok(a.kind === 'WaitForAttach' && a.failed && a.message.includes('rpc error: boom'));
  });
});

function pod(options: {
  finalizer?: boolean;
  deleting?: boolean;
  phase?: 'Running' | 'Succeeded';
  annotation?: string;
}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'default',
      uid: 'a',
      ...(options.finalizer ? { finalizers: [NODE_VOLUMES_FINALIZER] } : {}),
      ...(options.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
      ...(options.annotation ? { annotations: { [VOLUME_PATHS_ANNOTATION]: options.annotation } } : {}),
    },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'c' }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'c1' } }],
    },
    ...(options.phase ? { status: { phase: options.phase } } : {}),
  };
}

const csiVolume: PodVolumeState = { volumeName: 'data', kind: 'csi', uniqueName: U, specName: 'pv1' };
const now = new Date('2025-02-01T00:00:00Z');

function podKinds(actions: PodAction[]): string[] {
  return actions.map((a) => (a.kind === 'SetStatus' ? `SetStatus:${a.status.phase}` : a.kind));
}

describe('node decidePod', function () {
  it('adds the finalizer to a new pod with claims and reports it Pending', function () {
    const actions = decidePod({
      pod: pod({}),
      volumes: [csiVolume],
      mounted: new Map(),
      hasMounts: false,
      now,
    });
    assert.deepEqual(podKinds(actions), ['AddFinalizer', 'SetStatus:Pending']);
    const status = actions.find((a) => a.kind === 'SetStatus');
    assert.ok(status?.kind === 'SetStatus');
    const ready = status.status.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'ContainersNotReady');
    const waiting = status.status.containerStatuses?.[0]?.state?.waiting;
    assert.equal(waiting?.['reason'], 'ContainerCreating');
    assert.match(String(waiting?.['message']), /data \(not mounted yet\)/);
  });

  it('is Running with the host path once every volume is published', function () {
    const actions = decidePod({
      pod: pod({ finalizer: true }),
      volumes: [csiVolume],
      mounted: new Map([[U, '/root/pods/a/volumes/kubernetes.io~csi/pv1/mount']]),
      hasMounts: true,
      now,
    });
    assert.deepEqual(podKinds(actions), ['SetVolumePaths', 'SetStatus:Running']);
    const paths = actions.find((a) => a.kind === 'SetVolumePaths');
    assert.ok(paths?.kind === 'SetVolumePaths');
    assert.deepEqual(JSON.parse(paths.value), { data: '/root/pods/a/volumes/kubernetes.io~csi/pv1/mount' });
  });

  it('writes nothing when status and annotation already match', function () {
    const running = pod({ finalizer: true, phase: 'Running', annotation: '{"data":"/m"}' });
    running.status = desiredPodStatus(
      running,
      { ready: true, waiting: [] },
      new Date('2024-01-01T00:00:00Z'),
    );
    const actions = decidePod({
      pod: running,
      volumes: [csiVolume],
      mounted: new Map([[U, '/m']]),
      hasMounts: true,
      now,
    });
    assert.deepEqual(actions, []);
  });

  it('keeps the finalizer of a deleted pod while mounts remain, then removes it', function () {
    const deleting = pod({ finalizer: true, deleting: true });
    assert.deepEqual(decidePod({ pod: deleting, volumes: [], mounted: new Map(), hasMounts: true, now }), []);
    assert.deepEqual(
      podKinds(decidePod({ pod: deleting, volumes: [], mounted: new Map(), hasMounts: false, now })),
      ['RemoveFinalizer'],
    );
  });

  it('releases a finished (Succeeded) pod once unmounted', function () {
    const done = pod({ finalizer: true, phase: 'Succeeded' });
    assert.deepEqual(
      podKinds(decidePod({ pod: done, volumes: [], mounted: new Map(), hasMounts: false, now })),
      ['RemoveFinalizer'],
    );
  });

  it('names the claim a pending volume waits for', function () {
    const actions = decidePod({
      pod: pod({ finalizer: true }),
      volumes: [
        {
          volumeName: 'data',
          kind: 'pending',
          message: 'waiting for PersistentVolumeClaim "c1" to be bound',
        },
      ],
      mounted: new Map(),
      hasMounts: false,
      now,
    });
    const status = actions.find((a) => a.kind === 'SetStatus');
    assert.ok(status?.kind === 'SetStatus');
    assert.equal(status.status.phase, 'Pending');
    assert.match(
      String(status.status.containerStatuses?.[0]?.state?.waiting?.['message']),
      /c1" to be bound/,
    );
  });
});

describe('node decidePod: flex volumes', function () {
  const flex: PodVolumeState = {
    volumeName: 'data',
    kind: 'flex',
    uniqueName: 'flex/data',
    driver: 'berth/loop',
  };

  it('stays Pending until the flex volume is mounted', function () {
    const actions = decidePod({
      pod: pod({ finalizer: true }),
      volumes: [flex],
      mounted: new Map(),
      hasMounts: false,
      now,
    });
    assert.deepEqual(podKinds(actions), ['SetStatus:Pending']);
  });

  it('is Running with the flex volume path once all volumes (CSI and flex) are mounted', function () {
    const flexDir = '/root/pods/a/volumes/berth~loop/pv1';
    const scratch: PodVolumeState = { ...flex, volumeName: 'scratch', uniqueName: 'flex/scratch' };
    const onlyFlex = decidePod({
      pod: pod({ finalizer: true }),
      volumes: [csiVolume, scratch],
      mounted: new Map([['flex/scratch', flexDir]]),
      hasMounts: true,
      now,
    });
    assert.deepEqual(podKinds(onlyFlex), ['SetVolumePaths', 'SetStatus:Pending']);
    const both = decidePod({
      pod: pod({ finalizer: true }),
      volumes: [csiVolume, scratch],
      mounted: new Map([
        [U, '/m'],
        ['flex/scratch', flexDir],
      ]),
      hasMounts: true,
      now,
    });
    assert.deepEqual(podKinds(both), ['SetVolumePaths', 'SetStatus:Running']);
    const paths = both.find((a) => a.kind === 'SetVolumePaths');
    assert.ok(paths?.kind === 'SetVolumePaths');
    assert.deepEqual(JSON.parse(paths.value), { data: '/m', scratch: flexDir });
  });
});
