import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/meta.js';
import { IndexedCache } from '../../../src/machinery/indexed-cache.js';

function pod(name: string, claims: string[]): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'ns', name }, spec: { claims } };
}
const claimsOf = (o: KubeObject): string[] => (o['spec'] as { claims: string[] }).claims;

describe('machinery/indexed-cache', () => {
  it('files an object under every value, once, and refiles it on put', () => {
    const cache = new IndexedCache<KubeObject>();
    cache.addIndex('claim', claimsOf);
    cache.put('ns/p1', pod('p1', ['a', 'b', 'a']));
    cache.put('ns/p2', pod('p2', ['b']));
    assert.deepEqual(
      cache.byIndex('claim', 'b').map((o) => o.metadata.name),
      ['p1', 'p2'],
    );
    assert.equal(cache.byIndex('claim', 'a').length, 1);
    cache.put('ns/p1', pod('p1', ['c']));
    assert.deepEqual(cache.byIndex('claim', 'a'), []);
    assert.equal(cache.byIndex('claim', 'c').length, 1);
    cache.remove('ns/p2');
    assert.deepEqual(cache.byIndex('claim', 'b'), []);
    assert.equal(cache.size, 1);
  });

  it('counts what is filed under a value as byIndex lists it', () => {
    const cache = new IndexedCache<KubeObject>();
    cache.addIndex('claim', claimsOf);
    cache.put('ns/p1', pod('p1', ['a', 'b']));
    cache.put('ns/p2', pod('p2', ['b']));
    assert.equal(cache.countByIndex('claim', 'a'), 1);
    assert.equal(cache.countByIndex('claim', 'b'), 2);
    assert.equal(cache.countByIndex('claim', 'none'), 0);
    cache.remove('ns/p1');
    assert.equal(cache.countByIndex('claim', 'a'), 0);
    assert.equal(cache.countByIndex('claim', 'b'), 1);
    assert.throws(() => cache.countByIndex('missing', 'a'), /index "missing" does not exist/);
  });

  it('leaves an object out of an index whose function throws, and reports it', () => {
    const errors: string[] = [];
    const cache = new IndexedCache<KubeObject>((index, key) => errors.push(`${index}:${key}`));
    cache.addIndex('bad', (o) => {
      if (o.metadata.name === 'p1') throw new Error('bug');
      return ['x'];
    });
    cache.put('ns/p1', pod('p1', []));
    cache.put('ns/p2', pod('p2', []));
    assert.deepEqual(errors, ['bad:ns/p1']);
    assert.equal(cache.get('ns/p1')?.metadata.name, 'p1');
    assert.deepEqual(
      cache.byIndex('bad', 'x').map((o) => o.metadata.name),
      ['p2'],
    );
    cache.remove('ns/p1');
    assert.equal(cache.size, 1);
  });

  it('keeps a value shared by several objects as they come and go, in any order', () => {
    const cache = new IndexedCache<KubeObject>();
    cache.addIndex('claim', claimsOf);
    const names = (value: string) =>
      cache
        .byIndex('claim', value)
        .map((o) => o.metadata.name)
        .sort();
    for (const n of ['p1', 'p2', 'p3']) cache.put(`ns/${n}`, pod(n, ['shared']));
    cache.put('ns/p1', pod('p1', ['shared'])); // the same values again: still filed once
    assert.deepEqual(names('shared'), ['p1', 'p2', 'p3']);
    cache.remove('ns/p2');
    cache.remove('ns/p1');
    assert.deepEqual(names('shared'), ['p3']);
    cache.put('ns/p1', pod('p1', ['shared', 'own']));
    assert.deepEqual(names('shared'), ['p1', 'p3']);
    cache.put('ns/p3', pod('p3', []));
    cache.put('ns/p1', pod('p1', ['own']));
    assert.deepEqual(names('shared'), []);
    assert.deepEqual(names('own'), ['p1']);
    cache.remove('ns/missing');
    assert.equal(cache.size, 2);
  });
});
