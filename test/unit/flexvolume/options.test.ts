import assert from 'node:assert/strict';
import type { PersistentVolumeClaim, Pod, Secret } from '../../../src/api/types.js';
import { buildOptions, secretRefOf } from '../../../src/flexvolume/options.js';
import { flexVolumesOfPod } from '../../../src/volume/flex-spec.js';
import { seedFlexVolume } from './helpers.js';

function pod(volumes: NonNullable<Pod['spec']['volumes']>, extra: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', uid: 'pod-uid-1' },
    spec: { containers: [{ name: 'c' }], volumes, serviceAccountName: 'builder', ...extra },
  };
}

const claim: PersistentVolumeClaim = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data', namespace: 'shop' },
  spec: { volumeName: 'pv-flex-nfs' },
};

describe('flexvolume/options: the seed PV pv-flex-nfs (M44)', function () {
  it('loads and validates, and a pod claiming it gets the driver JSON kubelet would send', () => {
    const pv = seedFlexVolume();
    assert.equal(pv.spec.flexVolume?.driver, 'k8s/nfs');
    const p = pod([{ name: 'www', persistentVolumeClaim: { claimName: 'data' } }]);
    const { specs, waiting } = flexVolumesOfPod(p, {
      claim: (ns, name) => (ns === 'shop' && name === 'data' ? claim : undefined),
      volume: (name) => (name === 'pv-flex-nfs' ? pv : undefined),
    });
    assert.deepEqual(waiting, []);
    assert.equal(specs.length, 1);
    const [spec] = specs;
    assert.equal(spec!.name, 'pv-flex-nfs');
    assert.equal(spec!.podVolumeName, 'www');
    assert.deepEqual(buildOptions(spec!, { pod: p }), {
      'kubernetes.io/fsType': 'nfs',
      'kubernetes.io/readwrite': 'rw',
      'kubernetes.io/pvOrVolumeName': 'pv-flex-nfs',
      'kubernetes.io/pod.name': 'web',
      'kubernetes.io/pod.namespace': 'shop',
      'kubernetes.io/pod.uid': 'pod-uid-1',
      'kubernetes.io/serviceAccount.name': 'builder',
      server: '10.10.0.25',
      share: 'export',
    });
  });

  it('a claim mounted readOnly makes the volume "ro"; an unbound claim waits', () => {
    const pv = seedFlexVolume();
    const p = pod([
      { name: 'www', persistentVolumeClaim: { claimName: 'data', readOnly: true } },
      { name: 'later', persistentVolumeClaim: { claimName: 'pending' } },
    ]);
    const { specs, waiting } = flexVolumesOfPod(p, {
      claim: (_ns, name) => (name === 'data' ? claim : undefined),
      volume: () => pv,
    });
    assert.equal(buildOptions(specs[0]!)['kubernetes.io/readwrite'], 'ro');
    assert.deepEqual(waiting, [
      { podVolumeName: 'later', reason: 'persistentvolumeclaim "pending" is not bound' },
    ]);
  });
});

describe('flexvolume/options: inline volumes, secrets, fsGroup', () => {
  const inline = pod(
    [
      {
        name: 'scratch',
        flexVolume: {
          driver: 'berth/loop',
          fsType: 'ext4',
          secretRef: { name: 'creds' },
          options: { file: '/data/a.img', 'kubernetes.io/fsType': 'xfs' },
        },
      },
    ],
    { securityContext: { fsGroup: 2000 } },
  );
  const secret: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: 'shop' },
    data: { username: 'YWRtaW4=' },
    stringData: { password: 'p@ss' },
  };

  it('secrets go in base64 as kubernetes.io/secret/<key>; the user options come last and win', () => {
    const { specs } = flexVolumesOfPod(inline, { claim: () => undefined, volume: () => undefined });
    const options = buildOptions(specs[0]!, { pod: inline, secret });
    assert.equal(options['kubernetes.io/secret/username'], 'YWRtaW4=');
    assert.equal(options['kubernetes.io/secret/password'], Buffer.from('p@ss').toString('base64'));
    assert.equal(options['kubernetes.io/mounterArgs.FsGroup'], '2000');
    assert.equal(options['kubernetes.io/fsType'], 'xfs');
    // an inline volume's name carries its pod's UID (two pods' "scratch" volumes are two volumes)
    assert.equal(options['kubernetes.io/pvOrVolumeName'], `${inline.metadata.uid ?? ''}-scratch`);
    assert.equal(specs[0]?.podVolumeName, 'scratch');
    assert.equal(options['file'], '/data/a.img');
  });

  it("an inline secret lives in the pod's namespace; a PV may name its own", () => {
    const { specs } = flexVolumesOfPod(inline, { claim: () => undefined, volume: () => undefined });
    assert.deepEqual(secretRefOf(specs[0]!, 'shop'), { namespace: 'shop', name: 'creds' });
    const pvSpec = {
      ...specs[0]!,
      source: { driver: 'berth/loop', secretRef: { name: 'creds', namespace: 'vault' } },
    };
    assert.deepEqual(secretRefOf(pvSpec, 'shop'), { namespace: 'vault', name: 'creds' });
    assert.equal(secretRefOf({ ...specs[0]!, source: { driver: 'berth/loop' } }, 'shop'), undefined);
  });
});
