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

interface Case {
  name: string;
  pods: Pod[];
  attachments?: VolumeAttachment[];
  inUse?: string[];
  drivers?: CSIDriver[];
  modes?: AccessMode[];
  want: string[];
}

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
    inUse: [`kubernetes.io/csi/${driver}^handle-v1`],
    want: [],
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
      const node: Node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'node-1' },
        status: { volumesInUse: tc.inUse ?? [] },
      };
      const view: AttachView = {
        node: 'node-1',
        nodeObject: node,
        pods: tc.pods,
        claim: (ns, name) => claims.get(`${ns}/${name}`),
        volume: (name) => volumes.get(name),
        driver: (name) => tc.drivers?.find((d) => d.metadata.name === name),
        attachments: tc.attachments ?? [],
      };
      const got = decideAttachments(view).map((a) =>
        a.kind === 'CreateAttachment'
          ? `create ${a.attachment.pv}@${a.attachment.node}`
          : a.kind === 'DeleteAttachment'
            ? `delete ${a.name}`
            : `event ${a.reason}`,
      );
      assert.deepEqual(got, tc.want);
    });
  }
});
