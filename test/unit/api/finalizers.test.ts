// The one finalizer helper: has, add and remove, never mutating the object passed in.
import assert from 'node:assert/strict';
import { hasFinalizer, withFinalizer, withoutFinalizer } from '../../../src/api/finalizers.js';

function obj(finalizers?: string[]) {
  return { kind: 'PersistentVolume', metadata: { name: 'pv', ...(finalizers ? { finalizers } : {}) } };
}

describe('finalizers', () => {
  it('hasFinalizer', () => {
    assert.equal(hasFinalizer(obj(), 'a'), false);
    assert.equal(hasFinalizer(obj(['a', 'b']), 'b'), true);
    assert.equal(hasFinalizer(obj(['ab']), 'a'), false);
  });

  it('withFinalizer appends once and returns the same object when present', () => {
    const none = obj();
    const added = withFinalizer(none, 'a');
    assert.deepEqual(added.metadata.finalizers, ['a']);
    assert.equal(none.metadata.finalizers, undefined, 'the input is not changed');
    assert.equal(withFinalizer(added, 'a'), added);
    assert.deepEqual(withFinalizer(obj(['x']), 'a').metadata.finalizers, ['x', 'a']);
  });

  it('withoutFinalizer removes every copy, drops an empty list, and returns the same object when absent', () => {
    const two = obj(['a', 'b', 'a']);
    assert.deepEqual(withoutFinalizer(two, 'a').metadata.finalizers, ['b']);
    assert.deepEqual(two.metadata.finalizers, ['a', 'b', 'a'], 'the input is not changed');
    const last = withoutFinalizer(obj(['a']), 'a');
    assert.equal('finalizers' in last.metadata, false);
    const absent = obj(['b']);
    assert.equal(withoutFinalizer(absent, 'a'), absent);
  });
});
