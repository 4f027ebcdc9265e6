import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, nestingDepth, scanJson } from '../../../src/apiserver/json-scan.js';

describe('apiserver/json-scan', function () {
  it('finds duplicate keys with their field paths, not repeated values or keys in other objects', function () {
    const text =
      '{"metadata":{"name":"a","name":"b"},"spec":{"containers":[{"image":"x","image":"y"}],"k":"name"},"k2":{"name":"c"}}';
    assert.deepEqual(scanJson(text).duplicates, ['metadata.name', 'spec.containers[0].image']);
  });

  it('reads escaped quotes inside strings', function () {
    assert.deepEqual(scanJson('{"a":"x\\"y","a":1}').duplicates, ['a']);
    assert.deepEqual(scanJson('{"a\\"b":1,"c":"{"}').duplicates, []);
  });

  it('brackets inside strings do not nest', function () {
    assert.equal(scanJson(`{"a":"${'['.repeat(MAX_JSON_DEPTH + 5)}"}`).tooDeep, false);
  });

  it('refuses nesting deeper than the Go decoder allows', function () {
    const at = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    assert.equal(scanJson(at(MAX_JSON_DEPTH)).tooDeep, false);
    assert.equal(scanJson(at(MAX_JSON_DEPTH + 1)).tooDeep, true);
    assert.equal(scanJson(at(100_000)).tooDeep, true);
  });

  it('measures parsed values without recursion', function () {
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = { a: deep };
    assert.ok(nestingDepth(deep) > MAX_JSON_DEPTH);
    assert.equal(nestingDepth({ a: [1, { b: 2 }] }), 3);
  });
});
