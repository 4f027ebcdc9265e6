import assert from 'node:assert/strict';
import {
  admitCreate,
  checkClaimResize,
  claimGrows,
  createWarnings,
  withDefaultStorageClass,
  withProtectionFinalizer,
} from '../../../src/apiserver/admission.js';
import { K } from '../../../src/api/kinds.js';
import type { KubeObject } from '../../../src/api/meta.js';
import type { ObjectStore } from '../../../src/store/types.js';

function sc(
  name: string,
  created: string,
  annotation = 'storageclass.kubernetes.io/is-default-class',
  value = 'true',
): KubeObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name, creationTimestamp: created, annotations: { [annotation]: value } },
    provisioner: 'p',
  };
}

function claim(spec: Record<string, unknown> = {}, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'c', namespace: 'default', ...(annotations ? { annotations } : {}) },
    spec,
  };
}

describe('admission', () => {
  describe('DefaultStorageClass', () => {
    const older = sc('older', '2025-01-01T00:00:00Z');
    const newer = sc('newer', '2025-02-01T00:00:00Z', 'storageclass.beta.kubernetes.io/is-default-class');
    const notDefault = sc(
      'plain',
      '2025-03-01T00:00:00Z',
      'storageclass.kubernetes.io/is-default-class',
      'false',
    );

    it('gives a claim the newest default class', () => {
      const admitted = withDefaultStorageClass(claim(), [older, newer, notDefault]);
      assert.equal((admitted['spec'] as Record<string, unknown>)['storageClassName'], 'newer');
      const bare = claim();
      assert.equal(withDefaultStorageClass(bare, [notDefault]), bare, 'no default class: unchanged');
    });

    it('sets the class only on claims that name none', () => {
      assert.equal(
        (withDefaultStorageClass(claim(), [older])['spec'] as Record<string, unknown>)['storageClassName'],
        'older',
      );
      const explicitEmpty = claim({ storageClassName: '' });
      assert.equal(withDefaultStorageClass(explicitEmpty, [older]), explicitEmpty);
      const named = claim({ storageClassName: 'x' });
      assert.equal(withDefaultStorageClass(named, [older]), named);
      const beta = claim({}, { 'volume.beta.kubernetes.io/storage-class': 'y' });
      assert.equal(withDefaultStorageClass(beta, [older]), beta);
      const none = claim();
      assert.equal(withDefaultStorageClass(none, []), none);
    });

    it('reads the classes only for a claim that takes the default', async () => {
      const lists: string[] = [];
      const store = {
        get: async () => ({}), // the namespace exists
        list: async (kind: { plural: string }) => {
          lists.push(kind.plural);
          return { items: [older], resourceVersion: '1' };
        },
      } as unknown as ObjectStore;
      const named = await admitCreate(store, K.pvc, claim({ storageClassName: 'x' }));
      assert.equal((named['spec'] as Record<string, unknown>)['storageClassName'], 'x');
      await admitCreate(store, K.pvc, claim({ storageClassName: '' }));
      assert.deepEqual(lists, []);
      const defaulted = await admitCreate(store, K.pvc, claim());
      assert.equal((defaulted['spec'] as Record<string, unknown>)['storageClassName'], 'older');
      assert.deepEqual(lists, ['storageclasses']);
    });
  });

  it('adds protection finalizers to claims and volumes, once', () => {
    assert.deepEqual(withProtectionFinalizer(claim()).metadata.finalizers, ['kubernetes.io/pvc-protection']);
    const pv: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'v', finalizers: ['a'] },
    };
    assert.deepEqual(withProtectionFinalizer(pv).metadata.finalizers, ['a', 'kubernetes.io/pv-protection']);
    const again = withProtectionFinalizer(withProtectionFinalizer(pv));
    assert.deepEqual(again.metadata.finalizers, ['a', 'kubernetes.io/pv-protection']);
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } };
    assert.equal(withProtectionFinalizer(cm), cm);
  });
});

describe('PersistentVolumeClaimResize admission', function () {
  const sized = (storage: unknown) => claim({ resources: { requests: { storage } } });
  it('sees a resize only when the request grows', function () {
    assert.equal(claimGrows(sized('2Gi'), sized('1Gi')), true);
    assert.equal(claimGrows(sized('1024Mi'), sized('1Gi')), false, 'the same size written otherwise');
    assert.equal(claimGrows(sized('1Gi'), sized('2Gi')), false, "shrinking is validation's to refuse");
    assert.equal(claimGrows(sized('not-a-size'), sized('1Gi')), false, 'validation reports bad quantities');
    assert.equal(claimGrows(claim({}), sized('1Gi')), false);
  });
  it('needs a class with allowVolumeExpansion: true', function () {
    const allowing = { ...sc('fast', '2026-01-01T00:00:00Z'), allowVolumeExpansion: true };
    assert.doesNotThrow(() => checkClaimResize(sized('2Gi'), allowing));
    for (const storageClass of [
      undefined,
      sc('slow', '2026-01-01T00:00:00Z'),
      { ...allowing, allowVolumeExpansion: false },
    ]) {
      assert.throws(
        () => checkClaimResize(sized('2Gi'), storageClass),
        (err: Error & { code?: number }) =>
          err.code === 403 &&
          /persistentvolumeclaims "c" is forbidden: only dynamically provisioned pvc can be resized/.test(
            err.message,
          ),
      );
    }
  });
});

describe('admission: create warnings', function () {
  const localClass = (mode?: string): KubeObject => ({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'fast' },
    provisioner: 'local.csi.berth.io',
    ...(mode ? { volumeBindingMode: mode } : {}),
  });

  it('a class of the node-local driver that binds Immediately (or by default) is warned about', function () {
    for (const mode of [undefined, 'Immediate']) {
      const [warning, ...rest] = createWarnings(localClass(mode));
      assert.deepEqual(rest, []);
      assert.match(
        warning ?? '',
        /^StorageClass "fast" uses volumeBindingMode Immediate, but local.csi.berth.io makes node-local volumes/,
      );
      assert.match(warning ?? '', /set volumeBindingMode: WaitForFirstConsumer$/);
    }
  });

  it('WaitForFirstConsumer, other provisioners and other kinds are not', function () {
    assert.deepEqual(createWarnings(localClass('WaitForFirstConsumer')), []);
    assert.deepEqual(createWarnings({ ...localClass(), provisioner: 'nfs.csi.berth.io' }), []);
    assert.deepEqual(createWarnings(claim({ storageClassName: 'fast' })), []);
  });
});
