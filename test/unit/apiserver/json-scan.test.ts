import assert from 'node:assert/strict';
import { parseBodyChecked } from '../../../src/apiserver/http-io.js';
import { MAX_JSON_DEPTH, nestingDepth, scanJson, scanParsedJson } from '../../../src/apiserver/json-scan.js';

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

  it('answers for canonical JSON without a scan, and leaves any other text to scanJson', function () {
    const canonical = '{"metadata":{"name":"a"},"data":{"k":"v"}}';
    assert.deepEqual(scanParsedJson(canonical, JSON.parse(canonical)), { tooDeep: false, duplicates: [] });
    assert.deepEqual(scanParsedJson(`${canonical}\n`, JSON.parse(canonical)), {
      tooDeep: false,
      duplicates: [],
    });
    for (const other of ['{"a":1,"a":2}', '{ "a": 1 }', '{"a":1.0}', '{"a":"\\u00e9"}'])
      assert.equal(scanParsedJson(other, JSON.parse(other)), undefined, other);
    const at = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    assert.equal(scanParsedJson(at(MAX_JSON_DEPTH), JSON.parse(at(MAX_JSON_DEPTH)))?.tooDeep, false);
    assert.equal(scanParsedJson(at(MAX_JSON_DEPTH + 1), JSON.parse(at(MAX_JSON_DEPTH + 1)))?.tooDeep, true);
  });

  it('parses bodies to the same verdicts on either path: duplicates, depth, malformed text', function () {
    assert.deepEqual(parseBodyChecked(Buffer.from('{"a":1,"b":{"c":2,"c":3}}'), 'application/json'), {
      value: { a: 1, b: { c: 3 } },
      duplicates: ['b.c'],
    });
    assert.deepEqual(parseBodyChecked(Buffer.from('{"a":[1,{"b":2}]}\n'), 'application/json'), {
      value: { a: [1, { b: 2 }] },
      duplicates: [],
    });
    for (const depth of [MAX_JSON_DEPTH + 1, 100_000]) {
      const text = '['.repeat(depth) + ']'.repeat(depth);
      assert.throws(() => parseBodyChecked(Buffer.from(text), 'application/json'), /exceeded max depth/);
      // malformed and too deep: the depth is what is reported, as before parsing
      assert.throws(
        () => parseBodyChecked(Buffer.from(`${text},`), 'application/json'),
        /exceeded max depth/,
      );
    }
    assert.throws(() => parseBodyChecked(Buffer.from('{"a":'), 'application/json'), /error decoding json/);
  });
});
