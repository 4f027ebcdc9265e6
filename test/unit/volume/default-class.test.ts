// The one default-class rule (Kubernetes' GetDefaultClass) that admission, the binder and the
// printers share.
import assert from 'node:assert/strict';
import type { StorageClass } from '../../../src/api/types.js';
import { defaultClass, isDefaultClass } from '../../../src/volume/default-class.js';

function sc(name: string, created: string | undefined, annotations: Record<string, string>): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name, annotations, ...(created !== undefined ? { creationTimestamp: created } : {}) },
    provisioner: 'p',
  };
}

const GA = 'storageclass.kubernetes.io/is-default-class';
const BETA = 'storageclass.beta.kubernetes.io/is-default-class';

describe('default StorageClass', () => {
  const older = sc('older', '2025-01-01T00:00:00Z', { [GA]: 'true' });
  const newer = sc('newer', '2025-02-01T00:00:00Z', { [BETA]: 'true' });
  const notDefault = sc('plain', '2025-03-01T00:00:00Z', { [GA]: 'false' });

  it('counts the GA and the beta annotation, only with the value "true"', () => {
    assert.equal(isDefaultClass(older), true);
    assert.equal(isDefaultClass(newer), true);
    assert.equal(isDefaultClass(notDefault), false);
    assert.equal(isDefaultClass(sc('yes', undefined, { [GA]: 'True' })), false);
  });

  it('picks the newest default class; equal times go by name', () => {
    assert.equal(defaultClass([older, newer, notDefault])?.metadata.name, 'newer');
    const twin = sc('aaa', '2025-02-01T00:00:00Z', { [GA]: 'true' });
    assert.equal(defaultClass([newer, twin])?.metadata.name, 'aaa');
    assert.equal(defaultClass([twin, newer])?.metadata.name, 'aaa');
    assert.equal(defaultClass([notDefault]), undefined);
    assert.equal(defaultClass([]), undefined);
  });

  it('compares times, not their spelling; a class without a time is the oldest', () => {
    const fractional = sc('fractional', '2025-02-01T00:00:00.5Z', { [GA]: 'true' });
    assert.equal(defaultClass([newer, fractional])?.metadata.name, 'fractional');
    const timeless = sc('timeless', undefined, { [GA]: 'true' });
    const garbled = sc('garbled', 'yesterday', { [GA]: 'true' });
    assert.equal(defaultClass([timeless, older])?.metadata.name, 'older');
    assert.equal(defaultClass([timeless, garbled])?.metadata.name, 'garbled');
  });
});
