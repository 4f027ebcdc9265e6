import assert from 'node:assert/strict';
import { withFields } from '../../../src/api/with-fields.js';

describe('api/with-fields', function () {
  it('is the spread { ...base, ...fields } without undefined values, keys in the same order', function () {
    const base = { a: 1, b: 2, c: undefined, d: 4 } as Record<string, number | undefined>;
    const fields = { e: 5, b: 20, d: undefined, f: undefined };
    const out = withFields(base, fields);
    assert.equal(JSON.stringify(out), JSON.stringify({ ...base, ...fields }));
    assert.deepEqual(Object.keys(out), ['a', 'b', 'e']);
    assert.deepEqual(base, { a: 1, b: 2, c: undefined, d: 4 }, 'base unchanged');
  });

  it('keeps an own "__proto__" key a key, as the spread does, and the prototype plain', function () {
    const base = JSON.parse('{"__proto__":{"polluted":true},"x":1}') as Record<string, unknown>;
    const out = withFields(base, { y: 2 });
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal((out as { polluted?: boolean }).polluted, undefined);
    assert.deepEqual(Object.keys(out), ['__proto__', 'x', 'y']);
  });
});
