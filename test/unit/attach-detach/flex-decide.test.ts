import assert from 'node:assert/strict';
import type { PersistentVolume, Pod } from '../../../src/api/types.js';
import {
  decideFlexAttachments,
  type FlexAttachable,
  type FlexAttachView,
  flexCandidates,
} from '../../../src/attach-detach/flex-decide.js';
import { flexSpecFromVolume } from '../../../src/volume/flex-spec.js';
import { newClaim, newPod } from '../../helpers/builders.js';

function flexPv(name: string, accessModes: PersistentVolume['spec']['accessModes'] = ['ReadWriteOnce']) {
  const pv: PersistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes,
      flexVolume: { driver: 'berth/loop', options: { file: `/disks/${name}` } },
    },
  };
  return pv;
}

function attachable(pvName: string, pod: Pod, accessModes?: PersistentVolume['spec']['accessModes']) {
  const spec = flexSpecFromVolume(flexPv(pvName, accessModes))!;
  const a: FlexAttachable = {
    spec,
    pod,
    volumeName: pvName,
    uniqueName: `flexvolume-berth/loop/${pvName}`,
  };
  return a;
}

const podA = newPod('a', ['c1'], { nodeName: 'n1' });

function view(extra: Partial<FlexAttachView>): FlexAttachView {
  return { node: 'n1', desired: [], attached: [], inUse: [], attachedElsewhere: () => [], ...extra };
}

function kinds(v: FlexAttachView): string[] {
  return decideFlexAttachments(v).map((a) =>
    a.kind === 'FlexAttach'
      ? `attach ${a.volume.uniqueName}`
      : a.kind === 'FlexDetach'
        ? `detach ${a.driver} ${a.volumeName}`
        : `event ${a.reason}`,
  );
}

describe('attach/detach: flex volume decisions', function () {
  const table: { name: string; view: FlexAttachView; want: string[] }[] = [
    {
      name: 'attaches a wanted volume that is not attached',
      view: view({ desired: [attachable('pv1', podA)] }),
      want: ['attach flexvolume-berth/loop/pv1'],
    },
    {
      name: 'does nothing for a volume already attached',
      view: view({
        desired: [attachable('pv1', podA)],
        attached: [{ name: 'flexvolume-berth/loop/pv1', devicePath: '/dev/loop3' }],
      }),
      want: [],
    },
    {
      name: 'keeps an unwanted volume attached while the node reports it in use',
      view: view({
        attached: [{ name: 'flexvolume-berth/loop/pv1', devicePath: '/dev/loop3' }],
        inUse: ['flexvolume-berth/loop/pv1'],
      }),
      want: [],
    },
    {
      name: 'detaches an unwanted volume once the node no longer uses it',
      view: view({ attached: [{ name: 'flexvolume-berth/loop/pv1', devicePath: '/dev/loop3' }] }),
      want: ['detach berth/loop pv1'],
    },
    {
      name: 'leaves volumesAttached entries that are not flex volumes alone',
      view: view({ attached: [{ name: 'kubernetes.io/csi/d^h', devicePath: '' }] }),
      want: [],
    },
    {
      name: 'detaches before it attaches',
      view: view({
        desired: [attachable('pv2', podA)],
        attached: [{ name: 'flexvolume-berth/loop/pv1', devicePath: '/dev/loop3' }],
      }),
      want: ['detach berth/loop pv1', 'attach flexvolume-berth/loop/pv2'],
    },
    {
      name: 'refuses a second node for a ReadWriteOnce volume (Multi-Attach)',
      view: view({ desired: [attachable('pv1', podA)], attachedElsewhere: () => ['n2'] }),
      want: ['event FailedAttachVolume'],
    },
    {
      name: 'attaches a ReadWriteMany volume on a second node',
      view: view({ desired: [attachable('pv1', podA, ['ReadWriteMany'])], attachedElsewhere: () => ['n2'] }),
      want: ['attach flexvolume-berth/loop/pv1'],
    },
  ];
  for (const row of table) {
    it(row.name, function () {
      assert.deepEqual(kinds(row.view), row.want);
    });
  }

  it('names the volume in the Multi-Attach event, on the pod', function () {
    const [event] = decideFlexAttachments(
      view({ desired: [attachable('pv1', podA)], attachedElsewhere: () => ['n2'] }),
    );
    assert.ok(event?.kind === 'Event');
    assert.equal(event.ref.name, 'a');
    assert.match(event.message, /^Multi-Attach error for volume "pv1"/);
  });

  it('finds flex volumes of running pods, inline and through bound claims, once per PV', function () {
    const pv = flexPv('pv1');
    const claim = newClaim('c1', '1Gi', { volumeName: 'pv1', phase: 'Bound' });
    const inline: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'inline', namespace: 'default', uid: 'uid-inline' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c' }],
        volumes: [{ name: 'scratch', flexVolume: { driver: 'berth/loop', options: { file: '/x' } } }],
      },
    };
    const done = newPod('done', ['c1'], { nodeName: 'n1', phase: 'Succeeded' });
    const found = flexCandidates([podA, newPod('b', ['c1'], { nodeName: 'n1' }), inline, done], {
      claim: (ns, name) => (ns === 'default' && name === 'c1' ? claim : undefined),
      volume: (name) => (name === 'pv1' ? pv : undefined),
    });
    assert.deepEqual(
      found.map((c) => [c.spec.name, c.pod.metadata.name]),
      [
        ['pv1', 'a'],
        ['uid-inline-scratch', 'inline'],
      ],
    );
  });

  it('inline flex volumes of the same name in two pods are two candidates, never one', function () {
    const inlinePod = (name: string): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', uid: `uid-${name}` },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c' }],
        volumes: [{ name: 'scratch', flexVolume: { driver: 'berth/loop', options: { file: `/${name}` } } }],
      },
    });
    const found = flexCandidates([inlinePod('p1'), inlinePod('p2')], {
      claim: () => undefined,
      volume: () => undefined,
    });
    assert.deepEqual(
      found.map((c) => [c.spec.name, c.pod.metadata.uid]),
      [
        ['uid-p1-scratch', 'uid-p1'],
        ['uid-p2-scratch', 'uid-p2'],
      ],
    );
  });
});
