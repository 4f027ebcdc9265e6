// The etcd store's recent values: a later version is never replaced by an earlier one (a watch may
// report a version after this store wrote a later one), nor forgotten by an earlier delete.
import assert from 'node:assert/strict';
import { RecentValues } from '../../../src/store/etcd-recent.js';

const key = Buffer.from('/registry/configmaps/ns/a');
const at = (revision: string) => ({ value: Buffer.from(`v${revision}`), mod_revision: revision });

describe('etcd RecentValues', function () {
  it('keeps the later of two versions, whatever order they come in', function () {
    const recent = new RecentValues(10);
    recent.remember(key, at('10'));
    recent.remember(key, at('9'));
    assert.equal(recent.get(key)?.mod_revision, '10');
    recent.remember(key, at('100')); // compared as numbers, not as text
    assert.equal(recent.get(key)?.mod_revision, '100');
  });

  it('forgets a key deleted after the version it holds, not before', function () {
    const recent = new RecentValues(10);
    recent.remember(key, at('12'));
    recent.forget(key, '11'); // a delete that a re-create at 12 already followed
    assert.equal(recent.get(key)?.mod_revision, '12');
    recent.forget(key, '13');
    assert.equal(recent.get(key), undefined);
    recent.remember(key, at('14'));
    recent.forget(key);
    assert.equal(recent.get(key), undefined);
  });

  it('holds at most its capacity, forgetting the least recently remembered', function () {
    const recent = new RecentValues(2);
    const keys = ['a', 'b', 'c'].map((name) => Buffer.from(name));
    recent.remember(keys[0]!, at('1'));
    recent.remember(keys[1]!, at('2'));
    recent.remember(keys[0]!, at('3'));
    recent.remember(keys[2]!, at('4'));
    assert.equal(recent.get(keys[1]!), undefined);
    assert.equal(recent.get(keys[0]!)?.mod_revision, '3');
    assert.equal(recent.get(keys[2]!)?.mod_revision, '4');
  });
});
