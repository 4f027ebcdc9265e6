import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/meta.js';
import { describeObject, fieldTitle } from '../../../src/cli/format/describe.js';

const now = new Date('2025-01-01T00:10:00Z');

const pv: KubeObject = {
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: {
    name: 'pv1',
    finalizers: ['kubernetes.io/pv-protection'],
    annotations: { 'pv.kubernetes.io/bound-by-controller': 'yes' },
  },
  spec: {
    storageClassName: 'fast',
    capacity: { storage: '5Gi' },
    accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
    persistentVolumeReclaimPolicy: 'Delete',
    claimRef: { namespace: 'default', name: 'c1' },
    csi: { driver: 'local.csi.berth.dev', volumeHandle: 'vol-1', fsType: 'ext4' },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] },
        ],
      },
    },
  },
  status: { phase: 'Bound' },
};

function event(reason: string, count: number, first: string, last: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `pv1.${reason}`, namespace: 'default' },
    involvedObject: { kind: 'PersistentVolume', name: 'pv1' },
    type: 'Normal',
    reason,
    message: `${reason} happened`,
    source: { component: 'persistentvolume-controller' },
    count,
    firstTimestamp: first,
    lastTimestamp: last,
  };
}

describe('cli describe', () => {
  it('describes a PV like kubectl, with its CSI source and affinity', () => {
    const text = describeObject({ object: pv, events: [], now });
    assert.match(text, /^Name: +pv1$/m);
    assert.match(text, /^Claim: +default\/c1$/m);
    assert.match(text, /^Access Modes: +RWO,ROX$/m);
    assert.match(text, /^Annotations: +pv.kubernetes.io\/bound-by-controller: yes$/m);
    assert.match(text, /^ {4}Term 0: +kubernetes.io\/hostname in \[n1\]$/m);
    assert.match(text, /^ {4}Type: +CSI \(a Container Storage Interface \(CSI\) volume source\)$/m);
    assert.match(text, /^ {4}VolumeHandle: +vol-1$/m);
    assert.match(text, /^Events: +<none>$/m);
  });

  it('lists events oldest first with kubectl ages', () => {
    const text = describeObject({
      object: pv,
      events: [
        event('Later', 3, '2025-01-01T00:00:00Z', '2025-01-01T00:09:00Z'),
        event('Earlier', 1, '2025-01-01T00:05:00Z', '2025-01-01T00:05:00Z'),
      ],
      now,
    });
    const lines = text.split('\n');
    const start = lines.indexOf('Events:');
    assert.ok(start > 0);
    assert.match(lines[start + 1] ?? '', /^ {2}Type +Reason +Age +From +Message$/);
    assert.match(
      lines[start + 3] ?? '',
      /^ {2}Normal +Earlier +5m +persistentvolume-controller +Earlier happened$/,
    );
    assert.match(
      lines[start + 4] ?? '',
      /^ {2}Normal +Later +60s \(x3 over 10m\) +persistentvolume-controller +Later happened$/,
    );
  });

  it('shows which pods use a claim', () => {
    const claim: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'c1', namespace: 'default' },
      spec: { volumeName: 'pv1', storageClassName: 'fast' },
      status: { phase: 'Bound', capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOnce'] },
    };
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace: 'default' },
      spec: { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'c1' } }] },
    };
    const text = describeObject({ object: claim, events: [], pods: [pod], now });
    assert.match(text, /^Used By: +web-0$/m);
    assert.match(text, /^Capacity: +5Gi$/m);
    assert.doesNotMatch(text, /^Conditions:/m);
  });

  it('shows the resize conditions of a growing claim', () => {
    const claim: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'c1', namespace: 'default' },
      spec: { volumeName: 'pv1', resources: { requests: { storage: '10Gi' } } },
      status: {
        phase: 'Bound',
        capacity: { storage: '5Gi' },
        conditions: [
          {
            type: 'FileSystemResizePending',
            status: 'True',
            lastTransitionTime: '2026-01-01T00:00:00Z',
            message: 'Waiting for user to (re-)start a pod to finish file system resize of volume on node.',
          },
        ],
      },
    };
    const lines = describeObject({ object: claim, events: [], pods: [], now }).split('\n');
    const at = lines.findIndex((l) => l === 'Conditions:');
    assert.ok(at > 0);
    assert.match(
      lines[at + 1] ?? '',
      /^ {2}Type +Status +LastProbeTime +LastTransitionTime +Reason +Message$/,
    );
    assert.match(
      lines[at + 3] ?? '',
      /^ {2}FileSystemResizePending +True +2026-01-01T00:00:00Z +Waiting for user to \(re-\)start a pod/,
    );
  });

  it('falls back to the generic layout for other kinds', () => {
    const va: KubeObject = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: { name: 'csi-abc' },
      spec: { attacher: 'd', nodeName: 'n1', source: { persistentVolumeName: 'pv1' } },
      status: { attached: true },
    };
    const text = describeObject({ object: va, events: [], now });
    assert.match(text, /^ {2}Node Name: +n1$/m);
    assert.match(text, /^ {4}Persistent Volume Name: +pv1$/m);
    assert.match(text, /^ {2}Attached: +true$/m);
    assert.equal(fieldTitle('volumeHandle'), 'Volume Handle');
  });
  it("shows each pod volume's published host path for a container runtime", () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-0',
        namespace: 'default',
        annotations: {
          'berth.io/volume-paths': JSON.stringify({ www: '/var/lib/berth/pods/u1/volumes/x/mount' }),
        },
      },
      spec: {
        nodeName: 'node-1',
        containers: [{ name: 'nginx', image: 'nginx' }],
        volumes: [
          { name: 'www', persistentVolumeClaim: { claimName: 'www-web-0' } },
          { name: 'cache', emptyDir: {} },
        ],
      },
    };
    const text = describeObject({ object: pod, events: [], now });
    assert.match(text, /\n  www:\n    HostPath: +\/var\/lib\/berth\/pods\/u1\/volumes\/x\/mount\n/);
    assert.match(text, /\n  cache:\n    HostPath: +<not published yet>\n/);
  });
});
