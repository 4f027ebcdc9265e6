// Table tests of the attach/detach decision (PURE): which VolumeAttachments a node should have.
import assert from 'node:assert/strict';
import { decideAttachments, type AttachView } from '../../../src/attach-detach/decide.js';
import type { AccessMode, CSIDriver, Node, Pod, VolumeAttachment } from '../../../src/api/types.js';
import { newClaim, newPod, newVolume } from '../../helpers/builders.js';

const driver = 'mock.csi.berth.io';

function csiVolume(name: string, accessModes: AccessMode[] = ['ReadWriteOnce']) {
  const pv = newVolume(name, '1Gi', { claim: { name: `c-${name}` }, accessModes, phase: 'Bound' });
  delete pv.spec.hostPath;
  pv.spec.csi = { driver, volumeHandle: `handle-${name}` };
  return pv;
}

function va(pv: string, node: string, deleting = false): VolumeAttachment {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'VolumeAttachment',
    metadata: {
      name: `va-${pv}-${node}`,
      ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { attacher: driver, nodeName: node, source: { persistentVolumeName: pv } },
  };
}

function scheduled(name: string, claim: string, node: string, extra: Partial<Pod['metadata']> = {}): Pod {
  const pod = newPod(name, [claim]);
  pod.spec.nodeName = node;
  Object.assign(pod.metadata, extra);
  return pod;
}

/** A pod being deleted whose node last reported its container running (an evicted pod on a dead node). */
function deletedWhileRunning(deletionGracePeriodSeconds: number): Pod {
  const pod = scheduled('p', 'c-v1', 'node-1', {
    deletionTimestamp: '2026-01-01T00:00:00Z',
    deletionGracePeriodSeconds,
  });
  pod.status = { phase: 'Running', containerStatuses: [{ name: 'app', state: { running: {} } }] };
  return pod;
}

interface Case {
  name: string;
  pods: Pod[];
  attachments?: VolumeAttachment[];
  inUse?: string[];
  drivers?: CSIDriver[];
  modes?: AccessMode[];
  /** The node's Ready condition status (default True). */
  ready?: 'True' | 'False' | 'Unknown' | 'missing';
  taints?: { key: string; effect: string }[];
  /** How long ago the detach of va-v1-node-1 was first held for unmount. */
  heldForMs?: number;
  want: string[];
}

const MAX_WAIT_MS = 6 * 60_000;
const inUseV1 = [`kubernetes.io/csi/${driver}^handle-v1`];

const cases: Case[] = [
  {
    name: 'a scheduled pod gets its volume attached',
    pods: [scheduled('p', 'c-v1', 'node-1')],
    want: ['create v1@node-1'],
  },
  {
    name: 'an existing attachment is left alone',
    pods: [scheduled('p', 'c-v1', 'node-1')],
    attachments: [va('v1', 'node-1')],
    want: [],
  },
  {
    name: 'attachRequired: false means no VolumeAttachment',
    pods: [scheduled('p', 'c-v1', 'node-1')],
    drivers: [
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSIDriver',
        metadata: { name: driver },
        spec: { attachRequired: false },
      },
    ],
    want: [],
  },
  {
    name: 'a terminating pod releases its attachment',
    pods: [scheduled('p', 'c-v1', 'node-1', { deletionTimestamp: '2026-01-01T00:00:00Z' })],
    attachments: [va('v1', 'node-1')],
    want: ['delete va-v1-node-1'],
  },
  {
    name: 'no detach while the node still reports the volume in use',
    pods: [],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    want: ['wait va-v1-node-1 since 0'],
  },
  {
    name: 'a healthy node keeps a mounted volume attached however long the wait',
    pods: [],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    heldForMs: MAX_WAIT_MS + 60_000,
    want: [`wait va-v1-node-1 since ${MAX_WAIT_MS + 60_000}`],
  },
  {
    name: 'an unhealthy node: held until the max wait for unmount, then looked at again',
    pods: [],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    ready: 'Unknown',
    heldForMs: 60_000,
    want: [`wait va-v1-node-1 since 60000 recheck ${MAX_WAIT_MS - 60_000 + 1}`],
  },
  {
    name: 'a pod evicted from an unreachable node (Terminating, its containers last reported running) keeps its volume attached',
    pods: [deletedWhileRunning(30)],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    ready: 'Unknown',
    heldForMs: MAX_WAIT_MS + 1,
    want: [],
  },
  {
    name: 'the same pod force-deleted (grace period 0) lets go: held for unmount, then force-detached',
    pods: [deletedWhileRunning(0)],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    ready: 'Unknown',
    heldForMs: MAX_WAIT_MS + 1,
    want: ['delete va-v1-node-1 force max-wait-for-unmount'],
  },
  {
    name: 'an unhealthy node past the max wait for unmount: force detach',
    pods: [],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    ready: 'Unknown',
    heldForMs: MAX_WAIT_MS + 1,
    want: ['delete va-v1-node-1 force max-wait-for-unmount'],
  },
  {
    name: 'a NotReady node counts as unhealthy too',
    pods: [],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    ready: 'False',
    heldForMs: MAX_WAIT_MS + 1,
    want: ['delete va-v1-node-1 force max-wait-for-unmount'],
  },
  {
    name: 'a node that never posted Ready counts as unhealthy',
    pods: [],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    ready: 'missing',
    heldForMs: MAX_WAIT_MS + 1,
    want: ['delete va-v1-node-1 force max-wait-for-unmount'],
  },
  {
    name: 'the out-of-service taint detaches at once, whatever the Ready status',
    pods: [],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    taints: [{ key: 'node.kubernetes.io/out-of-service', effect: 'NoExecute' }],
    want: ['delete va-v1-node-1 force out-of-service'],
  },
  {
    name: 'the out-of-service taint does not detach a volume a running pod still wants',
    pods: [scheduled('p', 'c-v1', 'node-1')],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    ready: 'Unknown',
    taints: [{ key: 'node.kubernetes.io/out-of-service', effect: 'NoExecute' }],
    heldForMs: MAX_WAIT_MS + 1,
    want: [],
  },
  {
    name: 'the unreachable taint alone does not hurry a detach',
    pods: [],
    attachments: [va('v1', 'node-1')],
    inUse: inUseV1,
    ready: 'Unknown',
    taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }],
    want: ['wait va-v1-node-1 since 0 recheck 360001'],
  },
  {
    name: 'an unmounted volume detaches at once, even from an unhealthy node',
    pods: [],
    attachments: [va('v1', 'node-1')],
    ready: 'Unknown',
    want: ['delete va-v1-node-1'],
  },
  {
    name: 'an RWO volume attached elsewhere is a Multi-Attach error',
    pods: [scheduled('p', 'c-v1', 'node-1')],
    attachments: [va('v1', 'node-2')],
    want: ['event FailedAttachVolume'],
  },
  {
    name: 'an RWX volume may attach to several nodes',
    pods: [scheduled('p', 'c-v1', 'node-1')],
    attachments: [va('v1', 'node-2')],
    modes: ['ReadWriteMany'],
    want: ['create v1@node-1'],
  },
  {
    name: 'detach happens before attach in one pass',
    pods: [scheduled('p', 'c-v2', 'node-1')],
    attachments: [va('v1', 'node-1')],
    want: ['delete va-v1-node-1', 'create v2@node-1'],
  },
  {
    name: 'an attachment being deleted is not recreated until it is gone',
    pods: [scheduled('p', 'c-v1', 'node-1')],
    attachments: [va('v1', 'node-1', true)],
    want: [],
  },
];

describe('attach/detach decide (table)', function () {
  for (const tc of cases) {
    it(tc.name, function () {
      const volumes = new Map(['v1', 'v2'].map((n) => [n, csiVolume(n, tc.modes)]));
      const claims = new Map(
        ['v1', 'v2'].map((n) => [
          `default/c-${n}`,
          newClaim(`c-${n}`, '1Gi', { volumeName: n, phase: 'Bound' }),
        ]),
      );
      const now = new Date('2026-03-01T12:00:00Z');
      const ready = tc.ready ?? 'True';
      const node: Node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'node-1' },
        spec: tc.taints ? { taints: tc.taints } : {},
        status: {
          volumesInUse: tc.inUse ?? [],
          conditions: ready === 'missing' ? [] : [{ type: 'Ready', status: ready }],
        },
      };
      const view: AttachView = {
        node: 'node-1',
        nodeObject: node,
        pods: tc.pods,
        claim: (ns, name) => claims.get(`${ns}/${name}`),
        volume: (name) => volumes.get(name),
        driver: (name) => tc.drivers?.find((d) => d.metadata.name === name),
        attachments: tc.attachments ?? [],
        now,
        maxWaitForUnmountMs: MAX_WAIT_MS,
        detachRequestedAt: (name) =>
          name === 'va-v1-node-1' && tc.heldForMs !== undefined ? now.getTime() - tc.heldForMs : undefined,
      };
      const got = decideAttachments(view).map((a) => {
        switch (a.kind) {
          case 'CreateAttachment':
            return `create ${a.attachment.pv}@${a.attachment.node}`;
          case 'DeleteAttachment':
            return `delete ${a.name}${a.force ? ` force ${a.force}` : ''}`;
          case 'WaitForUnmount': {
            const recheck = a.recheckAfterMs !== undefined ? ` recheck ${a.recheckAfterMs}` : '';
            return `wait ${a.name} since ${now.getTime() - a.requestedAtMs}${recheck}`;
          }
          case 'Event':
            return `event ${a.reason}`;
        }
      });
      assert.deepEqual(got, tc.want);
    });
  }
});
