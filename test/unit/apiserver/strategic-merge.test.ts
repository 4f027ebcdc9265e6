import assert from 'node:assert/strict';
import { applyStrategicMergePatch } from '../../../src/apiserver/strategic-merge.js';

const pod = {
  metadata: { name: 'p', labels: { a: '1', b: '2' }, finalizers: ['x'] },
  spec: {
    containers: [
      {
        name: 'app',
        image: 'app:1',
        env: [{ name: 'A', value: '1' }],
        volumeMounts: [{ name: 'd', mountPath: '/data' }],
      },
      { name: 'side', image: 'side:1' },
    ],
    volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'c' } }],
    tolerations: [{ key: 'k' }],
  },
};

describe('strategic merge patch', () => {
  it('merges maps and deletes keys set to null', () => {
    const out = applyStrategicMergePatch(pod, { metadata: { labels: { a: null, c: '3' } } }) as typeof pod;
    assert.deepEqual(out.metadata.labels, { b: '2', c: '3' });
    assert.deepEqual(out.spec, pod.spec);
  });

  it('merges containers by name, and their env and mounts by key', () => {
    const out = applyStrategicMergePatch(pod, {
      spec: {
        containers: [
          {
            name: 'app',
            image: 'app:2',
            env: [{ name: 'B', value: '2' }],
            volumeMounts: [{ mountPath: '/data', readOnly: true }],
          },
        ],
      },
    }) as typeof pod;
    const app = out.spec.containers[0]!;
    assert.equal(app.image, 'app:2');
    assert.deepEqual(app.env, [
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    assert.deepEqual(app.volumeMounts, [{ name: 'd', mountPath: '/data', readOnly: true }]);
    assert.equal(out.spec.containers.length, 2);
  });

  it('deletes a list element with $patch: delete', () => {
    const out = applyStrategicMergePatch(pod, {
      spec: { containers: [{ name: 'side', $patch: 'delete' }] },
    }) as typeof pod;
    assert.deepEqual(
      out.spec.containers.map((c) => c.name),
      ['app'],
    );
  });

  it('replaces a list with $patch: replace, and a map with $patch: replace', () => {
    const listOut = applyStrategicMergePatch(pod, {
      spec: { volumes: [{ $patch: 'replace' }, { name: 'e', emptyDir: {} }] },
    }) as typeof pod;
    assert.deepEqual(listOut.spec.volumes, [{ name: 'e', emptyDir: {} }]);
    const mapOut = applyStrategicMergePatch(pod, {
      metadata: { labels: { $patch: 'replace', z: '9' } },
    }) as typeof pod;
    assert.deepEqual(mapOut.metadata.labels, { z: '9' });
  });

  it('replaces lists that have no merge key, such as tolerations', () => {
    const out = applyStrategicMergePatch(pod, { spec: { tolerations: [{ key: 'other' }] } }) as typeof pod;
    assert.deepEqual(out.spec.tolerations, [{ key: 'other' }]);
  });

  it('merges finalizers as a set and honours $deleteFromPrimitiveList', () => {
    const added = applyStrategicMergePatch(pod, { metadata: { finalizers: ['y', 'x'] } }) as typeof pod;
    assert.deepEqual(added.metadata.finalizers, ['x', 'y']);
    const removed = applyStrategicMergePatch(added, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] },
    }) as typeof pod;
    assert.deepEqual(removed.metadata.finalizers, ['y']);
  });

  it('accepts and ignores $setElementOrder, and applies $retainKeys', () => {
    const out = applyStrategicMergePatch(pod, {
      spec: {
        '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }],
        containers: [{ name: 'side', image: 'side:2' }],
      },
      metadata: { $retainKeys: ['name', 'labels'], labels: { a: '1' } },
    }) as typeof pod & { metadata: Record<string, unknown> };
    assert.equal(out.spec.containers[1]!.image, 'side:2');
    assert.deepEqual(Object.keys(out.metadata).sort(), ['labels', 'name']);
  });
});
