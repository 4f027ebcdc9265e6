import assert from 'node:assert/strict';
import type { CSIDriver, PersistentVolume, PersistentVolumeClaim, Pod } from '../../../src/api/types.js';
import {
  computeDesiredState,
  NODE_VOLUMES_FINALIZER,
  podNeedsFinalizer,
} from '../../../src/node/desired-state.js';
import { newClaim, newPod, newVolume } from '../../helpers/builders.js';

function csiVolume(name: string, extra: Partial<PersistentVolume['spec']> = {}): PersistentVolume {
  const pv = newVolume(name, '1Gi', {
    phase: 'Bound',
    source: 'csi',
    accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
  });
  pv.spec.csi = { driver: 'd.csi', volumeHandle: `h-${name}`, fsType: 'ext4', readOnly: false };
  Object.assign(pv.spec, extra);
  return pv;
}

function scheduled(
  name: string,
  claims: string[],
  options: { finalizer?: boolean; node?: string } = {},
): Pod {
  const pod = newPod(name, claims, { nodeName: options.node ?? 'n1' });
  if (options.finalizer ?? true) pod.metadata.finalizers = [NODE_VOLUMES_FINALIZER];
  return pod;
}

function view(
  pods: Pod[],
  extra: { drivers?: CSIDriver[]; claims?: PersistentVolumeClaim[]; pvs?: PersistentVolume[] } = {},
) {
  const claims = extra.claims ?? [newClaim('c1', '1Gi', { volumeName: 'pv1', phase: 'Bound' })];
  const pvs = extra.pvs ?? [csiVolume('pv1')];
  return {
    nodeName: 'n1',
    pods,
    claim: (ns: string, name: string) =>
      claims.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
    volume: (name: string) => pvs.find((v) => v.metadata.name === name),
    csiDriver: (name: string) => (extra.drivers ?? []).find((d) => d.metadata.name === name),
  };
}

describe('node desired state', function () {
  it('groups pods sharing a PV under one unique volume name', function () {
    const state = computeDesiredState(view([scheduled('a', ['c1']), scheduled('b', ['c1'])]));
    assert.deepEqual([...state.volumes.keys()], ['kubernetes.io/csi/d.csi^h-pv1']);
    const v = state.volumes.get('kubernetes.io/csi/d.csi^h-pv1');
    assert.deepEqual(
      v?.pods.map((p) => p.podUID),
      ['uid-pod-a', 'uid-pod-b'],
    );
    assert.equal(v?.attachRequired, true, 'no CSIDriver object means attach is required');
    assert.equal(v?.specName, 'pv1');
  });

  it('asks for a node expansion while the claim waits for it and the PV has grown', function () {
    const claim = (capacity: string, pending: boolean) => {
      const c = newClaim('c1', '2Gi', { volumeName: 'pv1', phase: 'Bound' });
      c.status = {
        phase: 'Bound',
        capacity: { storage: capacity },
        ...(pending ? { conditions: [{ type: 'FileSystemResizePending', status: 'True' as const }] } : {}),
      };
      return c;
    };
    const grown = csiVolume('pv1', { capacity: { storage: '2Gi' } });
    const expansion = (c: PersistentVolumeClaim, pv = grown) =>
      computeDesiredState(view([scheduled('a', ['c1'])], { claims: [c], pvs: [pv] }))
        .volumes.values()
        .next().value?.expansion;
    assert.deepEqual(expansion(claim('1Gi', true)), {
      claimNamespace: 'default',
      claimName: 'c1',
      capacity: '2Gi',
    });
    assert.equal(expansion(claim('1Gi', false)), undefined, 'no FileSystemResizePending: not asked yet');
    assert.equal(expansion(claim('2Gi', true)), undefined, 'already recorded');
    assert.equal(expansion(claim('1Gi', true), csiVolume('pv1')), undefined, 'the PV has not grown yet');
  });

  it('takes attachRequired and podInfoOnMount from the CSIDriver', function () {
    const driver: CSIDriver = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: 'd.csi' },
      spec: { attachRequired: false, podInfoOnMount: true },
    };
    const v = computeDesiredState(view([scheduled('a', ['c1'])], { drivers: [driver] }))
      .volumes.values()
      .next().value;
    assert.equal(v?.attachRequired, false);
    assert.equal(v?.podInfoOnMount, true);
  });

  it('ignores pods on other nodes, terminated pods, and pods not yet holding the finalizer', function () {
    const gone = scheduled('gone', ['c1']);
    gone.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    const done = scheduled('done', ['c1']);
    done.status = { phase: 'Succeeded' };
    const state = computeDesiredState(
      view([
        scheduled('other', ['c1'], { node: 'n2' }),
        gone,
        done,
        scheduled('fresh', ['c1'], { finalizer: false }),
      ]),
    );
    assert.equal(state.volumes.size, 0);
    assert.deepEqual(
      [...state.podVolumes.keys()],
      ['uid-pod-fresh'],
      'status is still computed for the fresh pod',
    );
  });

  it('readOnly from the pod volume or the PV source', function () {
    const pod = scheduled('a', ['c1']);
    pod.spec.volumes = [{ name: 'vol0', persistentVolumeClaim: { claimName: 'c1', readOnly: true } }];
    assert.equal(
      computeDesiredState(view([pod]))
        .volumes.values()
        .next().value?.pods[0]?.readOnly,
      true,
    );
    const pv = csiVolume('pv1');
    pv.spec.csi = { driver: 'd.csi', volumeHandle: 'h-pv1', readOnly: true };
    assert.equal(
      computeDesiredState(view([scheduled('b', ['c1'])], { pvs: [pv] }))
        .volumes.values()
        .next().value?.pods[0]?.readOnly,
      true,
    );
  });

  it('explains volumes that cannot be resolved yet', function () {
    const state = computeDesiredState(
      view([scheduled('a', ['missing', 'unbound'])], {
        claims: [newClaim('unbound', '1Gi', { namespace: 'default' })],
      }),
    );
    assert.deepEqual(state.podVolumes.get('uid-pod-a'), [
      { volumeName: 'vol0', kind: 'pending', message: 'persistentvolumeclaim "missing" not found' },
      {
        volumeName: 'vol1',
        kind: 'pending',
        message: 'waiting for PersistentVolumeClaim "unbound" to be bound',
      },
    ]);
  });

  for (const source of ['rbd', 'nfs'] as const) {
    it(`a pod on an in-tree ${source} PV waits with a FailedMount naming the CSI driver that replaces it`, function () {
      const state = computeDesiredState(
        view([scheduled('a', ['c1'])], { pvs: [newVolume('pv1', '1Gi', { phase: 'Bound', source })] }),
      );
      const message = `persistentvolume "pv1" has a source the node agent does not mount (in-tree ${source}: make it a CSI volume of ${source}.csi.berth.io, see examples/${source})`;
      assert.deepEqual(state.podVolumes.get('uid-pod-a'), [
        {
          volumeName: 'vol0',
          kind: 'pending',
          message,
          failedMount: `MountVolume.SetUp failed for volume "pv1" : ${message}`,
        },
      ]);
    });
  }

  it('local and hostPath PVs resolve to bind mounts named after the PV', function () {
    const local = newVolume('pv1', '1Gi', {
      phase: 'Bound',
      source: 'local',
      path: '/mnt/disk1',
      node: 'n1',
    });
    const state = computeDesiredState(view([scheduled('a', ['c1'])], { pvs: [local] }));
    assert.deepEqual(state.podVolumes.get('uid-pod-a'), [
      {
        volumeName: 'vol0',
        kind: 'bind',
        uniqueName: 'kubernetes.io~local-volume/pv1',
        bind: {
          podUID: 'uid-pod-a',
          uniqueName: 'kubernetes.io~local-volume/pv1',
          plugin: 'kubernetes.io~local-volume',
          specName: 'pv1',
          source: '/mnt/disk1',
          block: false,
          readOnly: false,
        },
      },
    ]);
    assert.equal(state.volumes.size, 0, 'no CSI volume for a bind mount');

    const hostPath = newVolume('pv1', '1Gi', { phase: 'Bound', path: '/srv/data' });
    hostPath.spec.hostPath = { path: '/srv/data', type: 'DirectoryOrCreate' };
    const hp = computeDesiredState(view([scheduled('a', ['c1'])], { pvs: [hostPath] }));
    const s0 = hp.podVolumes.get('uid-pod-a')?.[0];
    assert.equal(s0?.kind, 'bind');
    if (s0?.kind === 'bind') {
      assert.equal(s0.bind.plugin, 'kubernetes.io~host-path');
      assert.equal(s0.bind.hostPathType, 'DirectoryOrCreate');
    }
  });

  it('binds Block local PVs as devices, read-only when the pod or the PV asks', function () {
    const block = newVolume('pv1', '1Gi', {
      phase: 'Bound',
      source: 'local',
      path: '/dev/loop9',
      volumeMode: 'Block',
      accessModes: ['ReadOnlyMany'],
    });
    const s0 = computeDesiredState(view([scheduled('a', ['c1'])], { pvs: [block] })).podVolumes.get(
      'uid-pod-a',
    )?.[0];
    assert.equal(s0?.kind === 'bind' && s0.bind.block && s0.bind.readOnly, true);

    const pod = scheduled('b', ['c1']);
    const first = pod.spec.volumes?.[0];
    if (first?.persistentVolumeClaim) first.persistentVolumeClaim.readOnly = true;
    const local = newVolume('pv1', '1Gi', { phase: 'Bound', source: 'local', path: '/mnt/disk1' });
    const s1 = computeDesiredState(view([pod], { pvs: [local] })).podVolumes.get('uid-pod-b')?.[0];
    assert.equal(s1?.kind === 'bind' && s1.bind.readOnly, true);
  });

  it('refuses local PVs whose node affinity does not admit this node', function () {
    const pv = newVolume('pv1', '1Gi', { phase: 'Bound', source: 'local', path: '/mnt/disk1', node: 'n2' });
    const state = computeDesiredState(view([scheduled('a', ['c1'])], { pvs: [pv] }));
    assert.deepEqual(state.podVolumes.get('uid-pod-a'), [
      {
        volumeName: 'vol0',
        kind: 'pending',
        message: 'volume node affinity conflict',
        failedMount: 'MountVolume.NodeAffinity check failed for volume "pv1" : volume node affinity conflict',
      },
    ]);
  });

  it('inline hostPath volumes bind under the pod volume name and need the finalizer', function () {
    const pod = newPod('inline', [], { nodeName: 'n1' });
    pod.spec.volumes = [{ name: 'logs', hostPath: { path: '/var/log/app', type: 'Directory' } }];
    assert.equal(podNeedsFinalizer(pod), true);
    const s0 = computeDesiredState(view([pod])).podVolumes.get('uid-pod-inline')?.[0];
    assert.equal(s0?.kind, 'bind');
    if (s0?.kind === 'bind') {
      assert.equal(s0.uniqueName, 'kubernetes.io~host-path/logs');
      assert.equal(s0.bind.source, '/var/log/app');
      assert.equal(s0.bind.hostPathType, 'Directory');
    }
  });
});

describe('node desired state: flex volumes', function () {
  function flexPv(name: string): PersistentVolume {
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        flexVolume: { driver: 'berth/loop', options: { file: '/disks/a' } },
      },
    };
  }

  it('resolves a claim bound to a flexVolume PV as a flex pod volume (not a CSI volume)', function () {
    const state = computeDesiredState(view([scheduled('a', ['c1'])], { pvs: [flexPv('pv1')] }));
    assert.equal(state.volumes.size, 0);
    assert.deepEqual(state.podVolumes.get('uid-pod-a'), [
      { volumeName: 'vol0', kind: 'flex', uniqueName: 'flex/vol0', driver: 'berth/loop' },
    ]);
  });

  it('resolves an inline flexVolume, and such a pod needs the finalizer', function () {
    const pod = scheduled('a', []);
    pod.spec.volumes = [{ name: 'scratch', flexVolume: { driver: 'k8s/nfs' } }];
    assert.equal(podNeedsFinalizer(pod), true);
    const state = computeDesiredState(view([pod]));
    assert.deepEqual(state.podVolumes.get('uid-pod-a'), [
      { volumeName: 'scratch', kind: 'flex', uniqueName: 'flex/scratch', driver: 'k8s/nfs' },
    ]);
  });
});
