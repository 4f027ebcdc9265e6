import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/meta.js';
import { ObjectTable } from '../../../src/store/object-table.js';

const obj = (namespace: string, name: string, label = 'a'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace, name, labels: { l: label } },
});
const put = (table: ObjectTable, o: KubeObject): void => {
  table.commit(`${o.metadata.namespace}/${o.metadata.name}`, o, true);
};
const remove = (table: ObjectTable, key: string): void => {
  table.commit(key, undefined, true);
};
const names = (objects: KubeObject[]): string[] => objects.map((o) => o.metadata.name ?? '');

describe('store/object-table', function () {
  it('lists in key order however the keys arrived, between lists too', function () {
    const table = new ObjectTable();
    for (const name of ['c', 'a', 'b']) put(table, obj('ns', name));
    assert.deepEqual(names(table.listCommitted('ns')), ['a', 'b', 'c']);
    put(table, obj('ns', 'aa'));
    put(table, obj('other', 'a'));
    assert.deepEqual(names(table.listCommitted('ns')), ['a', 'aa', 'b', 'c']);
    assert.deepEqual(
      table.listCommitted().map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
      ['ns/a', 'ns/aa', 'ns/b', 'ns/c', 'other/a'],
    );
  });

  it('a removed key is not listed, and one created again is listed once', function () {
    const table = new ObjectTable();
    for (const name of ['a', 'b', 'c']) put(table, obj('ns', name));
    assert.equal(table.listCommitted('ns').length, 3);
    remove(table, 'ns/b');
    assert.deepEqual(names(table.listCommitted('ns')), ['a', 'c']);
    put(table, obj('ns', 'b'));
    assert.deepEqual(names(table.listCommitted('ns')), ['a', 'b', 'c']);
    assert.deepEqual(names(table.listCommitted()), ['a', 'b', 'c']);
  });

  it('an object written but not yet committed is not listed', function () {
    const table = new ObjectTable();
    put(table, obj('ns', 'a'));
    table.listCommitted('ns');
    table.setLatest('ns/b', obj('ns', 'b'));
    assert.deepEqual(names(table.listCommitted('ns')), ['a']);
  });

  it('pages through the matching objects after a key, saying whether more follow', function () {
    const table = new ObjectTable();
    for (let i = 0; i < 10; i++) put(table, obj('ns', `o${i}`, i % 2 === 0 ? 'even' : 'odd'));
    const even = (o: KubeObject): boolean => o.metadata.labels?.['l'] === 'even';
    const first = table.pageCommitted('ns', undefined, 2, even);
    assert.deepEqual(
      first.items.map(([key]) => key),
      ['ns/o0', 'ns/o2'],
    );
    assert.equal(first.more, true);
    const last = table.pageCommitted('ns', 'ns/o5', 2, even);
    assert.deepEqual(
      last.items.map(([key]) => key),
      ['ns/o6', 'ns/o8'],
    );
    assert.equal(last.more, false, 'nothing matching follows the last page');
    assert.equal(table.pageCommitted('ns', undefined, undefined, even).items.length, 5);
    // a key that is gone still places the page
    remove(table, 'ns/o2');
    assert.deepEqual(
      table.pageCommitted('ns', 'ns/o2', 1, even).items.map(([key]) => key),
      ['ns/o4'],
    );
  });

  it('stays exact after most keys are removed and others added', function () {
    const table = new ObjectTable();
    for (let i = 0; i < 500; i++) put(table, obj('ns', `k${String(i).padStart(3, '0')}`));
    table.listCommitted('ns');
    for (let i = 0; i < 500; i++) if (i % 10 !== 0) remove(table, `ns/k${String(i).padStart(3, '0')}`);
    put(table, obj('ns', 'k0005'));
    const listed = names(table.listCommitted('ns'));
    assert.equal(listed.length, 51);
    assert.deepEqual(listed, [...listed].sort());
    assert.equal(new Set(listed).size, listed.length);
  });
});
